//! The walking skeleton end to end: the real function binaries under the local Lambda runtime, behind the local
//! gateway, with their secrets in moto and a seeded PostgreSQL database, exactly as `cargo xtask up` runs them.

use serde_json::Value;
use std::sync::Arc;
use xtask::gateway::Gateway;
use xtask::localrt::{LocalRuntime, RuntimeOptions};
use xtask::manifest::Manifest;
use xtask::stack::StackSettings;

mod common;
use common::any_port;

struct Stack {
    gateway: Gateway,
    runtime: Arc<LocalRuntime>,
    logs: tempdir::Dir,
    db: testkit::TestDb,
}

mod tempdir {
    /// A log folder removed after the test.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("niaga-e2e-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn read(&self, file: &str) -> String {
            std::fs::read_to_string(self.0.join(file)).unwrap_or_default()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn jwt_secret(key: &str) -> String {
    serde_json::json!({ "jwt_signing_key": key }).to_string()
}

async fn settings(db: &testkit::TestDb, app_secret_value: &str) -> StackSettings {
    StackSettings {
        database_url: db.url.clone(),
        aws_endpoint: testkit::moto_endpoint(),
        app_secret_id: testkit::put_secret("niaga/e2e/app", app_secret_value).await,
        db_secret_id: Some(
            testkit::put_secret("niaga/e2e/database", r#"{"username":"postgres","password":"local"}"#).await,
        ),
        payments_secret_id: Some(
            testkit::put_secret("niaga/e2e/payments", r#"{"server_key":"SB-Mid-server-e2e"}"#).await,
        ),
        log: "info".into(),
        extra_env: vec![("NIAGA_ERP_URL".into(), "http://127.0.0.1:7071".into())],
        principals: xtask::iam::test_principals(),
    }
}

/// Every function of the local stack verifies the database as functions verify RDS: `verify-full`, with a CA
/// named for the writer and for the reader, here the local cluster's CA (which refuses TCP without TLS).
#[tokio::test]
async fn every_function_verifies_the_writer_and_the_reader_against_the_local_ca() {
    let db = testkit::fresh_db(testkit::Template::Empty).await;
    let s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    let env: std::collections::BTreeMap<String, String> = s.function_env().into_iter().collect();
    assert_eq!(env.get("DATABASE_TLS").map(String::as_str), Some("verify-full"));
    let cluster_ca = std::fs::read(testkit::database_ca()).unwrap();
    for var in ["DATABASE_CA", "DATABASE_READER_CA"] {
        let path = env.get(var).unwrap_or_else(|| panic!("{var} is not set"));
        assert_eq!(std::fs::read(path).unwrap(), cluster_ca, "{var}");
    }
}

fn require_binaries(manifest: &Manifest) {
    assert!(
        xtask::stack::binaries_built(manifest, "debug"),
        "function binaries are missing: run through `cargo xtask test`, which builds them first"
    );
}

async fn stack_with(settings: StackSettings, db: testkit::TestDb) -> Stack {
    let manifest = Manifest::load_workspace().unwrap();
    require_binaries(&manifest);
    let logs = tempdir::Dir::new();
    let options = RuntimeOptions {
        log_dir: Some(logs.0.clone()),
        echo: false,
        ..Default::default()
    };
    let runtime = Arc::new(
        LocalRuntime::start_with(any_port(), settings.specs(&manifest, "debug"), options)
            .await
            .unwrap(),
    );
    let gateway = Gateway::start(any_port(), manifest, runtime.clone(), None, "e2e".into())
        .await
        .unwrap();
    Stack {
        gateway,
        runtime,
        logs,
        db,
    }
}

async fn stack() -> Stack {
    let db = testkit::fresh_db(testkit::Template::Seeded).await;
    let s = settings(&db, &jwt_secret(&"e2e-signing-key-".repeat(3))).await;
    stack_with(s, db).await
}

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

/// Sends a request and returns its status and JSON body (`Null` when empty).
async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_search_through_the_gateway_is_served_by_the_real_function() {
    let s = stack().await;
    let (status, headers, body) = get(&format!("{}/products?q=shampoo+argan&limit=3", s.gateway.url())).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("stale-while-revalidate"));
    assert!(headers.contains_key("x-request-id"));
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 3);
    assert!(items[0]["name"].as_str().unwrap().to_lowercase().contains("shampoo"));
    drop(s.db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_rule_unknown_skus_and_etags_behave_through_the_gateway() {
    let s = stack().await;
    let url = s.gateway.url();
    let (status, headers, body) = get(&format!("{url}/products?limit=101")).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["errors"][0]["field"], "limit");

    let (status, _, body) = get(&format!("{url}/products/ZZZ-99999")).await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);

    let (status, headers, _) = get(&format!("{url}/products/SHM-00001")).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let again = reqwest::Client::new()
        .get(format!("{url}/products/SHM-00001"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_cold_then_warm_and_logs_json_with_request_and_trace_ids() {
    let s = stack().await;
    let url = s.gateway.url();
    let trace = "1-6747a1b2-0123456789abcdef01234567";
    let client = reqwest::Client::new();
    let first: Value = client
        .get(format!("{url}/health"))
        .header("x-amzn-trace-id", format!("Root={trace};Sampled=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "ok", "{first}");
    assert_eq!(first["database"]["reachable"], true);
    assert_eq!(first["instance"]["cold_start"], true);
    let (_, _, second) = get(&format!("{url}/health")).await;
    assert_eq!(second["instance"]["cold_start"], false);

    let log = s.logs.read("health-api.log");
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["trace_id"] == trace && l["span"]["request_id"].is_string()),
        "a JSON log line carries the request and trace ids:\n{log}"
    );
    let emf = lines
        .iter()
        .find(|l| l["_aws"]["CloudWatchMetrics"].is_array())
        .expect("an EMF metrics line");
    assert_eq!(emf["function"], "health-api");
    assert!(emf["latency"].as_f64().unwrap() >= 0.0);
    assert!(
        !log.contains("e2e-signing-key"),
        "the signing key never reaches the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_threshold_logs_a_warning() {
    let db = testkit::fresh_db(testkit::Template::Seeded).await;
    let mut s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    s.extra_env.push(("NIAGA_SLOW_REQUEST_MS".into(), "1".into()));
    let stack = stack_with(s, db).await;
    let (status, _, _) = get(&format!("{}/products?q=serum&limit=50", stack.gateway.url())).await;
    assert_eq!(status, 200);
    // The function's output reaches the log file through the runtime's pipe, a moment after the response.
    let mut log = String::new();
    let mut warning = None;
    for _ in 0..50 {
        log = stack.logs.read("catalog-api.log");
        warning = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == "slow request");
        if warning.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let warning = warning.unwrap_or_else(|| panic!("no slow-request warning in:\n{log}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["route"], "GET /products");
    assert!(warning["elapsed_ms"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warmup_schedule_reaches_its_targets_which_answer_warm() {
    let s = stack().await;
    let fired: Value = reqwest::Client::new()
        .post(format!("{}/_niaga/schedules/warmup/fire", s.gateway.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = fired.to_string();
    assert!(text.contains("catalog-api") && text.contains("health-api"), "{text}");
    let direct = s
        .runtime
        .invoke("catalog-api", serde_json::json!({"warmup": true}), None)
        .await
        .unwrap();
    let answer = direct.response.unwrap();
    assert_eq!(answer["warm"], true);
    assert!(answer["connections"].as_u64().unwrap() >= 1, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_with_a_short_jwt_key_refuses_to_start_and_says_why() {
    let db = testkit::fresh_db(testkit::Template::Empty).await;
    let s = settings(&db, &jwt_secret("too-short-key")).await;
    let stack = stack_with(s, db).await;
    let inv = stack
        .runtime
        .invoke("health-api", testkit::event("health-api/get-health.json"), None)
        .await
        .unwrap();
    let err = inv.response.unwrap_err();
    assert_eq!(err.error_type, "Runtime.ExitError", "{err}");
    let log = stack.logs.read("health-api.log");
    assert!(log.contains("at least 32 characters"), "{log}");
    assert!(!log.contains("too-short-key"));
    let (status, _, _) = get(&format!("{}/health", stack.gateway.url())).await;
    assert_eq!(
        status, 500,
        "the gateway reports the failed function as API Gateway would"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_missing_a_required_variable_refuses_to_start_naming_it() {
    let db = testkit::fresh_db(testkit::Template::Empty).await;
    let mut s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    s.database_url = String::new();
    let stack = stack_with(s, db).await;
    let inv = stack
        .runtime
        .invoke("catalog-api", testkit::event("catalog-api/get-product.json"), None)
        .await
        .unwrap();
    assert_eq!(inv.response.unwrap_err().error_type, "Runtime.ExitError");
    let log = stack.logs.read("catalog-api.log");
    assert!(log.contains("DATABASE_URL is required but not set"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrate_function_migrates_a_blank_database_and_refuses_an_edited_migration() {
    let db = testkit::fresh_db(testkit::Template::Blank).await;
    let s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    let stack = stack_with(s, db).await;
    let report = stack
        .runtime
        .invoke("migrate", testkit::event("migrate/migrate.json"), None)
        .await
        .unwrap();
    let report = report.response.unwrap();
    assert_eq!(
        report["applied"].as_array().unwrap().len(),
        store::migrate::MIGRATIONS.len(),
        "{report}"
    );
    let again = stack
        .runtime
        .invoke("migrate", testkit::event("migrate/migrate.json"), None)
        .await
        .unwrap();
    assert_eq!(again.response.unwrap()["applied"], serde_json::json!([]));

    let client = stack.db.client().await;
    client
        .execute(
            "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    let refused = stack
        .runtime
        .invoke("migrate", testkit::event("migrate/migrate.json"), None)
        .await
        .unwrap();
    let err = refused.response.unwrap_err();
    assert!(err.error_message.contains("edited after it was applied"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_runs_once_from_the_command_line_outside_the_lambda_runtime() {
    let db = testkit::fresh_db(testkit::Template::Blank).await;
    let s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    let run = || {
        let mut cmd = std::process::Command::new(xtask::bin_path("debug", "migrate"));
        cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in s.env_of("migrate") {
            cmd.env(k, v);
        }
        cmd.output().expect("the migrate binary runs")
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["applied"].is_array())
        .unwrap_or_else(|| panic!("a JSON report in:\n{stdout}"));
    assert_eq!(
        report["applied"].as_array().unwrap().len(),
        store::migrate::MIGRATIONS.len()
    );

    db.client()
        .await
        .execute(
            "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 2",
            &[],
        )
        .await
        .unwrap();
    let refused = run();
    assert_eq!(
        refused.status.code(),
        Some(1),
        "an edited migration makes the command fail"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("edited after it was applied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_event_sent_to_migrate_runs_the_migrations_rather_than_a_warmup() {
    let db = testkit::fresh_db(testkit::Template::Blank).await;
    let s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    let stack = stack_with(s, db).await;
    let inv = stack
        .runtime
        .invoke("migrate", testkit::event("schedules/scheduled-event.json"), None)
        .await
        .unwrap();
    let report = inv.response.unwrap();
    assert_eq!(
        report["applied"].as_array().map(Vec::len),
        Some(store::migrate::MIGRATIONS.len()),
        "{report}"
    );
}

/// A partner's whole journey through the gateway with real HTTP: log in, quote, order (retried), pay, read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_logs_in_quotes_orders_pays_and_sees_the_order_paid_through_the_gateway() {
    let s = stack().await;
    let url = s.gateway.url();
    let http = reqwest::Client::new();
    let token = xtask::smoke::login(&http, &url, "p-00001", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let cart = serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 12 }] });

    let quote = http
        .post(format!("{url}/quotes"))
        .bearer_auth(&token)
        .json(&cart)
        .send()
        .await
        .unwrap();
    assert_eq!(quote.status(), 200);
    let quote: Value = quote.json().await.unwrap();

    let place = || {
        http.post(format!("{url}/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", "e2e-journey-1")
            .json(&cart)
            .send()
    };
    let first = place().await.unwrap();
    assert_eq!(first.status(), 201);
    let order: Value = first.json().await.unwrap();
    assert_eq!(order["total"], quote["total"], "the order costs what the quote said");
    assert_eq!(
        order["total_incl_tax"], quote["total_incl_tax"],
        "and carries the PPN the quote said"
    );
    let retry = place().await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");

    let id = order["id"].as_str().unwrap();
    let amount = format!("{}.00", order["total_incl_tax"]);
    let signature = orders::payment::signature(id, "200", &amount, &kernel::SecretString::new("SB-Mid-server-e2e"));
    let notification = serde_json::json!({
        "order_id": id, "status_code": "200", "gross_amount": amount, "signature_key": signature,
        "transaction_id": "e2e-tx-1", "transaction_status": "settlement", "fraud_status": "accept",
    });
    let paid = http
        .post(format!("{url}/payments/callback"))
        .json(&notification)
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);

    let read = send(http.get(format!("{url}/orders/{id}")).bearer_auth(&token)).await.1;
    assert_eq!(read["status"], "paid");
    let list = send(http.get(format!("{url}/orders")).bearer_auth(&token)).await.1;
    assert_eq!(list["items"][0]["id"], id);
}

/// The auth attack set against the deployed-like stack: forged tokens, another tenant's order, an unassigned
/// masquerade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_other_tenants_and_unassigned_masquerades_are_refused_through_the_gateway() {
    let s = stack().await;
    let url = s.gateway.url();
    let http = reqwest::Client::new();
    let owner = xtask::smoke::login(&http, &url, "p-00001", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let other = xtask::smoke::login(&http, &url, "p-00002", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let agent = xtask::smoke::login(&http, &url, "agent-01", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let cart = serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 12 }] });
    let order = send(
        http.post(format!("{url}/orders"))
            .bearer_auth(&owner)
            .header("idempotency-key", "e2e-attack-1")
            .json(&cart),
    )
    .await
    .1;
    let id = order["id"].as_str().unwrap_or_else(|| panic!("{order}"));

    // alg: none with the owner's claims.
    let claims = owner.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    assert_eq!(
        send(http.get(format!("{url}/orders/{id}")).bearer_auth(&none)).await.0,
        401
    );
    // The owner's header and claims with a signature from another key.
    let forged = format!(
        "{}.{}",
        owner.rsplit_once('.').unwrap().0,
        "c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ"
    );
    assert_eq!(
        send(http.get(format!("{url}/orders/{id}")).bearer_auth(&forged))
            .await
            .0,
        401
    );
    // Another partner.
    assert_eq!(
        send(http.get(format!("{url}/orders/{id}")).bearer_auth(&other)).await.0,
        404
    );
    assert_eq!(
        send(http.post(format!("{url}/orders/{id}/cancel")).bearer_auth(&other))
            .await
            .0,
        404
    );
    // agent-01 is not assigned P-00002 (partner id 2 in a fresh seed).
    assert_eq!(
        send(
            http.post(format!("{url}/orders"))
                .bearer_auth(&agent)
                .header("x-act-for-partner", "2")
                .header("idempotency-key", "e2e-attack-2")
                .json(&cart)
        )
        .await
        .0,
        403
    );
    let status = send(http.get(format!("{url}/orders/{id}")).bearer_auth(&owner)).await.1;
    assert_eq!(status["status"], "pending_payment", "nothing changed");
    let client = s.db.client().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_run_as_two_cloud_run_shards_covers_every_partner_exactly_once() {
    let db = testkit::fresh_db(testkit::Template::Seeded).await;
    let s = settings(&db, &jwt_secret(&"k".repeat(32))).await;
    let client = db.client().await;
    store::maintenance::ensure_partitions(&db.db(), chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), 1)
        .await
        .unwrap();
    // One paid October order for every partner.
    client
        .batch_execute(
            "INSERT INTO orders (id, placed_at, partner_id, status, total, payment_due_at, placed_by)
             SELECT gen_random_uuid(), '2026-10-10T03:00:00Z', id, 'paid', 1000, now(), 't' FROM partners;
             INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, unit_cost)
             SELECT id, placed_at, 1, 'SHM-00001', (SELECT min(code) FROM warehouses), 1, 1000 + partner_id, 700
             FROM orders;",
        )
        .await
        .unwrap();
    let partners: i64 = client
        .query_one("SELECT count(*) FROM partners", &[])
        .await
        .unwrap()
        .get(0);
    let run = |index: u32| {
        let mut cmd = std::process::Command::new(xtask::bin_path("debug", "monthly-profit-job"));
        cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in s.env_of("monthly-profit-job") {
            cmd.env(k, v);
        }
        cmd.env("CLOUD_RUN_TASK_INDEX", index.to_string())
            .env("CLOUD_RUN_TASK_COUNT", "2");
        cmd.arg(r#"{"month": "2026-10"}"#);
        let out = cmd.output().expect("the monthly-profit-job binary runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["partner_ids"].is_array())
            .unwrap_or_else(|| panic!("a JSON report in:\n{stdout}"))
    };
    let (first, second) = (run(0), run(1));
    let ids = |r: &Value| -> Vec<i64> { serde_json::from_value(r["partner_ids"].clone()).unwrap() };
    let (a, b) = (ids(&first), ids(&second));
    assert!(
        a.iter().all(|id| id % 2 == 0) && b.iter().all(|id| id % 2 == 1),
        "{a:?} {b:?}"
    );
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len() as i64, partners, "together the shards cover every partner");
    assert_eq!(a.len() + b.len(), all.len(), "and none twice");
    let rows: i64 = client
        .query_one("SELECT count(*) FROM profit_reports WHERE month = '2026-10-01'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, partners);

    // A bad shard setting makes the job exit non-zero, saying why.
    let out = std::process::Command::new(xtask::bin_path("debug", "monthly-profit-job"))
        .env_clear()
        .envs(s.env_of("monthly-profit-job"))
        .env("CLOUD_RUN_TASK_INDEX", "2")
        .env("CLOUD_RUN_TASK_COUNT", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLOUD_RUN_TASK_INDEX"));
}

/// Row counts of every table a request could write, and the settings' versions: a refused request changes none.
async fn writable_state(db: &testkit::TestDb) -> Vec<(String, i64)> {
    let client = db.client().await;
    let mut state = Vec::new();
    for table in [
        "orders",
        "order_lines",
        "idempotency_keys",
        "outbox",
        "audit_log",
        "agent_jobs",
        "notification_blasts",
        "exports",
        "payment_notifications",
        "refunds_due",
        "system_config_audit",
    ] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        state.push((table.to_string(), n));
    }
    let versions: i64 = client
        .query_one("SELECT coalesce(sum(version), 0)::bigint FROM system_config", &[])
        .await
        .unwrap()
        .get(0);
    state.push(("system_config versions".into(), versions));
    let reserved: i64 = client
        .query_one("SELECT coalesce(sum(reserved), 0)::bigint FROM inventory", &[])
        .await
        .unwrap()
        .get(0);
    state.push(("inventory reserved".into(), reserved));
    state
}

/// Malformed JSON, wrong types, huge bodies, invalid UTF-8, NUL characters, negative and enormous quantities and
/// SQL metacharacters, sent to every endpoint that writes, as the role allowed to call it: each is a 4xx
/// problem+json (naming the member where there is one), and nothing in the database changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_to_every_writing_endpoint_are_clear_4xx_problems_that_change_nothing() {
    // Its own environment with the manifest's tables, as terraform creates them: agents' calls count against the
    // rate-limit table.
    let env = testkit::unique_env();
    let manifest = Manifest::load_workspace().unwrap();
    for table in &manifest.tables {
        testkit::create_table(&xtask::table_physical_name(&env, &table.name)).await;
    }
    let db = testkit::fresh_db(testkit::Template::Seeded).await;
    let mut settings = settings(&db, &jwt_secret(&"e2e-signing-key-".repeat(3))).await;
    settings.extra_env.push(("NIAGA_ENV".into(), env));
    let s = stack_with(settings, db).await;
    let url = s.gateway.url();
    let http = reqwest::Client::new();
    let partner = xtask::smoke::login(&http, &url, "p-00001", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let admin = xtask::smoke::login(&http, &url, "admin", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let agent = xtask::smoke::agent_login(&http, &url).await.unwrap();
    let huge_cart = format!(
        "{{\"lines\":[{}]}}",
        vec![r#"{"sku":"SHM-00001","quantity":1}"#; 5000].join(",")
    );
    let sku_lines = |sku: &str, quantity: &str| format!(r#"{{"lines":[{{"sku":{sku},"quantity":{quantity}}}]}}"#);
    // (what, body, the member the problem must name; None when the whole body is at fault)
    let cart_cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "malformed JSON",
            br#"{"lines": [{"sku": "SHM-00001", "quantity": 1}"#.to_vec(),
            Some("body"),
        ),
        (
            "lines of the wrong type",
            br#"{"lines": "twelve shampoos"}"#.to_vec(),
            Some("lines"),
        ),
        (
            "a number as the SKU",
            sku_lines("12345", "1").into_bytes(),
            Some("lines[0].sku"),
        ),
        (
            "a string as the quantity",
            sku_lines(r#""SHM-00001""#, r#""12""#).into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "a negative quantity",
            sku_lines(r#""SHM-00001""#, "-5").into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "a zero quantity",
            sku_lines(r#""SHM-00001""#, "0").into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "an enormous quantity",
            sku_lines(r#""SHM-00001""#, "99999999999999999999999999").into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "a quantity past i64",
            sku_lines(r#""SHM-00001""#, "9223372036854775808").into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "a fractional quantity",
            sku_lines(r#""SHM-00001""#, "1.5").into_bytes(),
            Some("lines[0].quantity"),
        ),
        (
            "SQL in the SKU",
            sku_lines(r#""x'); DROP TABLE orders;--""#, "1").into_bytes(),
            Some("lines[0].sku"),
        ),
        (
            "a NUL in the SKU",
            sku_lines(r#""SHM-\u000000001""#, "1").into_bytes(),
            Some("lines[0].sku"),
        ),
        (
            "invalid UTF-8",
            b"{\"lines\":[{\"sku\":\"SHM-\xff\xfe\",\"quantity\":1}]}".to_vec(),
            Some("body"),
        ),
        ("a body over the limit", huge_cart.into_bytes(), None),
    ];
    let mut cases: Vec<(String, reqwest::RequestBuilder, Option<String>)> = Vec::new();
    for (n, (what, body, field)) in cart_cases.iter().enumerate() {
        for (path, key) in [("quotes", false), ("orders", true)] {
            let mut r = http
                .post(format!("{url}/{path}"))
                .bearer_auth(&partner)
                .header("content-type", "application/json")
                .body(body.clone());
            if key {
                r = r.header("idempotency-key", format!("bad-input-{n}"));
            }
            cases.push((format!("POST /{path}: {what}"), r, field.map(str::to_string)));
        }
    }
    let json_post = |path: &str, token: &str, body: &str, key: Option<&str>| {
        let mut r = http
            .post(format!("{url}{path}"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            r = r.header("idempotency-key", k.to_string());
        }
        r
    };
    let more: Vec<(&str, reqwest::RequestBuilder, Option<&str>)> = vec![
        (
            "agent job with SQL in a SKU",
            json_post(
                "/agent-jobs",
                &agent,
                r#"{"type":"generate_product_seo","skus":["A'; DELETE FROM agent_jobs;--"]}"#,
                Some("bad-job-1"),
            ),
            Some("skus[0]"),
        ),
        (
            "agent job with skus of the wrong type",
            json_post(
                "/agent-jobs",
                &agent,
                r#"{"type":"generate_product_seo","skus":{"sku":"SHM-00001"}}"#,
                Some("bad-job-2"),
            ),
            Some("skus"),
        ),
        (
            "agent job with a negative margin",
            json_post(
                "/agent-jobs",
                &agent,
                r#"{"type":"bulk_price_proposal","skus":["SHM-00001"],"tier":"gold","target_margin_bp":-1}"#,
                Some("bad-job-3"),
            ),
            Some("target_margin_bp"),
        ),
        (
            "blast with a NUL in its subject",
            json_post(
                "/admin/notification-blasts",
                &admin,
                r#"{"subject":"Promo\u0000","body":"Diskon"}"#,
                Some("bad-blast-1"),
            ),
            Some("subject"),
        ),
        (
            "blast that is not JSON",
            json_post(
                "/admin/notification-blasts",
                &admin,
                "subject=Promo",
                Some("bad-blast-2"),
            ),
            Some("body"),
        ),
        (
            "export of a month that is not one",
            json_post(
                "/reports/profit-exports",
                &admin,
                r#"{"month":"2026-13'; --"}"#,
                Some("bad-export-1"),
            ),
            Some("month"),
        ),
        (
            "payment callback with an amount that is not one",
            json_post(
                "/payments/callback",
                "",
                r#"{"order_id":"00000000-0000-0000-0000-000000000000","status_code":"200","gross_amount":"-1","signature_key":"x","transaction_id":"t","transaction_status":"settlement"}"#,
                None,
            ),
            Some("gross_amount"),
        ),
        (
            "login with a NUL in the username",
            http.post(format!("{url}/auth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=admin%00&password=x"),
            Some("username"),
        ),
    ];
    for (what, r, field) in more {
        cases.push((what.to_string(), r, field.map(str::to_string)));
    }
    let put = http
        .put(format!("{url}/admin/config/pricing.minimum_order_total"))
        .bearer_auth(&admin)
        .header("if-match", "\"1\"")
        .header("content-type", "application/json");
    cases.push((
        "a setting of the wrong type".into(),
        put.try_clone().unwrap().body(r#"{"value":"a lot"}"#),
        Some("value".into()),
    ));
    cases.push((
        "a negative setting".into(),
        put.try_clone().unwrap().body(r#"{"value":-1}"#),
        Some("value".into()),
    ));
    cases.push((
        "a setting change with an unknown member".into(),
        put.body(r#"{"value":1,"sql":"'; UPDATE system_config SET value = 0;--"}"#),
        Some("sql".into()),
    ));

    let before = writable_state(&s.db).await;
    for (what, request, field) in cases {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let text = r.text().await.unwrap();
        assert!((400..500).contains(&status), "{what}: {status} {text}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{what}: {text}"
        );
        let problem: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
        assert_eq!(problem["status"], status, "{what}: {text}");
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field.as_str(), "{what}: {text}");
        }
    }
    assert_eq!(
        writable_state(&s.db).await,
        before,
        "a refused request changed the database"
    );
}
