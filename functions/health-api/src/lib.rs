//! `health-api`: `GET /health` reports the build, whether this instance is cold or warm, and whether the
//! database answers. 200 when healthy, 503 when the database does not answer; never cached.
//!
//! What it probes is the [`Probe`] port, which the Lambda wiring implements over the database and the ERP sync
//! ledger. This crate must not depend on domain crates or name the `store` adapter outside `main.rs`.

use lambda_glue::http::{json_response, segments, HttpHandler, RequestCtx};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use std::time::Instant;

pub use platform::health::Probe;

/// What the ERP sync ledger says, as health shows it at `now`.
pub fn erp_sync_views(status: Vec<supply_sync::SyncStatus>, now: chrono::DateTime<chrono::Utc>) -> Vec<ErpSyncView> {
    status
        .into_iter()
        .map(|s| ErpSyncView {
            age_s: s.last_success_at.map(|t| (now - t).num_seconds()),
            kind: s.kind,
            last_success_at: s.last_success_at,
            erp_as_of: s.as_of,
            last_error: s.last_error,
        })
        .collect()
}

/// How old one copy of ERP data is (stock, partner debt, cost prices): checkout reads these while the ERP is down.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ErpSyncView {
    pub kind: String,
    pub last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    pub age_s: Option<i64>,
    pub erp_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
}

/// The answer of `GET /health`, 200 when the database answers and 503 when it does not.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub version: String,
    pub build: Option<String>,
    pub environment: String,
    pub instance: InstanceView,
    pub database: DatabaseView,
    pub erp_sync: Option<Vec<ErpSyncView>>,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct InstanceView {
    pub cold_start: bool,
    pub uptime_s: u64,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct DatabaseView {
    pub reachable: bool,
    pub latency_ms: f64,
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    vec![platform::openapi::Operation::new(
        "GET",
        "/health",
        "getHealth",
        "Report the build and the database's reachability",
    )
    .tag("health-api")
    .answers::<HealthReport>(200, "Healthy.")
    .answers::<HealthReport>(503, "The database does not answer; retry after `Retry-After`.")]
}

/// The health handler.
#[derive(Debug)]
pub struct HealthApi<P> {
    db: P,
    environment: String,
    build: Option<String>,
    started: Instant,
}

impl<P: Probe> HealthApi<P> {
    pub fn new(db: P, environment: String, build: Option<String>) -> Self {
        HealthApi {
            db,
            environment,
            build,
            started: Instant::now(),
        }
    }
}

impl<P: Probe> HttpHandler for HealthApi<P> {
    async fn handle(&self, req: Request, ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        match (
            req.method(),
            segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ) {
            (&http::Method::GET, ["health"]) => {}
            (_, ["health"]) => return Err(Problem::method_not_allowed()),
            _ => return Err(Problem::not_found("no such route")),
        }
        let t = Instant::now();
        let db = self.db.ping().await;
        let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
        if let Err(e) = &db {
            tracing::warn!(error = %e, "health: database unreachable");
        }
        let healthy = db.is_ok();
        let erp_sync = if healthy {
            self.db.erp_sync().await.map(|s| erp_sync_views(s, chrono::Utc::now()))
        } else {
            None
        };
        let body = HealthReport {
            status: if healthy {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            version: env!("CARGO_PKG_VERSION").to_string(),
            build: self.build.clone(),
            environment: self.environment.clone(),
            instance: InstanceView {
                cold_start: ctx.cold_start,
                uptime_s: self.started.elapsed().as_secs(),
            },
            database: DatabaseView {
                reachable: healthy,
                latency_ms: (latency_ms * 100.0).round() / 100.0,
            },
            // The copies of ERP data checkout reads, and how old they are: they stand while the ERP is down.
            erp_sync,
        };
        let body = serde_json::to_value(&body).map_err(Problem::internal)?;
        let mut response = json_response(if healthy { 200 } else { 503 }, &body);
        response
            .headers_mut()
            .insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        if !healthy {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("5"));
        }
        Ok(response)
    }
}
