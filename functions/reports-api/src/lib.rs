//! `reports-api`: exports of the monthly profit report (seed 000), for admins.
//!
//! - `POST /reports/profit-exports` (`{"month": "2026-10"}`, requires `Idempotency-Key`) requests the export
//!   through [`reports::ProfitExports`], which stores it with its `export.requested` outbox event, and answers 202;
//!   export-worker writes the CSV and XLSX files.
//! - `GET /reports/profit-exports/{id}` shows its status and, once done, a presigned download link per format,
//!   valid for [`LINK_VALIDITY`].
//!
//! The handler decodes requests, calls the use cases and maps results and errors to HTTP. It holds no SQL, and it
//! must not call the AWS SDK or name the adapters, which `main` wires in (presigning goes through the
//! [`reports::FileStore`] port).

use identity::{Assignments, Role};
use lambda_glue::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use platform::auth::Authenticator;
use reports::{CreatedExport, Export, ExportError, ExportStore, FileStore, ProfitExports, RequestExportError};
use serde_json::Value;

pub use reports::LINK_VALIDITY;

/// The reports handler over export storage `E` and file storage `F`.
#[derive(Debug)]
pub struct ReportsApi<E, F, A> {
    exports: ProfitExports<E, F>,
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
        .json_body::<reports::ExportRequest>()
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

impl<E: ExportStore, F: FileStore, A: Assignments + 'static> ReportsApi<E, F, A> {
    pub fn new(exports: E, files: F, auth: Authenticator<A>) -> Self {
        ReportsApi {
            exports: ProfitExports::new(exports, files),
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
        if let Some(downloads) = self
            .exports
            .downloads(e)
            .await
            .map_err(|err| Problem::unavailable(1, err))?
        {
            doc.downloads = Some(downloads.links);
            doc.downloads_expire_in_seconds = Some(downloads.valid_for.as_secs());
        }
        serde_json::to_value(&doc).map_err(Problem::internal)
    }

    async fn create(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let key = platform::idempotency::idempotency_key(req)?;
        let body = json_body(req)?;
        let created = self
            .exports
            .request(&actor.subject, &key, &body)
            .await
            .map_err(|e| match e {
                RequestExportError::Invalid(invalid) => Problem::invalid_body(&invalid.field, invalid.reason),
                RequestExportError::Unavailable(cause) => Problem::unavailable(1, cause),
            })?;
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
        Ok(lambda_glue::http::created(
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
        let export = self.exports.export(id).await.map_err(|e| match e {
            ExportError::NotFound => Problem::not_found("no such export"),
            ExportError::Unavailable(cause) => Problem::unavailable(1, cause),
        })?;
        Ok(private_json(200, &self.document(&export).await?))
    }
}

impl<E: ExportStore, F: FileStore, A: Assignments + 'static> HttpHandler for ReportsApi<E, F, A> {
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
