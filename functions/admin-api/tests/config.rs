//! Configuration as data through `admin-api` over real PostgreSQL and the shared cache on moto: optimistic
//! concurrency, schema rules, the audit trail, and a change seen by other running instances within 5 s.

use agent_jobs_api::{AgentJobsApi, CallbackPolicy};
use identity::Role;
use lambda_glue::http::{dispatch, Runtime};
use platform::auth::Authenticator;
use platform::settings::SettingsCache;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::identity::PgIdentity;
use testkit::{fresh_db, Template};

mod support;

fn runtime(db: &store::Db, function: &'static str) -> Runtime {
    platform::hooks::runtime(function, None, Some(db.clone()), Duration::from_secs(5))
}

async fn call<H: lambda_glue::http::HttpHandler>(
    rt: &Runtime,
    h: &H,
    mut ev: Value,
    token: &str,
) -> (u16, Value, Value) {
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    let r = dispatch(rt, h, ev, lambda_runtime::Context::default()).await;
    let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (r["statusCode"].as_u64().unwrap() as u16, body, r["headers"].clone())
}

fn config_event(method: &str, key: &str, suffix: &str, body: Option<Value>, if_match: Option<&str>) -> Value {
    let file = match (method, suffix) {
        ("PUT", _) => "admin-api/put-config.json",
        (_, "/history") => "admin-api/config-history.json",
        _ => "admin-api/get-config.json",
    };
    let mut ev = testkit::event(file);
    let path = format!("/admin/config/{key}{suffix}");
    ev["rawPath"] = path.clone().into();
    ev["requestContext"]["http"]["path"] = path.into();
    ev["pathParameters"]["key"] = key.into();
    match body {
        Some(b) => ev["body"] = b.to_string().into(),
        None => {
            ev.as_object_mut().unwrap().remove("body");
        }
    }
    let headers = ev["headers"].as_object_mut().unwrap();
    headers.remove("if-match");
    if let Some(m) = if_match {
        headers.insert("if-match".into(), m.into());
    }
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_needs_the_current_version_keeps_to_its_schema_and_is_audited() {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    let rt = runtime(&pool, "admin-api");
    let api = support::admin_api(&pool, SettingsCache::with_table(pool.clone(), None));
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);
    let key = "supply.stock_sync_interval_minutes";

    let (status, listed, _) = call(&rt, &api, testkit::event("admin-api/list-config.json"), &admin).await;
    assert_eq!(status, 200);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["schema"]["type"].is_string()),
        "every key has a schema"
    );

    let (status, current, headers) = call(&rt, &api, config_event("GET", key, "", None, None), &admin).await;
    assert_eq!((status, current["value"].as_i64()), (200, Some(15)), "{current}");
    let etag = headers["etag"].as_str().unwrap().to_string();

    let put = |value: Value, m: Option<&str>| config_event("PUT", key, "", Some(json!({ "value": value })), m);
    assert_eq!(
        call(&rt, &api, put(json!(10), None), &admin).await.0,
        428,
        "If-Match is required"
    );
    let (status, p, _) = call(&rt, &api, put(json!(0), Some(&etag)), &admin).await;
    assert_eq!(
        (status, p["rule"].as_str(), p["errors"][0]["field"].as_str()),
        (422, Some("minimum"), Some("value")),
        "{p}"
    );
    let (status, p, _) = call(&rt, &api, put(json!(5000), Some(&etag)), &admin).await;
    assert_eq!(
        (status, p["rule"].as_str(), p["maximum"].as_i64()),
        (422, Some("maximum"), Some(1440)),
        "{p}"
    );
    let (status, p, _) = call(&rt, &api, put(json!("10"), Some(&etag)), &admin).await;
    assert_eq!((status, p["rule"].as_str()), (422, Some("type")));

    let (status, changed, headers) = call(&rt, &api, put(json!(10), Some(&etag)), &admin).await;
    assert_eq!((status, changed["value"].as_i64()), (200, Some(10)), "{changed}");
    assert_ne!(headers["etag"].as_str(), Some(etag.as_str()));
    // A second writer still holding the old ETag loses.
    let (status, p, _) = call(&rt, &api, put(json!(20), Some(&etag)), &admin).await;
    assert_eq!(
        (status, p["current_version"].as_i64()),
        (412, changed["version"].as_i64()),
        "{p}"
    );

    let (status, history, _) = call(&rt, &api, config_event("GET", key, "/history", None, None), &admin).await;
    assert_eq!(status, 200);
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "refused changes leave no audit row: {history}");
    assert_eq!(
        (items[0]["old_value"].as_i64(), items[0]["new_value"].as_i64()),
        (Some(15), Some(10))
    );
    assert_eq!(items[0]["changed_by"], "admin:admin");
    assert!(items[0]["changed_at"].is_string());

    let (_, partner) = testkit::auth::partner_token(&db.client().await, "P-00001").await;
    assert_eq!(call(&rt, &api, put(json!(30), Some("\"2\"")), &partner).await.0, 403);
    assert_eq!(
        call(&rt, &api, config_event("GET", "no.such_key", "", None, None), &admin)
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_two_other_running_instances_within_five_seconds() {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    let env = testkit::unique_env();
    testkit::create_table(&format!("niaga-{env}-config-cache")).await;
    let sdk = testkit::aws_config_for("agent-jobs-api").await;
    // Two agent-jobs-api instances, each with its own caches, as two Lambda instances would have.
    let instance = || {
        AgentJobsApi::new(
            store::agent_jobs::PgAgentJobs::new(pool.clone()),
            Arc::new(SettingsCache::new(&sdk, &env, pool.clone())),
            Authenticator::new(testkit::auth::jwt(), PgIdentity::new(pool.clone())),
            CallbackPolicy {
                allow_loopback_http: false,
            },
        )
    };
    let (a, b) = (instance(), instance());
    let jobs_rt = runtime(&pool, "agent-jobs-api");
    let agent = testkit::auth::token("ai_agent:seo-bot", Role::AiAgent, None);
    let submit = |n: usize| {
        let mut ev = testkit::event("agent-jobs-api/submit-seo-job.json");
        ev["headers"]["idempotency-key"] = uuid::Uuid::new_v4().to_string().into();
        let skus: Vec<&str> = ["SHM-00001", "CND-00002", "HCL-00003"][..n].to_vec();
        ev["body"] = json!({ "type": "generate_product_seo", "skus": skus })
            .to_string()
            .into();
        ev
    };
    // Both instances have read (and so cached) the settings: three items are allowed.
    assert_eq!(call(&jobs_rt, &a, submit(3), &agent).await.0, 202);
    assert_eq!(call(&jobs_rt, &b, submit(3), &agent).await.0, 202);

    let admin_api = support::admin_api(
        &pool,
        SettingsCache::new(&testkit::aws_config_for("admin-api").await, &env, pool.clone()),
    );
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);
    let admin_rt = runtime(&pool, "admin-api");
    let key = "agents.max_items_per_job";
    let (_, _, headers) = call(&admin_rt, &admin_api, config_event("GET", key, "", None, None), &admin).await;
    let etag = headers["etag"].as_str().unwrap().to_string();
    let changed_at = Instant::now();
    let (status, _, _) = call(
        &admin_rt,
        &admin_api,
        config_event("PUT", key, "", Some(json!({"value": 2})), Some(&etag)),
        &admin,
    )
    .await;
    assert_eq!(status, 200);

    for (name, api) in [("a", &a), ("b", &b)] {
        loop {
            let (status, p, _) = call(&jobs_rt, api, submit(3), &agent).await;
            if status == 400 && p["max_items_per_job"] == 2 {
                break;
            }
            assert!(
                changed_at.elapsed() < Duration::from_secs(5),
                "instance {name} still allows 3 items: {status} {p}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(changed_at.elapsed() < Duration::from_secs(5));
    // The shared cache's fallback to PostgreSQL would hide a refused DynamoDB call: none may have happened.
    assert_eq!(
        platform::access_denied_count(),
        0,
        "an AWS call was refused by IAM (see the log)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ppn_schedule_is_changed_like_any_setting_and_a_broken_entry_is_named() {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    let rt = runtime(&pool, "admin-api");
    let api = support::admin_api(&pool, SettingsCache::with_table(pool.clone(), None));
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);
    let key = "tax.ppn_schedule";
    let (status, current, headers) = call(&rt, &api, config_event("GET", key, "", None, None), &admin).await;
    assert_eq!(status, 200, "{current}");
    // PMK 131/2024 from 1 January 2025, as the migration seeds it.
    assert_eq!(
        current["value"][1],
        json!({"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11})
    );
    let etag = headers["etag"].as_str().unwrap().to_string();
    let put = |value: Value| config_event("PUT", key, "", Some(json!({ "value": value })), Some(&etag));
    let good = json!({"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11});
    for (value, rule, field) in [
        (
            json!([good, {"from": "2027-01-01", "tariff_bp": 1300, "dpp_twelfths": 13}]),
            "maximum",
            "value[1].dpp_twelfths",
        ),
        (
            json!([good, {"from": "2024-12-31", "tariff_bp": 1300, "dpp_twelfths": 12}]),
            "order",
            "value[1].from",
        ),
        (
            json!([{"from": "1 Jan 2025", "tariff_bp": 1200, "dpp_twelfths": 11}]),
            "type",
            "value[0].from",
        ),
        (json!([]), "entries", "value"),
    ] {
        let (status, p, _) = call(&rt, &api, put(value.clone()), &admin).await;
        assert_eq!(
            (status, p["rule"].as_str(), p["errors"][0]["field"].as_str()),
            (422, Some(rule), Some(field)),
            "{value}: {p}"
        );
    }
    let next = json!([good, {"from": "2027-01-01", "tariff_bp": 1300, "dpp_twelfths": 12}]);
    let (status, changed, _) = call(&rt, &api, put(next.clone()), &admin).await;
    assert_eq!((status, &changed["value"]), (200, &next), "{changed}");
}
