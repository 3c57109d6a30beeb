//! `health-api` driven by `events/health-api/get-health.json`.

use health_api::{HealthApi, Probe};
use lambda_glue::http::{dispatch, Runtime};
use serde_json::Value;
use std::time::Duration;
use testkit::{event, fresh_db, Template};

struct Down;

impl Probe for Down {
    async fn ping(&self) -> Result<(), String> {
        Err("connection refused".into())
    }
}

fn rt() -> Runtime {
    platform::hooks::runtime("health-api", None, None, Duration::from_secs(3))
}

fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn health_reports_version_and_a_reachable_database() {
    let db = fresh_db(Template::Empty).await.db();
    let api = HealthApi::new(db, "local".into(), Some("abc123".into()));
    let resp = dispatch(&rt(), &api, event("health-api/get-health.json"), Default::default()).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["headers"]["cache-control"], "no-store");
    let b = body(&resp);
    assert_eq!(b["status"], "ok");
    assert_eq!(b["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(b["build"], "abc123");
    assert_eq!(b["database"]["reachable"], true);
    assert!(b["instance"]["cold_start"].is_boolean());
    // The ERP copies' age is visible (stock, debt, and the shipments and returns read); a fresh database has never
    // synced.
    let kinds: Vec<&str> = b["erp_sync"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["balances", "movements", "stock"]);
    assert!(b["erp_sync"][0]["age_s"].is_null());
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after() {
    let api = HealthApi::new(Down, "local".into(), None);
    let resp = dispatch(&rt(), &api, event("health-api/get-health.json"), Default::default()).await;
    assert_eq!(resp["statusCode"], 503);
    assert_eq!(resp["headers"]["retry-after"], "5");
    assert_eq!(body(&resp)["status"], "degraded");
}
