//! `cargo xtask faults [--short]`: scripted fault scenarios against the real functions, each bounded in time and
//! each ending in an invariant check (seed 002 §4.5: what must hold when a dependency fails under load).
//!
//! Every scenario runs the same load: partners placing orders through the local gateway (real HTTP, the API
//! Gateway v2 event, the orders-api binary under the local Lambda runtime), each order with its own
//! `Idempotency-Key`, retried with the same key when the answer is 503 or 429, after `Retry-After`. While the load
//! runs, the scenario breaks something:
//!
//! - `pg-connections-killed`: every second, `pg_terminate_backend` on every connection to the database;
//! - `pg-restarted`: PostgreSQL stopped (fast shutdown) a third of the way in and started again 2 s later;
//! - `function-killed`: every second, every orders-api instance SIGKILLed, mid-request or idle. The gateway answers
//!   an invocation that died with 500 `{"message":"Internal Server Error"}`, as API Gateway does; clients retry
//!   those with the same key, so the check is that retries place no order twice;
//! - `emulator-unreachable`: the AWS emulator frozen (SIGSTOP: connections open, nothing answers) for 6 s a third
//!   of the way in. Checkout needs only PostgreSQL; its after-commit publish to SQS gives up after
//!   `platform::outbox::FAST_PATH_BUDGET` and leaves the event to the outbox sweeper, so orders keep being placed,
//!   and an answer slower than that budget plus 2 s is a violation.
//!
//! Then the fault stops and a fresh order must go through within 15 s (the pools recover by themselves), and the
//! database is checked: every key answered 2xx has exactly its one order; no order exists without its key, its
//! lines and its `order.placed` outbox event (no partial write); the stock reserved grew by exactly the quantity
//! ordered and is never over `on_hand - buffer`. Any answer other than 2xx, 409/422, or 503/429 carrying
//! `Retry-After` is a violation, as is a transport error from the gateway (and, outside `function-killed`, the
//! gateway's 500).
//!
//! After the scenarios, every log line the functions wrote during the run is searched for secrets: the JWT signing
//! key, the payment server key, a bearer token or anything shaped like a JWT, and digit runs that pass the Luhn check
//! as card numbers do. One hit fails the run.
//!
//! The table goes to stdout and `target/bench/faults.md`. `--short` (CI) runs each scenario for 6 s instead of 20.

use crate::bench::BenchEnv;
use crate::checkout_bench::{self, HOT_SKU, HOT_WAREHOUSE};
use crate::localrt::{HttpInvoker, LocalRuntime};
use crate::manifest::Manifest;
use crate::services::{self, step, Postgres};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent clients (and orders-api instances).
const CLIENTS: usize = 8;
/// Attempts per order before a client gives up on it (a given-up order may exist or not, but never in part).
const ATTEMPTS: usize = 12;
/// A retry waits `Retry-After`, capped here so a bounded run keeps its pace.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);
/// How long the emulator stays frozen in `emulator-unreachable`.
const FREEZE: Duration = Duration::from_secs(6);
/// The slowest answer allowed while the emulator is frozen: the fast path's budget, plus room for the checkout.
const EMULATOR_PATIENCE: Duration = Duration::from_secs(platform::outbox::FAST_PATH_BUDGET.as_secs() + 2);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    PgConnectionsKilled,
    PgRestarted,
    FunctionKilled,
    EmulatorUnreachable,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::PgConnectionsKilled => "pg-connections-killed",
            Scenario::PgRestarted => "pg-restarted",
            Scenario::FunctionKilled => "function-killed",
            Scenario::EmulatorUnreachable => "emulator-unreachable",
        }
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    attempts: AtomicU64,
    placed: AtomicU64,
    refused: AtomicU64,
    retried: AtomicU64,
    crashed: AtomicU64,
    gave_up: AtomicU64,
    slowest_ms: AtomicU64,
    violations: std::sync::Mutex<Vec<String>>,
    /// key => order id, for every key answered 2xx.
    answered: std::sync::Mutex<BTreeMap<String, String>>,
}

impl Tally {
    fn violation(&self, v: String) {
        let mut all = self.violations.lock().unwrap();
        if all.len() < 20 {
            all.push(v);
        }
    }
}

struct Outcome {
    scenario: Scenario,
    seconds: u64,
    faults: u64,
    attempts: u64,
    placed: u64,
    refused: u64,
    retried: u64,
    crashed: u64,
    gave_up: u64,
    slowest: Duration,
    violations: Vec<String>,
    recovered_after: Option<Duration>,
    invariants: Result<String, String>,
}

pub async fn run(args: &[String]) -> Result<()> {
    let short = args.iter().any(|a| a == "--short");
    if let Some(a) = args.iter().find(|a| *a != "--short") {
        bail!("unknown argument `{a}`\n\ncargo xtask faults [--short]");
    }
    let seconds = if short { 6 } else { 20 };
    let manifest = Manifest::load_workspace()?;
    // The same build as `cargo xtask up` (debug, every binary), so the two share one set of artefacts; faults
    // measure behaviour, not speed.
    step("building the functions (cargo build --workspace --bins)");
    services::run_visible(
        services::cargo().args(["build", "--quiet", "--workspace", "--bins"]),
        "cargo build",
    )?;
    let env = BenchEnv::start().await?;
    create_queues(&env, &manifest).await?;
    let mut outcomes = Vec::new();
    for scenario in [
        Scenario::PgConnectionsKilled,
        Scenario::PgRestarted,
        Scenario::FunctionKilled,
        Scenario::EmulatorUnreachable,
    ] {
        step(format!("{}: {CLIENTS} clients for {seconds} s", scenario.name()));
        let outcome = run_scenario(&env, &manifest, scenario, seconds).await?;
        outcomes.push(outcome);
    }
    let leaks = scan_logs(
        &services::state_dir().join("logs/faults"),
        &[&env.jwt_key, crate::bench::BENCH_PAYMENTS_KEY],
    )?;
    let mut table = render(&outcomes);
    table.push_str(&match leaks.as_slice() {
        [] => "\nLogs of the run searched for secrets (signing key, payment key, bearer tokens, JWTs, card numbers): none found.\n".to_string(),
        found => format!("\nLogs of the run searched for secrets: FOUND {}:\n{}\n", found.len(), found.join("\n")),
    });
    println!("\n{table}");
    let out = crate::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("faults.md"), &table)?;
    step(format!("wrote {}", out.join("faults.md").display()));
    env.stop()?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty() || o.invariants.is_err() || o.recovered_after.is_none())
        .map(|o| o.scenario.name())
        .collect();
    if !leaks.is_empty() {
        bail!("secrets in the function logs:\n{}", leaks.join("\n"));
    }
    if !failed.is_empty() {
        for o in &outcomes {
            for v in &o.violations {
                eprintln!("{}: {v}", o.scenario.name());
            }
            if let Err(e) = &o.invariants {
                eprintln!("{}: invariants: {e}", o.scenario.name());
            }
        }
        bail!("fault scenarios failed: {}", failed.join(", "));
    }
    Ok(())
}

async fn run_scenario(env: &BenchEnv, manifest: &Manifest, scenario: Scenario, seconds: u64) -> Result<Outcome> {
    let url = env.settings.database_url.clone();
    checkout_bench::prepare(&url).await?;
    let tokens = checkout_bench::partner_tokens(env).await?;
    let before = reserved(&url).await?;
    let run_started = chrono::Utc::now();

    let log_dir = services::state_dir().join("logs/faults").join(scenario.name());
    let runtime = Arc::new(checkout_bench::start_orders_api(env, manifest, "debug", CLIENTS, &[], log_dir).await?);
    let invoker = Arc::new(HttpInvoker::new(runtime.invoke_url()));
    let gateway = crate::gateway::Gateway::start(
        ([127, 0, 0, 1], 0).into(),
        manifest.clone(),
        invoker,
        None,
        crate::LOCAL_ENV.into(),
    )
    .await?;
    let base = gateway.url();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let run = uuid::Uuid::new_v4().simple().to_string();

    // Warm every instance before the fault, so the figures are about the fault, not cold starts.
    let warm = (0..CLIENTS).map(|c| {
        let (http, base, token, key) = (
            http.clone(),
            base.clone(),
            tokens[c % tokens.len()].clone(),
            format!("fault-{run}-warm-{c}"),
        );
        tokio::spawn(async move { post_order(&http, &base, &token, &key).await })
    });
    futures::future::join_all(warm).await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, tally, run) = (http.clone(), base.clone(), tally.clone(), run.clone());
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let token = &tokens[(c * 7 + n) % tokens.len()];
                    let key = format!("fault-{run}-{c}-{n}");
                    order_with_retries(&http, &base, token, &key, &tally, scenario).await;
                    n += 1;
                }
            })
        })
        .collect();

    let faults = Arc::new(AtomicU64::new(0));
    let fault = {
        let (stop, faults, url, runtime) = (stop.clone(), faults.clone(), url.clone(), runtime.clone());
        let (pg_port, moto_pid) = (env.pg.port, env.moto.pid());
        tokio::spawn(async move {
            let targets = Targets {
                database_url: &url,
                pg_port,
                moto_pid,
                runtime: &runtime,
            };
            inject(scenario, targets, seconds, &stop, &faults).await
        })
    };
    futures::future::join_all(clients).await;
    stop.store(true, Ordering::SeqCst);
    fault.await.context("the fault task")??;

    // The pools must heal by themselves: a fresh order goes through within the limit.
    let healing = Instant::now();
    let mut recovered_after = None;
    while healing.elapsed() < RECOVERY_LIMIT {
        let key = format!("fault-{run}-recovery-{}", healing.elapsed().as_millis());
        if let Ok((status, _, _)) = post_order(&http, &base, &tokens[0], &key).await {
            if status == 201 {
                recovered_after = Some(healing.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    gateway.shutdown().await;
    match Arc::try_unwrap(runtime) {
        Ok(mut runtime) => runtime.shutdown().await,
        Err(_) => bail!("the local runtime is still shared after the run"),
    }

    let answered = tally.answered.lock().unwrap().clone();
    let invariants = check(&url, &run, run_started, &before, &answered)
        .await
        .map_err(|e| format!("{e:#}"));
    let violations = tally.violations.lock().unwrap().clone();
    Ok(Outcome {
        scenario,
        seconds,
        faults: faults.load(Ordering::SeqCst),
        attempts: tally.attempts.load(Ordering::SeqCst),
        placed: tally.placed.load(Ordering::SeqCst),
        refused: tally.refused.load(Ordering::SeqCst),
        retried: tally.retried.load(Ordering::SeqCst),
        crashed: tally.crashed.load(Ordering::SeqCst),
        gave_up: tally.gave_up.load(Ordering::SeqCst),
        slowest: Duration::from_millis(tally.slowest_ms.load(Ordering::SeqCst)),
        violations,
        recovered_after,
        invariants,
    })
}

/// What a scenario can break.
struct Targets<'a> {
    database_url: &'a str,
    pg_port: u16,
    moto_pid: u32,
    runtime: &'a LocalRuntime,
}

/// The manifest's queues on the environment's moto, as terraform/persistence would create them, so orders-api
/// publishes its events after commit (the fast path) as it does when deployed.
async fn create_queues(env: &BenchEnv, manifest: &Manifest) -> Result<()> {
    let conf = env.moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    for q in &manifest.queues {
        let mut create = sqs
            .create_queue()
            .queue_name(crate::queue_physical_name(crate::LOCAL_ENV, &q.name, q.fifo));
        if q.fifo {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        create
            .send()
            .await
            .with_context(|| format!("creating queue {}", q.name))?;
    }
    Ok(())
}

/// Breaks what the scenario says until `stop`, counting each blow.
async fn inject(
    scenario: Scenario,
    targets: Targets<'_>,
    seconds: u64,
    stop: &AtomicBool,
    faults: &AtomicU64,
) -> Result<()> {
    let Targets {
        database_url: url,
        pg_port,
        moto_pid,
        runtime,
    } = targets;
    let admin = url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/postgres"))
        .context("database url")?;
    let database = url.rsplit('/').next().unwrap_or_default().to_string();
    match scenario {
        Scenario::PgConnectionsKilled => {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Ok((c, conn)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let killed: i64 = c
                        .query_one(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                             WHERE datname = $1 AND pid <> pg_backend_pid()",
                            &[&database],
                        )
                        .await?
                        .get(0);
                    faults.fetch_add(killed as u64, Ordering::SeqCst);
                }
            }
        }
        Scenario::PgRestarted => {
            tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
            let pg = Postgres::locate(pg_port)?;
            tokio::task::spawn_blocking(move || -> Result<()> {
                pg.stop()?;
                std::thread::sleep(Duration::from_secs(2));
                Postgres::start(pg_port)?;
                Ok(())
            })
            .await??;
            faults.fetch_add(1, Ordering::SeqCst);
        }
        Scenario::FunctionKilled => {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let killed = runtime
                    .kill_instances(crate::checkout_bench::FUNCTION)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                faults.fetch_add(killed as u64, Ordering::SeqCst);
            }
        }
        Scenario::EmulatorUnreachable => {
            tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
            let signal = |sig: &str| {
                services::run(
                    std::process::Command::new("kill").args([sig, &moto_pid.to_string()]),
                    &format!("kill {sig} (the emulator)"),
                )
            };
            signal("-STOP")?;
            faults.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(FREEZE).await;
            signal("-CONT")?;
        }
    }
    Ok(())
}

/// One order: POST until an answer that settles it, with the same key, honouring `Retry-After`.
async fn order_with_retries(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    tally: &Tally,
    scenario: Scenario,
) {
    for attempt in 0..ATTEMPTS {
        tally.attempts.fetch_add(1, Ordering::SeqCst);
        let asked = Instant::now();
        let answer = post_order(http, base, token, key).await;
        let took = asked.elapsed();
        tally.slowest_ms.fetch_max(took.as_millis() as u64, Ordering::SeqCst);
        if scenario == Scenario::EmulatorUnreachable && took > EMULATOR_PATIENCE {
            tally.violation(format!(
                "{key}: answered after {took:?}, waiting on the frozen emulator"
            ));
        }
        match answer {
            Ok((200 | 201, _, body)) => {
                tally.placed.fetch_add(1, Ordering::SeqCst);
                match serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_string))
                {
                    Some(id) => {
                        tally.answered.lock().unwrap().insert(key.to_string(), id);
                    }
                    None => tally.violation(format!("{key}: a 2xx without an order id: {body}")),
                }
                return;
            }
            Ok((409 | 422, _, _)) => {
                tally.refused.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok((status @ (503 | 429), retry_after, body)) => {
                let Some(wait) = retry_after else {
                    tally.violation(format!("{key}: {status} without Retry-After: {body}"));
                    return;
                };
                if attempt + 1 < ATTEMPTS {
                    tally.retried.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_secs(wait).min(MAX_BACKOFF)).await;
            }
            // The gateway's own answer for an invocation that died: expected only while instances are killed.
            Ok((500, _, body))
                if scenario == Scenario::FunctionKilled && body == r#"{"message":"Internal Server Error"}"# =>
            {
                tally.crashed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok((status, _, body)) => {
                tally.violation(format!("{key}: answered {status}: {body}"));
                return;
            }
            Err(e) => {
                tally.violation(format!("{key}: no answer from the gateway: {e:#}"));
                return;
            }
        }
    }
    tally.gave_up.fetch_add(1, Ordering::SeqCst);
}

/// `(status, Retry-After seconds, body)` of one POST /orders for one unit of the hot SKU.
async fn post_order(http: &reqwest::Client, base: &str, token: &str, key: &str) -> Result<(u16, Option<u64>, String)> {
    let resp = http
        .post(format!("{base}/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&serde_json::json!({ "lines": [{ "sku": HOT_SKU, "quantity": 1 }] }))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Ok((status, retry_after, resp.text().await?))
}

async fn reserved(url: &str) -> Result<i64> {
    let c = checkout_bench::connect(url).await?;
    Ok(c.query_one(
        "SELECT reserved::bigint FROM inventory WHERE sku = $1 AND warehouse_code = $2",
        &[&HOT_SKU, &HOT_WAREHOUSE],
    )
    .await?
    .get(0))
}

/// The database after the run, against what the clients were told.
async fn check(
    url: &str,
    run: &str,
    since: chrono::DateTime<chrono::Utc>,
    reserved_before: &i64,
    answered: &BTreeMap<String, String>,
) -> Result<String> {
    let c = checkout_bench::connect(url).await?;
    // The role's default statement timeout is for the functions; these checks scan what the run wrote.
    c.batch_execute("SET statement_timeout = 0").await?;
    let pattern = format!("fault-{run}-%");
    // Every key of this run that exists, with its order.
    let rows = c
        .query(
            "SELECT key, resource_id FROM idempotency_keys WHERE key LIKE $1",
            &[&pattern],
        )
        .await?;
    let stored: BTreeMap<String, Option<String>> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (key, id) in answered {
        match stored.get(key) {
            Some(Some(stored_id)) if stored_id == id => {}
            other => bail!("{key} was answered with order {id}, but its key row holds {other:?}"),
        }
    }
    let orders: i64 = c
        .query_one("SELECT count(*) FROM orders WHERE placed_at >= $1", &[&since])
        .await?
        .get(0);
    if orders != stored.len() as i64 {
        bail!(
            "{orders} orders placed during the run for {} idempotency keys",
            stored.len()
        );
    }
    let distinct: i64 = c
        .query_one(
            "SELECT count(DISTINCT resource_id) FROM idempotency_keys WHERE key LIKE $1",
            &[&pattern],
        )
        .await?
        .get(0);
    if distinct != stored.len() as i64 {
        bail!("{} keys share {distinct} orders", stored.len());
    }
    let partial: i64 = c
        .query_one(
            "WITH placed AS (
                 SELECT aggregate_id, count(*) AS n FROM outbox
                  WHERE event_type = 'order.placed' AND created_at >= $1 GROUP BY aggregate_id)
             SELECT count(*) FROM orders o LEFT JOIN placed e ON e.aggregate_id = o.id::text
              WHERE o.placed_at >= $1 AND (coalesce(e.n, 0) <> 1 OR NOT EXISTS (
                    SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.placed_at = o.placed_at))",
            &[&since],
        )
        .await?
        .get(0);
    if partial > 0 {
        bail!("{partial} orders lack their lines or their one order.placed event");
    }
    let ordered: i64 = c
        .query_one(
            "SELECT coalesce(sum(quantity), 0)::bigint FROM order_lines WHERE placed_at >= $1 AND sku = $2",
            &[&since, &HOT_SKU],
        )
        .await?
        .get(0);
    let now = reserved(url).await?;
    if now - reserved_before != ordered {
        bail!(
            "reserved stock grew by {} but the orders hold {ordered} units",
            now - reserved_before
        );
    }
    checkout_bench::check_not_over_reserved(&c).await?;
    Ok(format!(
        "held: {} orders, each with its key, lines and event; {ordered} units reserved",
        stored.len()
    ))
}

fn render(outcomes: &[Outcome]) -> String {
    let mut t = String::from(
        "| scenario | load | faults injected | attempts | placed | refused (409/422) | retried after 503/429 + Retry-After | retried after a crash | gave up | slowest answer | violations | recovered after | invariants |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        t.push_str(&format!(
            "| {} | {CLIENTS} clients × {} s | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} | {} | {} |\n",
            o.scenario.name(),
            o.seconds,
            match o.scenario {
                Scenario::PgConnectionsKilled => format!("{} connections killed", o.faults),
                Scenario::PgRestarted => format!("{} restart", o.faults),
                Scenario::FunctionKilled => format!("{} instances killed", o.faults),
                Scenario::EmulatorUnreachable => format!("{} freeze of {} s", o.faults, FREEZE.as_secs()),
            },
            o.attempts,
            o.placed,
            o.refused,
            o.retried,
            o.crashed,
            o.gave_up,
            o.slowest.as_secs_f64(),
            o.violations.len(),
            o.recovered_after
                .map_or("not within 15 s".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
            match &o.invariants {
                Ok(s) => s.clone(),
                Err(e) => format!("FAILED: {e}"),
            },
        ));
    }
    t
}

/// Every log line in the files under `dir` (and its folders) that holds one of the `secrets`, a bearer token,
/// something shaped like a JWT, or a card number (15 to 19 digits passing the Luhn check), as `file:line: what`.
/// Fails when there is no file to search, so a run that logged nowhere cannot pass for a clean one.
pub(crate) fn scan_logs(dir: &std::path::Path, secrets: &[&str]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut files = 0;
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("reading {}", folder.display()))?
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path)?;
            for (n, line) in text.lines().enumerate() {
                if let Some(what) = leak(line, secrets) {
                    found.push(format!("{}:{}: {what}", path.display(), n + 1));
                }
            }
        }
    }
    if files == 0 {
        bail!("no function logs under {}: nothing was searched", dir.display());
    }
    Ok(found)
}

/// What secret `line` holds, if any.
fn leak(line: &str, secrets: &[&str]) -> Option<&'static str> {
    if secrets.iter().any(|s| !s.is_empty() && line.contains(s)) {
        return Some("a configured secret");
    }
    if line.to_ascii_lowercase().contains("bearer ey") {
        return Some("a bearer token");
    }
    // A JWT: base64url("{\"...") then two more dot-separated base64url parts.
    for (i, _) in line.match_indices("eyJ") {
        let parts: Vec<&str> = line[i..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .next()
            .unwrap_or_default()
            .split('.')
            .collect();
        if parts.len() >= 3 && parts[..3].iter().all(|p| p.len() >= 8) {
            return Some("a JWT");
        }
    }
    // Digit runs of card length standing alone: not the fraction of a decimal number (a float metric's long tail)
    // and not inside a hex or alphanumeric id (a trace id).
    let bytes = line.as_bytes();
    let mut start = None;
    for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let before = (s > 0).then(|| bytes[s - 1]);
                let after = bytes.get(i).copied();
                let embedded = before.is_some_and(|c| c == b'.' || c.is_ascii_alphanumeric())
                    || after.is_some_and(|c| c.is_ascii_alphanumeric());
                if !embedded && (15..=19).contains(&(i - s)) && luhn(&line[s..i]) {
                    return Some("a card number");
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::{leak, scan_logs};

    #[test]
    fn the_log_scan_reads_every_file_under_its_folder_and_refuses_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("niaga-scan-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("scenario")).unwrap();
        assert!(scan_logs(&dir, &[]).is_err(), "no file searched must not pass");
        std::fs::write(dir.join("orders-api.log"), "{\"message\":\"order placed\"}\n").unwrap();
        std::fs::write(
            dir.join("scenario/auth-api.log"),
            "{\"message\":\"ok\"}\n{\"key\":\"k3y-0f-th3-t3st-that-is-long-enough\"}\n",
        )
        .unwrap();
        let found = scan_logs(&dir, &["k3y-0f-th3-t3st-that-is-long-enough"]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].ends_with("scenario/auth-api.log:2: a configured secret"),
            "{found:?}"
        );
    }

    #[test]
    fn the_log_scan_finds_what_it_looks_for_and_passes_ordinary_lines() {
        let secrets = ["k3y-0f-th3-t3st-that-is-long-enough"];
        for (line, what) in [
            (
                r#"{"message":"login","key":"k3y-0f-th3-t3st-that-is-long-enough"}"#,
                "a configured secret",
            ),
            (r#"{"authorization":"Bearer eyJhbGciOi"}"#, "a bearer token"),
            (
                r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwIn0.c2lnbmF0dXJlXzEyMw"}"#,
                "a JWT",
            ),
            (r#"{"card":"4111111111111111"}"#, "a card number"),
        ] {
            assert_eq!(leak(line, &secrets), Some(what), "{line}");
        }
        for line in [
            r#"{"timestamp":"2026-11-28T07:50:31.089288Z","level":"INFO","message":"order placed","order":"0b7c8f0e-2f0e-4a51-9a4e-3c1d2b9a7f10"}"#,
            r#"{"_aws":{"Timestamp":1764316231089},"latency":3.2}"#,
            r#"{"card":"4111111111111112"}"#,
            r#"{"lead_routing_latency_ms":0.10035999999999999}"#,
            r#"{"trace_id":"1-6b0a8a96-7c95125444274965961dec98"}"#,
        ] {
            assert_eq!(leak(line, &secrets), None, "{line}");
        }
    }
}
