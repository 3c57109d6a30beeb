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
    /// The stack's environment (`NIAGA_ENV`): its queues and tables are `niaga-<env>-…`.
    env: String,
}

/// Every line any function logged for an AWS call IAM refused (`niaga_aws::fail_open` marks them): a grant the
/// function's policy lacks, even where the function carried on without the call.
fn refused_calls(logs: &tempdir::Dir) -> Vec<String> {
    let mut refused = Vec::new();
    for entry in std::fs::read_dir(&logs.0).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        refused.extend(
            text.lines()
                .filter(|l| l.contains("\"access_denied\":true"))
                .map(|l| format!("{}: {l}", entry.file_name().to_string_lossy())),
        );
    }
    refused
}

/// The total size of the stack's log files once the runtime has stopped appending to them (lines are copied from
/// each process's output as it comes, so the last request's lines may still be on their way when a test ends).
fn settled_logs(logs: &tempdir::Dir) {
    let size = || -> u64 {
        std::fs::read_dir(&logs.0)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    let mut last = size();
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = size();
        if now == last {
            return;
        }
        last = now;
    }
}

impl Drop for Stack {
    /// A test passes only if no function was refused an AWS call on the way: the local stage enforces each
    /// function's own policy, and a refusal a fallback hid would still be a failure in AWS.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        settled_logs(&self.logs);
        let refused = refused_calls(&self.logs);
        assert!(
            refused.is_empty(),
            "IAM refused calls the functions made:\n{}",
            refused.join("\n")
        );
    }
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
        /// Removed unless `NIAGA_E2E_KEEP_LOGS` is set (to read the functions' logs after a failure).
        fn drop(&mut self) {
            if std::env::var_os("NIAGA_E2E_KEEP_LOGS").is_some() {
                eprintln!("function logs kept in {}", self.0.display());
                return;
            }
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn jwt_secret(key: &str) -> String {
    serde_json::json!({ "jwt_signing_key": key }).to_string()
}

/// The stack's settings, in an environment of its own whose queues and tables exist as terraform creates them, so
/// writers publish their events right after commit as they do when deployed, and no two tests share a queue.
async fn settings(db: &testkit::TestDb, app_secret_value: &str) -> StackSettings {
    let env = testkit::unique_env();
    let manifest = Manifest::load_workspace().unwrap();
    let admin = testkit::aws_config().await;
    xtask::provision::queues(&admin, &manifest, &env).await.unwrap();
    xtask::provision::tables(&admin, &manifest, &env).await.unwrap();
    let bucket = xtask::provision::bus_and_bucket(&admin, &env).await.unwrap();
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
        extra_env: vec![
            ("NIAGA_ERP_URL".into(), "http://127.0.0.1:7071".into()),
            ("NIAGA_ENV".into(), env),
            ("NIAGA_EXPORTS_BUCKET".into(), bucket),
        ],
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
    stack_started(settings, db, false).await
}

async fn stack_started(settings: StackSettings, db: testkit::TestDb, polling: bool) -> Stack {
    let env = settings
        .function_env()
        .into_iter()
        .rev()
        .find(|(k, _)| k == "NIAGA_ENV")
        .map(|(_, v)| v)
        .unwrap();
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
    let aws = match polling {
        true => Some(testkit::aws_config().await),
        false => None,
    };
    let gateway = Gateway::start_as(
        any_port(),
        manifest,
        runtime.clone(),
        aws,
        env.clone(),
        &settings.principals,
    )
    .await
    .unwrap();
    Stack {
        gateway,
        runtime,
        logs,
        db,
        env,
    }
}

/// A seeded stack whose functions call a fake ERP of their own; with `polling`, the event-source mappings run too:
/// the gateway polls each worker's queue as that worker.
async fn stack_with_erp(polling: bool) -> (Stack, fake_erp::FakeErp) {
    let erp = fake_erp::FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let db = testkit::fresh_db(testkit::Template::Seeded).await;
    let mut settings = settings(&db, &jwt_secret(&"e2e-signing-key-".repeat(3))).await;
    settings.extra_env.push(("NIAGA_ERP_URL".into(), erp.url()));
    (stack_started(settings, db, polling).await, erp)
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
    let fired = fire_schedule(&s.gateway.url(), "warmup").await;
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

    // orders-api and payments-api published the order's events right after their commits, each as its own
    // principal; no sweeper ran. The ERP's queue holds the payment.
    assert_eq!(unpublished(&s.db).await, 0, "every event was published by its writer");
    let erp = queued(&s.env, "erp-sync").await;
    assert!(
        erp.iter()
            .any(|m| m["event_type"] == "order.paid" && m["aggregate_id"] == id),
        "{erp:?}"
    );
    let notifications = queued(&s.env, "notifications").await;
    assert!(
        notifications
            .iter()
            .any(|m| m["event_type"] == "order.placed" && m["aggregate_id"] == id),
        "{notifications:?}"
    );
}

/// Fires the schedule `name` through the gateway's control endpoint, as EventBridge would; its targets' results.
async fn fire_schedule(gateway: &str, name: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{gateway}/_niaga/schedules/{name}/fire"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Outbox events no one has published yet.
async fn unpublished(db: &testkit::TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[])
        .await
        .unwrap()
        .get(0)
}

/// The bodies of the messages waiting on the manifest queue `name` in `env` (received with the setup principal
/// and left for their visibility timeout; no worker polls in these tests).
async fn queued(env: &str, name: &str) -> Vec<Value> {
    let manifest = Manifest::load_workspace().unwrap();
    let q = manifest.queues.iter().find(|q| q.name == name).unwrap();
    let sqs = aws_sdk_sqs::Client::new(&testkit::aws_config().await);
    let url = sqs
        .get_queue_url()
        .queue_name(xtask::queue_physical_name(env, &q.name, q.fifo))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut bodies = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        bodies.extend(
            messages
                .iter()
                .filter_map(|m| serde_json::from_str(m.body().unwrap_or_default()).ok()),
        );
    }
}

/// Every scheduled job fired by its schedule, and every queue worker handed a batch, each runs as its own
/// principal: it starts (reading its secrets), does its work and publishes what it wrote. An unpaid order past its
/// payment window is expired, and its `order.expired` event reaches the notifications queue without a sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_and_worker_runs_as_its_own_principal_and_the_expiry_job_publishes_what_it_expired() {
    let (s, _erp) = stack_with_erp(false).await;
    let url = s.gateway.url();
    let http = reqwest::Client::new();
    let token = xtask::smoke::login(&http, &url, "p-00001", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let placed = http
        .post(format!("{url}/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", "e2e-expiry-1")
        .json(&serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 12 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    let id = placed.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.db.client()
        .await
        .execute(
            "UPDATE orders SET payment_due_at = now() - interval '1 minute' WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap();

    let fire = |name: String| {
        let url = url.clone();
        async move {
            let fired = fire_schedule(&url, &name).await;
            for result in fired["results"].as_array().unwrap() {
                assert_eq!(result["ok"], true, "schedule {name}: {result}");
            }
        }
    };

    // The expiry job first, alone: what it expired is published by the job itself, before any sweep.
    fire("order-expiry".into()).await;
    let status: String =
        s.db.client()
            .await
            .query_one("SELECT status::text FROM orders WHERE id = $1::text::uuid", &[&id])
            .await
            .unwrap()
            .get(0);
    assert_eq!(status, "expired");
    assert_eq!(unpublished(&s.db).await, 0, "the expiry job published its events");
    let notifications = queued(&s.env, "notifications").await;
    assert!(
        notifications
            .iter()
            .any(|m| m["event_type"] == "order.expired" && m["aggregate_id"] == id.as_str()),
        "{notifications:?}"
    );

    let manifest = Manifest::load_workspace().unwrap();
    for rule in manifest
        .schedules
        .iter()
        .filter(|r| r.name != "warmup" && r.name != "order-expiry")
    {
        fire(rule.name.clone()).await;
    }
    for worker in manifest
        .functions
        .iter()
        .filter(|f| f.kind == xtask::manifest::Kind::Sqs)
    {
        let answer = s
            .runtime
            .invoke(&worker.name, serde_json::json!({ "Records": [] }), None)
            .await
            .unwrap();
        let response = answer.response.unwrap_or_else(|e| panic!("{}: {e:?}", worker.name));
        assert_eq!(response["batchItemFailures"], serde_json::json!([]), "{}", worker.name);
    }
}

/// The whole chain after a commit, every link as its own principal: the writers publish their events right after
/// their commits, the event-source mappings (the gateway's pollers, signing as each worker, as Lambda does with the
/// function's role) hand them to the workers, and each worker finishes the work: the paid order reaches the ERP,
/// the notification blast is sent, the agent job succeeds and the profit export is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_orders_blasts_agent_jobs_and_exports_flow_through_their_queues_to_done() {
    let (s, erp) = stack_with_erp(true).await;
    // October's profit report, for the export to write.
    s.db.client()
        .await
        .batch_execute(
            "INSERT INTO profit_reports (month, partner_id, orders, revenue, cost_of_goods, gross_margin, returns,
                                         dpp, ppn)
             SELECT '2026-10-01', id, 3, 1200000, 700000, 500000, 0, 1100000, 132000 FROM partners",
        )
        .await
        .unwrap();
    let url = s.gateway.url();
    let http = reqwest::Client::new();
    let partner = xtask::smoke::login(&http, &url, "p-00001", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let admin = xtask::smoke::login(&http, &url, "admin", store::seed::DEV_PASSWORD)
        .await
        .unwrap();
    let agent = xtask::smoke::agent_login(&http, &url).await.unwrap();
    let post = |path: &str, token: &str, body: Value, key: &str| {
        http.post(format!("{url}{path}"))
            .bearer_auth(token)
            .header("idempotency-key", key.to_string())
            .json(&body)
            .send()
    };

    let placed = post(
        "/orders",
        &partner,
        serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 12 }] }),
        "e2e-chain-order",
    )
    .await
    .unwrap();
    assert_eq!(placed.status(), 201);
    let order: Value = placed.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_string();
    let amount = format!("{}.00", order["total_incl_tax"]);
    let signature = orders::payment::signature(&id, "200", &amount, &kernel::SecretString::new("SB-Mid-server-e2e"));
    let paid = http
        .post(format!("{url}/payments/callback"))
        .json(&serde_json::json!({
            "order_id": id, "status_code": "200", "gross_amount": amount, "signature_key": signature,
            "transaction_id": "e2e-chain-tx", "transaction_status": "settlement", "fraud_status": "accept",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    for (what, request) in [
        (
            "blast",
            post(
                "/admin/notification-blasts",
                &admin,
                serde_json::json!({ "subject": "Promo", "body": "Diskon akhir tahun" }),
                "e2e-chain-blast",
            ),
        ),
        (
            "agent job",
            post(
                "/agent-jobs",
                &agent,
                serde_json::json!({ "type": "generate_product_seo", "skus": ["SHM-00001"] }),
                "e2e-chain-job",
            ),
        ),
        (
            "export",
            post(
                "/reports/profit-exports",
                &admin,
                serde_json::json!({ "month": "2026-10" }),
                "e2e-chain-export",
            ),
        ),
    ] {
        let r = request.await.unwrap();
        let status = r.status().as_u16();
        assert!(
            (200..300).contains(&status),
            "{what}: {status} {}",
            r.text().await.unwrap()
        );
    }
    assert_eq!(unpublished(&s.db).await, 0, "every writer published its events itself");

    let client = s.db.client().await;
    let done = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, bool>(0) }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let state = [
            ("the ERP received the paid order", erp.received_count(true) == 1),
            (
                "the blast was sent",
                done("SELECT count(*) = 1 FROM notification_blasts WHERE status = 'done'").await,
            ),
            (
                "the agent job succeeded",
                done("SELECT count(*) = 1 FROM agent_jobs WHERE status = 'succeeded'").await,
            ),
            (
                "the export was written",
                done("SELECT count(*) = 1 FROM exports WHERE status = 'done'").await,
            ),
        ];
        if state.iter().all(|(_, ok)| *ok) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not done after 30 s: {:?}\n{}",
            state
                .iter()
                .filter(|(_, ok)| !ok)
                .map(|(what, _)| what)
                .collect::<Vec<_>>(),
            [
                "erp-sync-worker",
                "notifications-worker",
                "agent-jobs-worker",
                "export-worker"
            ]
            .map(|w| format!("--- {w}:\n{}", s.logs.read(&format!("{w}.log"))))
            .join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
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
    // Agents' calls count against the rate-limit table of the stack's environment.
    let s = stack().await;
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
