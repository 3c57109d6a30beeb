//! `reports-api`: exports of the monthly profit report (seed 000), for admins.
//!
//! - `POST /reports/profit-exports` (`{"month": "2026-10"}`, requires `Idempotency-Key`) stores the export with its
//!   `export.requested` outbox event and answers 202; export-worker writes the CSV and XLSX files to S3.
//! - `GET /reports/profit-exports/{id}` shows its status and, once done, a presigned download link per format,
//!   valid for [`LINK_VALIDITY`].
//!
//! The handler decodes requests and maps results to HTTP; it holds no SQL and must not call the AWS SDK directly
//! (presigning goes through `niaga_aws::files`).

use identity::{Assignments, Role};
use lambda_http::{Body, Request};
use niaga_aws::files::Files;
use platform::auth::Authenticator;
use platform::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use platform::Problem;
use serde_json::Value;
use std::time::Duration;
use store::exports::{CreatedExport, Export, PgExports};

/// How long a download link works.
pub const LINK_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// The reports handler.
#[derive(Debug)]
pub struct ReportsApi<A> {
    exports: PgExports,
    files: Files,
    auth: Authenticator<A>,
    relay: Option<platform::outbox::Relay>,
}

/// A profit export: its state and, once done, presigned download links.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportView {
    pub id: uuid::Uuid,
    /// Always `profit`.
    pub report: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub rows: Option<i32>,
    pub error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub links: ExportLinks,
    /// `csv` and `xlsx` links, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads_expire_in_seconds: Option<u64>,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportLinks {
    #[serde(rename = "self")]
    pub this: String,
}

/// `POST /reports/profit-exports`'s body ([`parse_request`] reads it).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `YYYY-MM`, not in the future.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}$"))]
    pub month: String,
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    use platform::openapi::Operation;
    vec![
        Operation::new(
            "POST",
            "/reports/profit-exports",
            "createProfitExport",
            "Export a month's profit report (admins)",
        )
        .tag("reports-api")
        .describe("Written as CSV and XLSX by export-worker; poll the export for its download links.")
        .bearer()
        .idempotency_key()
        .json_body::<ExportRequest>()
        .answers::<ExportView>(202, "The export, queued.")
        .with_header("Location", "The export's URL.")
        .link("GetExport", "getProfitExport", "id", "$response.body#/id"),
        Operation::new(
            "GET",
            "/reports/profit-exports/{id}",
            "getProfitExport",
            "An export's state and links (admins)",
        )
        .tag("reports-api")
        .bearer()
        .param_with(
            "path",
            "id",
            true,
            "The export's id.",
            serde_json::json!({ "type": "string", "format": "uuid" }),
        )
        .answers::<ExportView>(200, "The export."),
    ]
}

/// `{"month": "2026-10"}` → the month's first day. Errors name the member.
pub fn parse_request(v: &Value) -> Result<chrono::NaiveDate, Problem> {
    let obj = v
        .as_object()
        .ok_or_else(|| Problem::invalid_body("body", "must be a JSON object with `month`"))?;
    if let Some(unknown) = obj.keys().find(|k| k.as_str() != "month") {
        return Err(Problem::invalid_body(unknown, "is not a member of an export request"));
    }
    let m = obj
        .get("month")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::invalid_body("month", "is required, as YYYY-MM"))?;
    let month = chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| m.len() == 7)
        .ok_or_else(|| Problem::invalid_body("month", "must be YYYY-MM, such as 2026-10"))?;
    if month > chrono::Utc::now().date_naive() {
        return Err(Problem::invalid_body("month", "must not be in the future"));
    }
    Ok(month)
}

impl<A: Assignments + 'static> ReportsApi<A> {
    pub fn new(exports: PgExports, files: Files, auth: Authenticator<A>) -> Self {
        ReportsApi {
            exports,
            files,
            auth,
            relay: None,
        }
    }

    /// Publishes each export's outbox event right after the commit that wrote it.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn admin(&self, req: &Request) -> Result<identity::Actor, Problem> {
        self.auth
            .actor_in(req, &[Role::Admin], "only admins may export reports")
            .await
    }

    async fn document(&self, e: &Export) -> Result<Value, Problem> {
        let mut doc = ExportView {
            id: e.id,
            report: "profit".into(),
            month: e.month.format("%Y-%m").to_string(),
            status: e.status.clone(),
            rows: e.rows,
            error: e.error.clone(),
            created_at: e.created_at,
            finished_at: e.finished_at,
            links: ExportLinks {
                this: format!("/reports/profit-exports/{}", e.id),
            },
            downloads: None,
            downloads_expire_in_seconds: None,
        };
        if e.status == "done" {
            let m = e.month.format("%Y-%m");
            let mut downloads = std::collections::BTreeMap::new();
            for (format, key) in [("csv", &e.csv_key), ("xlsx", &e.xlsx_key)] {
                if let Some(key) = key {
                    let url = self
                        .files
                        .download_link(key, &format!("laba-{m}.{format}"), LINK_VALIDITY)
                        .await
                        .map_err(|err| Problem::unavailable(1, anyhow::anyhow!(err)))?;
                    downloads.insert(format.to_string(), url);
                }
            }
            doc.downloads = Some(downloads);
            doc.downloads_expire_in_seconds = Some(LINK_VALIDITY.as_secs());
        }
        serde_json::to_value(&doc).map_err(Problem::internal)
    }

    async fn create(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let key = platform::http::idempotency_key(req)?;
        let body = json_body(req)?;
        let month = parse_request(&body)?;
        let created = self
            .exports
            .create(
                uuid::Uuid::new_v4(),
                month,
                &actor.subject,
                &key,
                &kernel::fingerprint(&body),
            )
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        let (export, replayed) = match created {
            CreatedExport::New(e) => {
                if let Some(r) = &self.relay {
                    r.after_commit(&e.id.to_string()).await;
                }
                (e, false)
            }
            CreatedExport::Replayed(e) => (e, true),
            CreatedExport::KeyReused => return Err(Problem::key_reused()),
        };
        let doc = self.document(&export).await?;
        Ok(platform::http::created(
            202,
            &doc,
            &format!("/reports/profit-exports/{}", export.id),
            replayed,
        ))
    }

    async fn get(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        let id =
            uuid::Uuid::parse_str(id).map_err(|_| Problem::invalid_parameter("id", "must be an export id (a UUID)"))?;
        let export = self.exports.get(id).await.map_err(|e| Problem::unavailable(1, e))?;
        let export = export.ok_or_else(|| Problem::not_found("no such export"))?;
        Ok(private_json(200, &self.document(&export).await?))
    }
}

impl<A: Assignments + 'static> HttpHandler for ReportsApi<A> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        use http::Method as M;
        match (req.method(), path.as_slice()) {
            (&M::POST, ["reports", "profit-exports"]) => self.create(&req).await,
            (&M::GET, ["reports", "profit-exports", id]) => self.get(&req, id).await,
            (_, ["reports", "profit-exports"] | ["reports", "profit-exports", _]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}
