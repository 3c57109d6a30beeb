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
use serde_json::{json, Value};
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
        let mut doc = json!({
            "id": e.id, "report": "profit", "month": e.month.format("%Y-%m").to_string(), "status": e.status,
            "rows": e.rows, "error": e.error, "created_at": e.created_at, "finished_at": e.finished_at,
            "links": { "self": format!("/reports/profit-exports/{}", e.id) },
        });
        if e.status == "done" {
            let m = e.month.format("%Y-%m");
            let mut downloads = serde_json::Map::new();
            for (format, key) in [("csv", &e.csv_key), ("xlsx", &e.xlsx_key)] {
                if let Some(key) = key {
                    let url = self
                        .files
                        .download_link(key, &format!("laba-{m}.{format}"), LINK_VALIDITY)
                        .await
                        .map_err(|err| Problem::unavailable(1, anyhow::anyhow!(err)))?;
                    downloads.insert(format.into(), json!(url));
                }
            }
            doc["downloads"] = Value::Object(downloads);
            doc["downloads_expire_in_seconds"] = json!(LINK_VALIDITY.as_secs());
        }
        Ok(doc)
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
