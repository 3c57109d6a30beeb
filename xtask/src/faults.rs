//! `cargo xtask faults [--short] [--only <scenario>]`: scripted fault scenarios against the real functions, each bounded in time and
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
//!   and an answer slower than that budget plus 2 s is a violation. Beside checkout, catalogue readers
//!   (`GET /products/{sku}`, `GET /products?q=`) and a login client (`POST /auth/token`) run through catalog-api and
//!   auth-api, whose rate limits and shared settings live in DynamoDB on the frozen emulator. Their limits fail
//!   open (`niaga_aws::ratelimit`) and settings fall back to PostgreSQL, so each must still answer 200, within its
//!   own time before the freeze plus the request-path budget (`niaga_aws::timeouts::Budget::ON_REQUEST_PATH`) for
//!   each DynamoDB client it waits on, plus 1 s; a slower answer, or any other status, is a violation.
//! - `erp-outage` and `erp-slow`: the backbone behind checkout runs as deployed, and the legacy ERP misbehaves.
//!   Besides ordering, each client pays one order in [`PAY_EVERY`] with a signed settlement notification to
//!   `POST /payments/callback` (payments-api), so paid orders flow through the outbox to the `erp-sync` FIFO
//!   queue, the gateway's SQS poller (the event-source mapping, on for these two only) into erp-sync-worker (its
//!   reserved concurrency, its default 5 s ERP client timeout, its breaker in DynamoDB on moto), and into a fake
//!   ERP started in-process; notifications-worker drains the notifications queue and outbox-relay is fired for
//!   whatever the fast path missed. `erp-outage`: the ERP answers 503 to everything from a sixth of the way in
//!   until two thirds. `erp-slow`: from a sixth of the way in its replies are held 6 s, longer than the worker
//!   waits (the ERP takes the order; the worker sees a timeout, and its retry is a repeat the ERP answers from its
//!   idempotency), from half-way 2 s, and for the last sixth nothing. The breaker keeps its shipped settings
//!   (`system_config`: 5 failures, 30 s cool-down), so an outage costs at least the cool-down. Checkout never
//!   calls the ERP, so no order or payment may be answered slower than the emulator scenario's patience, and once
//!   the load stops (the ERP healthy again) every paid order must reach the ERP within [`ERP_CATCH_UP_LIMIT`]:
//!   each taken by the ERP as new exactly once under its id (repeats it recognised are counted, not failures),
//!   nothing taken that was not paid, each order marked `sent_to_erp` with the ERP's number, no event of the run
//!   left in the outbox, and the `erp-sync` queue and every dead-letter queue empty.
//!
//! Then the fault stops and a fresh order must go through within 15 s (the pools recover by themselves), and the
//! database is checked: every key answered 2xx has exactly its one order; no order exists without its key, its
//! lines and its `order.placed` outbox event (no partial write); the stock reserved grew by exactly the quantity
//! ordered and is never over `on_hand - buffer`. Any answer other than 2xx, 409/422, or 503/429 carrying
//! `Retry-After` is a violation, as is a transport error from the gateway (and, outside `function-killed`, the
//! gateway's 500).
//!
//! After the scenarios, every log line the functions wrote during the run is searched for AWS calls IAM refused
//! (none may be, even where a fallback carried on) and for secrets: the JWT signing
//! key, the payment server key, a bearer token or anything shaped like a JWT, and digit runs that pass the Luhn check
//! as card numbers do. One hit fails the run.
//!
//! The table goes to stdout and `target/bench/faults.md`. `--short` (CI) runs each scenario for 6 s instead of 20;
//! `--only <scenario>` runs one.

use crate::bench::BenchEnv;
use crate::checkout_bench::{self, HOT_SKU, HOT_WAREHOUSE};
use crate::localrt::{HttpInvoker, LocalRuntime, RuntimeOptions};
use crate::manifest::Manifest;
use crate::services::{self, step, Postgres};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
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
/// The slowest answer allowed while the emulator is frozen or the ERP is down or slow: the fast path's budget, plus
/// room for the checkout.
const PATIENCE: Duration = Duration::from_secs(platform::outbox::FAST_PATH_BUDGET.as_secs() + 2);
/// In the ERP scenarios each client pays one order in this many, as soon as it is placed.
const PAY_EVERY: usize = 3;
/// erp-sync-worker's ERP client timeout (`NIAGA_ERP_TIMEOUT_MS`, its default) and the slow replies either side of it.
const ERP_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
const ERP_SLOW_ABOVE: Duration = Duration::from_secs(6);
const ERP_SLOW_BELOW: Duration = Duration::from_secs(2);
/// How long, once the ERP is healthy and the load has stopped, every paid order has to reach it.
const ERP_CATCH_UP_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    PgConnectionsKilled,
    PgRestarted,
    FunctionKilled,
    EmulatorUnreachable,
    ErpOutage,
    ErpSlow,
}

impl Scenario {
    const ALL: [Scenario; 6] = [
        Scenario::PgConnectionsKilled,
        Scenario::PgRestarted,
        Scenario::FunctionKilled,
        Scenario::EmulatorUnreachable,
        Scenario::ErpOutage,
        Scenario::ErpSlow,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::PgConnectionsKilled => "pg-connections-killed",
            Scenario::PgRestarted => "pg-restarted",
            Scenario::FunctionKilled => "function-killed",
            Scenario::EmulatorUnreachable => "emulator-unreachable",
            Scenario::ErpOutage => "erp-outage",
            Scenario::ErpSlow => "erp-slow",
        }
    }

    /// The ERP scenarios pay orders and run the backbone behind them: the gateway polls the queues into the
    /// workers, and erp-sync-worker sends to a fake ERP.
    fn erp(self) -> bool {
        matches!(self, Scenario::ErpOutage | Scenario::ErpSlow)
    }

    /// The slowest answer a client accepts, when the scenario bounds it: checkout must not wait on what is broken.
    fn patience(self) -> Option<Duration> {
        match self {
            Scenario::EmulatorUnreachable | Scenario::ErpOutage | Scenario::ErpSlow => Some(PATIENCE),
            _ => None,
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
    /// Orders whose settlement notification was answered 200 (the ERP scenarios).
    paid: std::sync::Mutex<BTreeSet<String>>,
}

impl Tally {
    fn violation(&self, v: String) {
        let mut all = self.violations.lock().unwrap();
        if all.len() < 20 {
            all.push(v);
        }
    }

    /// Counts one answer's time, and a violation when the scenario bounds it and it took longer.
    fn timed(&self, what: &str, took: Duration, scenario: Scenario) {
        self.slowest_ms.fetch_max(took.as_millis() as u64, Ordering::SeqCst);
        if let Some(patience) = scenario.patience() {
            if took > patience {
                self.violation(format!(
                    "{what}: answered after {took:?}, longer than {patience:?} ({} is broken)",
                    if scenario.erp() { "the ERP" } else { "the emulator" }
                ));
            }
        }
    }
}

/// What became of the paid orders in an ERP scenario.
struct ErpOutcome {
    paid: usize,
    /// From the end of the load (the ERP healthy again) until every paid order was in the ERP and marked sent.
    caught_up_after: Option<Duration>,
    /// Calls the ERP failed (503 while down, 500) and repeats it answered from its idempotency (`SUDAH_ADA`).
    failed_calls: usize,
    repeats: usize,
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
    erp: Option<ErpOutcome>,
    /// Catalogue reads and logins beside checkout (`emulator-unreachable`).
    side: Option<String>,
    invariants: Result<String, String>,
}

impl Outcome {
    fn failed(&self) -> bool {
        !self.violations.is_empty()
            || self.invariants.is_err()
            || self.recovered_after.is_none()
            || self.erp.as_ref().is_some_and(|e| e.caught_up_after.is_none())
    }
}

const USAGE: &str = "cargo xtask faults [--short] [--only <scenario>]";

pub async fn run(args: &[String]) -> Result<()> {
    let short = args.iter().any(|a| a == "--short");
    let mut only = None;
    let mut rest = args.iter().filter(|a| *a != "--short");
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--only" => {
                let name = rest
                    .next()
                    .with_context(|| format!("--only takes a scenario\n\n{USAGE}"))?;
                let scenario = Scenario::ALL.into_iter().find(|s| s.name() == name).with_context(|| {
                    let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                    format!("no scenario `{name}`; there are {}", names.join(", "))
                })?;
                only = Some(scenario);
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    let seconds = if short { 6 } else { 20 };
    let manifest = Manifest::load_workspace()?;
    // The same build as `cargo xtask up` (debug, every binary), so the two share one set of artefacts; faults
    // measure behaviour, not speed.
    step("building the functions (cargo build --workspace --bins)");
    services::run_visible(
        services::cargo().args(["build", "--workspace", "--bins"]),
        "cargo build",
    )?;
    let env = BenchEnv::start().await?;
    // As terraform/persistence creates them, so orders-api publishes its events after commit (the fast path) as it
    // does when deployed, and the workers see SQS's redelivery rules.
    crate::provision::queues(&env.moto.sdk_config().await, &manifest, crate::LOCAL_ENV).await?;
    env.create_tables(&manifest).await?;
    let log_root = services::state_dir().join("logs/faults");
    // Only this run's logs are searched for secrets.
    let _ = std::fs::remove_dir_all(&log_root);
    let mut outcomes = Vec::new();
    for scenario in Scenario::ALL.into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
        step(format!("{}: {CLIENTS} clients for {seconds} s", scenario.name()));
        let outcome = run_scenario(&env, &manifest, scenario, seconds).await?;
        outcomes.push(outcome);
    }
    let leaks = scan_logs(&log_root, &[&env.jwt_key, crate::bench::BENCH_PAYMENTS_KEY])?;
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
        .filter(|o| o.failed())
        .map(|o| o.scenario.name())
        .collect();
    if !leaks.is_empty() {
        bail!("secrets in the function logs:\n{}", leaks.join("\n"));
    }
    let refused = refused_calls(&log_root)?;
    if !refused.is_empty() {
        bail!("AWS calls IAM refused, in the function logs:\n{}", refused.join("\n"));
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

/// The functions behind an ERP scenario: the whole path from checkout to the ERP, as deployed.
const ERP_FUNCTIONS: [&str; 5] = [
    "orders-api",
    "payments-api",
    "outbox-relay",
    "erp-sync-worker",
    "notifications-worker",
];

/// The functions behind `emulator-unreachable`: checkout, and the catalogue and login routes whose rate limits
/// live in DynamoDB.
const EMULATOR_FUNCTIONS: [&str; 3] = ["orders-api", "catalog-api", "auth-api"];

/// `names` under one local runtime: orders-api and payments-api with an instance per client, the other HTTP
/// functions with two, the workers at their reserved concurrency, erp-sync-worker pointed at `erp_url`.
async fn start_functions(
    env: &BenchEnv,
    manifest: &Manifest,
    names: &[&str],
    erp_url: Option<&str>,
    log_dir: std::path::PathBuf,
) -> Result<LocalRuntime> {
    let specs = env
        .settings
        .specs(manifest, "debug")
        .into_iter()
        .filter(|s| names.contains(&s.name.as_str()))
        .map(|s| {
            let f = manifest.functions.iter().find(|f| f.name == s.name);
            let instances = match s.name.as_str() {
                "orders-api" | "payments-api" => CLIENTS,
                "catalog-api" | "auth-api" => 2,
                _ => f.and_then(|f| f.reserved_concurrency).unwrap_or(1) as usize,
            };
            let s = s.with_max_instances(instances);
            match erp_url {
                Some(url) => s
                    .with_env("NIAGA_ERP_URL", url)
                    .with_env("NIAGA_ERP_TIMEOUT_MS", ERP_CLIENT_TIMEOUT.as_millis().to_string()),
                None => s,
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&log_dir);
    LocalRuntime::start_with(
        ([127, 0, 0, 1], 0).into(),
        specs,
        RuntimeOptions {
            log_dir: Some(log_dir),
            echo: false,
            ..Default::default()
        },
    )
    .await
}

async fn run_scenario(env: &BenchEnv, manifest: &Manifest, scenario: Scenario, seconds: u64) -> Result<Outcome> {
    let url = env.settings.database_url.clone();
    checkout_bench::prepare(&url).await?;
    let tokens = checkout_bench::partner_tokens(env).await?;
    let before = reserved(&url).await?;
    let run_started = chrono::Utc::now();

    let log_dir = services::state_dir().join("logs/faults").join(scenario.name());
    let erp = match scenario.erp() {
        true => Some(fake_erp::FakeErp::start(([127, 0, 0, 1], 0).into()).await?),
        false => None,
    };
    let runtime = Arc::new(match &erp {
        None if scenario == Scenario::EmulatorUnreachable => {
            start_functions(env, manifest, &EMULATOR_FUNCTIONS, None, log_dir).await?
        }
        None => checkout_bench::start_orders_api(env, manifest, "debug", CLIENTS, &[], log_dir).await?,
        Some(erp) => {
            empty_queues(env, manifest).await?;
            start_functions(env, manifest, &ERP_FUNCTIONS, Some(&erp.url()), log_dir).await?
        }
    });
    let invoker = Arc::new(HttpInvoker::new(runtime.invoke_url()));
    // The ERP scenarios need the event-source mappings: the gateway polls the queues into the workers.
    let aws = match scenario.erp() {
        true => Some(env.moto.sdk_config().await),
        false => None,
    };
    let gateway = crate::gateway::Gateway::start_as(
        ([127, 0, 0, 1], 0).into(),
        manifest.clone(),
        invoker,
        aws,
        crate::LOCAL_ENV.into(),
        &env.settings.principals,
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
    let side = match scenario {
        Scenario::EmulatorUnreachable => Some(SideLoad::measure(&http, &base, &url).await?),
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let side_clients = side.clone().map(|side| side.spawn(&http, &base, deadline, &tally));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, tally, run) = (http.clone(), base.clone(), tally.clone(), run.clone());
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let token = &tokens[(c * 7 + n) % tokens.len()];
                    let key = format!("fault-{run}-{c}-{n}");
                    let placed = order_with_retries(&http, &base, token, &key, &tally, scenario).await;
                    if let (true, Some((id, total))) = (scenario.erp() && n.is_multiple_of(PAY_EVERY), placed) {
                        pay_with_retries(&http, &base, &id, total, &tally, scenario).await;
                    }
                    n += 1;
                }
            })
        })
        .collect();

    let faults = Arc::new(AtomicU64::new(0));
    let fault = {
        let (stop, faults, url, runtime) = (stop.clone(), faults.clone(), url.clone(), runtime.clone());
        let (pg_port, moto_pid) = (env.pg.port, env.moto.pid());
        let erp = erp.as_ref().map(|e| e.switches());
        tokio::spawn(async move {
            let targets = Targets {
                database_url: &url,
                pg_port,
                moto_pid,
                runtime: &runtime,
                erp,
            };
            inject(scenario, targets, seconds, &stop, &faults).await
        })
    };
    futures::future::join_all(clients).await;
    if let Some(side_clients) = side_clients {
        futures::future::join_all(side_clients).await;
    }
    stop.store(true, Ordering::SeqCst);
    fault.await.context("the fault task")??;
    if let Some(erp) = &erp {
        erp.switches().clear();
    }

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

    // The ERP is healthy again: every paid order must reach it, once, within the limit.
    let paid = tally.paid.lock().unwrap().clone();
    let caught_up = match &erp {
        Some(_) => Some(erp_catch_up(env, &base, &http, run_started).await?),
        None => None,
    };

    gateway.shutdown().await;
    match Arc::try_unwrap(runtime) {
        Ok(mut runtime) => runtime.shutdown().await,
        Err(_) => bail!("the local runtime is still shared after the run"),
    }

    let answered = tally.answered.lock().unwrap().clone();
    let mut invariants = check(&url, &run, run_started, &before, &answered)
        .await
        .map_err(|e| format!("{e:#}"));
    let erp_outcome = match &erp {
        None => None,
        Some(erp) => {
            let checked = check_erp(env, manifest, erp, run_started, &paid)
                .await
                .map_err(|e| format!("{e:#}"));
            invariants = match (invariants, checked) {
                (Ok(a), Ok(b)) => Ok(format!("{a}; {b}")),
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            };
            let attempts = erp.attempts();
            Some(ErpOutcome {
                paid: paid.len(),
                caught_up_after: caught_up.flatten(),
                failed_calls: attempts.iter().filter(|a| a.status >= 500).count(),
                repeats: erp.received().iter().filter(|r| !r.new).count(),
            })
        }
    };
    if let Some(erp) = erp {
        erp.stop().await;
    }
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
        erp: erp_outcome,
        side: side.map(|s| s.summary()),
        invariants,
    })
}

/// What a scenario can break.
struct Targets<'a> {
    database_url: &'a str,
    pg_port: u16,
    moto_pid: u32,
    runtime: &'a LocalRuntime,
    erp: Option<fake_erp::SwitchesHandle>,
}

/// The URL of every queue and dead-letter queue, by physical name.
async fn queue_urls(sqs: &aws_sdk_sqs::Client, manifest: &Manifest) -> Result<Vec<(String, String)>> {
    let mut urls = Vec::new();
    for q in &manifest.queues {
        for name in [
            crate::queue_physical_name(crate::LOCAL_ENV, &q.name, q.fifo),
            crate::provision::dlq_physical_name(crate::LOCAL_ENV, q),
        ] {
            let url = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .with_context(|| format!("finding queue {name}"))?
                .queue_url
                .context("a queue URL")?;
            urls.push((name, url));
        }
    }
    Ok(urls)
}

/// Starts an ERP scenario with every queue empty: the earlier scenarios' `order.placed` events are not its load.
async fn empty_queues(env: &BenchEnv, manifest: &Manifest) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(&env.moto.sdk_config().await);
    for (name, url) in queue_urls(&sqs, manifest).await? {
        sqs.purge_queue()
            .queue_url(&url)
            .send()
            .await
            .with_context(|| format!("purging {name}"))?;
    }
    Ok(())
}

/// Messages in a queue, visible or in flight.
async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await?
        .attributes
        .unwrap_or_default();
    Ok([
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
        A::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .filter_map(|a| attrs.get(a).and_then(|v| v.parse::<u64>().ok()))
    .sum())
}

/// Waits (at most [`ERP_CATCH_UP_LIMIT`]) until every order paid since `since` is marked sent to the ERP and the
/// erp-sync queue is empty; fires the outbox sweep first, as its schedule would, for anything the fast path missed.
/// `None` when it did not catch up in time.
async fn erp_catch_up(
    env: &BenchEnv,
    base: &str,
    http: &reqwest::Client,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Duration>> {
    let started = Instant::now();
    let c = crate::localdb::connect(&env.settings.database_url).await?;
    c.batch_execute("SET statement_timeout = 0").await?;
    let sqs = aws_sdk_sqs::Client::new(&env.moto.sdk_config().await);
    let queue = sqs
        .get_queue_url()
        .queue_name(crate::queue_physical_name(crate::LOCAL_ENV, "erp-sync", true))
        .send()
        .await?
        .queue_url
        .context("the erp-sync queue")?;
    let mut swept = None::<Instant>;
    while started.elapsed() < ERP_CATCH_UP_LIMIT {
        let pending: i64 = c
            .query_one(
                "SELECT count(*) FROM outbox WHERE created_at >= $1 AND published_at IS NULL",
                &[&since],
            )
            .await?
            .get(0);
        if pending > 0 && swept.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            let _ = http
                .post(format!("{base}/_niaga/schedules/outbox-sweep/fire"))
                .send()
                .await;
            swept = Some(Instant::now());
        }
        let unsent: i64 = c
            .query_one(
                "SELECT count(*) FROM orders WHERE placed_at >= $1 AND status = 'paid'",
                &[&since],
            )
            .await?
            .get(0);
        if pending == 0 && unsent == 0 && queue_depth(&sqs, &queue).await? == 0 {
            return Ok(Some(started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(None)
}

/// Exactly once, by the ERP's own record: every order paid during the run (by the database, which includes any
/// payment whose answer a client missed) was taken by the ERP once as new, under its id, and nothing else was;
/// each is marked sent with the number the ERP gave it; no event of the run is left in the outbox, and no queue or
/// dead-letter queue holds anything.
async fn check_erp(
    env: &BenchEnv,
    manifest: &Manifest,
    erp: &fake_erp::FakeErp,
    since: chrono::DateTime<chrono::Utc>,
    answered_paid: &BTreeSet<String>,
) -> Result<String> {
    let c = crate::localdb::connect(&env.settings.database_url).await?;
    c.batch_execute("SET statement_timeout = 0").await?;
    let rows = c
        .query(
            "SELECT o.id::text, o.status, o.erp_order_no FROM orders o
              WHERE o.placed_at >= $1 AND EXISTS (
                    SELECT 1 FROM outbox e WHERE e.aggregate_id = o.id::text AND e.event_type = 'order.paid')",
            &[&since],
        )
        .await?;
    let paid: BTreeMap<String, (String, Option<String>)> =
        rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect();
    if let Some(missing) = answered_paid.iter().find(|id| !paid.contains_key(*id)) {
        bail!("order {missing} was answered paid but has no order.paid event");
    }
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for r in erp.received().into_iter().filter(|r| r.new) {
        if let Some(first) = taken.insert(r.no_ref.to_ascii_lowercase(), r.no_pesanan.clone()) {
            bail!("the ERP took {} twice as new ({first}, {})", r.no_ref, r.no_pesanan);
        }
    }
    for (id, (status, erp_no)) in &paid {
        let Some(no) = taken.get(id) else {
            bail!("paid order {id} never reached the ERP (status {status})");
        };
        if status != "sent_to_erp" || erp_no.as_deref() != Some(no.as_str()) {
            bail!("order {id} is {status} with ERP number {erp_no:?}, but the ERP took it as {no}");
        }
    }
    if let Some(extra) = taken.keys().find(|k| !paid.contains_key(*k)) {
        bail!("the ERP took {extra}, which is not an order paid in this run");
    }
    let pending: i64 = c
        .query_one(
            "SELECT count(*) FROM outbox WHERE created_at >= $1 AND published_at IS NULL",
            &[&since],
        )
        .await?
        .get(0);
    if pending > 0 {
        bail!("{pending} outbox events of the run were never published");
    }
    let sqs = aws_sdk_sqs::Client::new(&env.moto.sdk_config().await);
    for (name, url) in queue_urls(&sqs, manifest).await? {
        let depth = queue_depth(&sqs, &url).await?;
        if depth > 0 && (name.contains("-dlq") || name.contains("erp-sync")) {
            bail!("{name} holds {depth} messages after the run");
        }
    }
    Ok(format!(
        "{} paid orders each in the ERP exactly once and marked sent; erp-sync, every DLQ and the outbox empty",
        paid.len()
    ))
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
        erp,
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
                if let Ok(c) = crate::localdb::connect(&admin).await {
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
        // Down from a sixth of the way in until two thirds, then healthy.
        Scenario::ErpOutage => {
            let erp = erp.context("the ERP scenarios have a fake ERP")?;
            let sixth = Duration::from_secs(seconds) / 6;
            tokio::time::sleep(sixth).await;
            erp.set_outage(true);
            faults.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(sixth * 3).await;
            erp.set_outage(false);
        }
        // From a sixth of the way in: slower than the worker waits (the ERP takes the order, the worker sees a
        // timeout), from half-way slow but within it, and healthy for the last sixth.
        Scenario::ErpSlow => {
            let erp = erp.context("the ERP scenarios have a fake ERP")?;
            let sixth = Duration::from_secs(seconds) / 6;
            tokio::time::sleep(sixth).await;
            erp.set_slow(ERP_SLOW_ABOVE);
            faults.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(sixth * 2).await;
            erp.set_slow(ERP_SLOW_BELOW);
            faults.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(sixth * 2).await;
            erp.set_slow(Duration::ZERO);
        }
    }
    Ok(())
}

/// One order: POST until an answer that settles it, with the same key, honouring `Retry-After`. The order's id
/// and total when it was placed.
async fn order_with_retries(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    tally: &Tally,
    scenario: Scenario,
) -> Option<(String, i64)> {
    for attempt in 0..ATTEMPTS {
        tally.attempts.fetch_add(1, Ordering::SeqCst);
        let asked = Instant::now();
        let answer = post_order(http, base, token, key).await;
        tally.timed(key, asked.elapsed(), scenario);
        match answer {
            Ok((200 | 201, _, body)) => {
                tally.placed.fetch_add(1, Ordering::SeqCst);
                let v = serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
                match (v["id"].as_str(), v["total_incl_tax"].as_i64()) {
                    (Some(id), Some(total)) => {
                        tally.answered.lock().unwrap().insert(key.to_string(), id.to_string());
                        return Some((id.to_string(), total));
                    }
                    _ => tally.violation(format!("{key}: a 2xx without an order id and total: {body}")),
                }
                return None;
            }
            Ok((409 | 422, _, _)) => {
                tally.refused.fetch_add(1, Ordering::SeqCst);
                return None;
            }
            Ok((status @ (503 | 429), retry_after, body)) => {
                let Some(wait) = retry_after else {
                    tally.violation(format!("{key}: {status} without Retry-After: {body}"));
                    return None;
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
                return None;
            }
            Err(e) => {
                tally.violation(format!("{key}: no answer from the gateway: {e:#}"));
                return None;
            }
        }
    }
    tally.gave_up.fetch_add(1, Ordering::SeqCst);
    None
}

/// Pays an order as the payment gateway does: a signed settlement notification to `POST /payments/callback`,
/// sent again on 503/429 after `Retry-After` (the gateway retries until it gets a 200). A repeat is a no-op.
async fn pay_with_retries(
    http: &reqwest::Client,
    base: &str,
    order_id: &str,
    total: i64,
    tally: &Tally,
    scenario: Scenario,
) {
    let amount = format!("{total}.00");
    let key = kernel::SecretString::new(crate::bench::BENCH_PAYMENTS_KEY);
    let body = serde_json::json!({
        "order_id": order_id, "status_code": "200", "gross_amount": amount,
        "transaction_id": format!("fault-{order_id}"), "transaction_status": "settlement",
        "fraud_status": "accept", "currency": "IDR",
        "signature_key": orders::payment::signature(order_id, "200", &amount, &key),
    });
    let what = format!("payment of {order_id}");
    for attempt in 0..ATTEMPTS {
        tally.attempts.fetch_add(1, Ordering::SeqCst);
        let asked = Instant::now();
        let answer = http.post(format!("{base}/payments/callback")).json(&body).send().await;
        tally.timed(&what, asked.elapsed(), scenario);
        let answer = match answer {
            Ok(r) => {
                let status = r.status().as_u16();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                (status, retry_after, r.text().await.unwrap_or_default())
            }
            Err(e) => {
                tally.violation(format!("{what}: no answer from the gateway: {e:#}"));
                return;
            }
        };
        match answer {
            (200, _, _) => {
                tally.paid.lock().unwrap().insert(order_id.to_string());
                return;
            }
            (503 | 429, Some(wait), _) => {
                if attempt + 1 < ATTEMPTS {
                    tally.retried.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_secs(wait).min(MAX_BACKOFF)).await;
            }
            (status, _, body) => {
                tally.violation(format!("{what}: answered {status}: {body}"));
                return;
            }
        }
    }
    tally.gave_up.fetch_add(1, Ordering::SeqCst);
}

/// `(status, Retry-After seconds, body)` of one POST /orders for one unit of the hot SKU.
/// The DynamoDB clients a catalogue read and a login wait on: the shared settings cache (the budgets) and the rate
/// limits. Each may take up to the request-path budget while DynamoDB hangs, once: a client that saw a timeout
/// stops asking for a while (`niaga_aws::timeouts::Hold`), so a login's second budget check fails at once.
const READ_LIMIT_CALLS: u32 = 2;
const LOGIN_LIMIT_CALLS: u32 = 2;

/// Catalogue readers and a login client beside checkout in `emulator-unreachable`, each answer bounded by its
/// time before the fault plus what the fail-open rate limits may add.
#[derive(Clone)]
struct SideLoad {
    read_patience: Duration,
    login_patience: Duration,
    logins: Arc<Vec<String>>,
    reads: Arc<AtomicU64>,
    logged_in: Arc<AtomicU64>,
    slowest_read_ms: Arc<AtomicU64>,
    slowest_login_ms: Arc<AtomicU64>,
}

impl SideLoad {
    /// The slowest of a few reads and logins before the fault, and the patience they give.
    async fn measure(http: &reqwest::Client, base: &str, database_url: &str) -> Result<SideLoad> {
        let c = crate::localdb::connect(database_url).await?;
        let logins: Vec<String> = c
            .query("SELECT lower(code) FROM partners ORDER BY id LIMIT 30", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut read_max = Duration::ZERO;
        for i in 0..6 {
            let (took, status) = read(http, base, i).await?;
            if status != 200 {
                bail!("a catalogue read before the fault answered {status}");
            }
            read_max = read_max.max(took);
        }
        let mut login_max = Duration::ZERO;
        for name in logins.iter().rev().take(3) {
            let (took, status) = login(http, base, name).await?;
            if status != 200 {
                bail!("a login before the fault answered {status}");
            }
            login_max = login_max.max(took);
        }
        let per_call = niaga_aws::timeouts::Budget::ON_REQUEST_PATH.operation;
        Ok(SideLoad {
            read_patience: read_max + per_call * READ_LIMIT_CALLS + Duration::from_secs(1),
            login_patience: login_max + per_call * LOGIN_LIMIT_CALLS + Duration::from_secs(1),
            logins: Arc::new(logins),
            reads: Arc::default(),
            logged_in: Arc::default(),
            slowest_read_ms: Arc::default(),
            slowest_login_ms: Arc::default(),
        })
    }

    /// Two readers and one login client until `deadline`.
    fn spawn(
        self,
        http: &reqwest::Client,
        base: &str,
        deadline: Instant,
        tally: &Arc<Tally>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        for reader in 0..2usize {
            let (side, http, base, tally) = (self.clone(), http.clone(), base.to_string(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = reader;
                while Instant::now() < deadline {
                    side.check(
                        &tally,
                        "catalogue read",
                        read(&http, &base, n).await,
                        side.read_patience,
                        true,
                    )
                    .await;
                    n += 2;
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }));
        }
        let (side, http, base, tally) = (self.clone(), http.clone(), base.to_string(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                // A different account each time: the per-account budget allows 10 attempts a minute.
                let name = side.logins[n % side.logins.len()].clone();
                side.check(
                    &tally,
                    "login",
                    login(&http, &base, &name).await,
                    side.login_patience,
                    false,
                )
                .await;
                n += 1;
                // The per-source budget allows 100 logins a minute.
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        }));
        tasks
    }

    async fn check(&self, tally: &Tally, what: &str, answer: Result<(Duration, u16)>, patience: Duration, read: bool) {
        let (counter, slowest) = match read {
            true => (&self.reads, &self.slowest_read_ms),
            false => (&self.logged_in, &self.slowest_login_ms),
        };
        match answer {
            Ok((took, status)) => {
                counter.fetch_add(1, Ordering::SeqCst);
                slowest.fetch_max(took.as_millis() as u64, Ordering::SeqCst);
                if status != 200 {
                    tally.violation(format!("{what}: answered {status}; its rate limits fail open"));
                }
                if took > patience {
                    tally.violation(format!(
                        "{what}: answered after {took:?}, longer than {patience:?} (the emulator is frozen)"
                    ));
                }
            }
            Err(e) => tally.violation(format!("{what}: no answer from the gateway: {e:#}")),
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} catalogue reads (slowest {:.1} s, allowed {:.1} s) and {} logins (slowest {:.1} s, allowed {:.1} s) answered 200",
            self.reads.load(Ordering::SeqCst),
            self.slowest_read_ms.load(Ordering::SeqCst) as f64 / 1000.0,
            self.read_patience.as_secs_f64(),
            self.logged_in.load(Ordering::SeqCst),
            self.slowest_login_ms.load(Ordering::SeqCst) as f64 / 1000.0,
            self.login_patience.as_secs_f64(),
        )
    }
}

/// A catalogue read: one product, or a search, by turns.
async fn read(http: &reqwest::Client, base: &str, n: usize) -> Result<(Duration, u16)> {
    let url = match n % 2 {
        0 => format!("{base}/products/{HOT_SKU}"),
        _ => format!("{base}/products?q=shampoo&limit=5"),
    };
    let asked = Instant::now();
    let resp = http.get(url).send().await?;
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok((asked.elapsed(), status))
}

/// A partner's password login.
async fn login(http: &reqwest::Client, base: &str, name: &str) -> Result<(Duration, u16)> {
    let asked = Instant::now();
    let resp = http
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", name),
            ("password", store::seed::DEV_PASSWORD),
        ])
        .send()
        .await?;
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok((asked.elapsed(), status))
}

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
    let c = crate::localdb::connect(url).await?;
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
    let c = crate::localdb::connect(url).await?;
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
        "| scenario | load | faults injected | attempts | placed | refused (409/422) | retried after 503/429 + Retry-After | retried after a crash | gave up | slowest answer | violations | recovered after | paid orders to the ERP | invariants |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        t.push_str(&format!(
            "| {} | {CLIENTS} clients × {} s{} | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} | {} | {} | {} |\n",
            o.scenario.name(),
            o.seconds,
            if o.scenario.erp() {
                format!(", paying 1 order in {PAY_EVERY}")
            } else {
                String::new()
            },
            match o.scenario {
                Scenario::PgConnectionsKilled => format!("{} connections killed", o.faults),
                Scenario::PgRestarted => format!("{} restart", o.faults),
                Scenario::FunctionKilled => format!("{} instances killed", o.faults),
                Scenario::EmulatorUnreachable => format!("{} freeze of {} s", o.faults, FREEZE.as_secs()),
                Scenario::ErpOutage => format!(
                    "ERP down (503) for {:.0} s",
                    o.seconds as f64 / 2.0
                ),
                Scenario::ErpSlow => format!(
                    "ERP replies held {} s (worker timeout {} s) for {:.1} s, then {} s for {:.1} s",
                    ERP_SLOW_ABOVE.as_secs(),
                    ERP_CLIENT_TIMEOUT.as_secs(),
                    o.seconds as f64 / 3.0,
                    ERP_SLOW_BELOW.as_secs(),
                    o.seconds as f64 / 3.0
                ),
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
            match &o.erp {
                None => "-".to_string(),
                Some(e) => format!(
                    "{} paid; all in the ERP {} after the load; {} ERP calls failed, {} repeats answered from its idempotency",
                    e.paid,
                    e.caught_up_after.map_or(
                        format!("NOT within {} s", ERP_CATCH_UP_LIMIT.as_secs()),
                        |d| format!("{:.1} s", d.as_secs_f64())
                    ),
                    e.failed_calls,
                    e.repeats
                ),
            },
            match (&o.invariants, &o.side) {
                (Ok(s), None) => s.clone(),
                (Ok(s), Some(side)) => format!("{s}; {side}"),
                (Err(e), _) => format!("FAILED: {e}"),
            },
        ));
    }
    t
}

/// Calls `f` with each line (and its file and number) of the files under `dir` and its folders; returns how many
/// files there were.
fn each_log_line(dir: &std::path::Path, mut f: impl FnMut(&std::path::Path, usize, &str)) -> Result<usize> {
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
                f(&path, n + 1, line);
            }
        }
    }
    Ok(files)
}

/// Every log line in the files under `dir` (and its folders) that holds one of the `secrets`, a bearer token,
/// something shaped like a JWT, or a card number (15 to 19 digits passing the Luhn check), as `file:line: what`.
/// Fails when there is no file to search, so a run that logged nowhere cannot pass for a clean one.
pub(crate) fn scan_logs(dir: &std::path::Path, secrets: &[&str]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let files = each_log_line(dir, |path, n, line| {
        if let Some(what) = leak(line, secrets) {
            found.push(format!("{}:{n}: {what}", path.display()));
        }
    })?;
    if files == 0 {
        bail!("no function logs under {}: nothing was searched", dir.display());
    }
    Ok(found)
}

/// Every log line under `dir` that records an AWS call IAM refused (`niaga_aws::fail_open` marks them
/// `"access_denied":true`), even one a fallback carried on without: a grant the function's policy lacks.
pub(crate) fn refused_calls(dir: &std::path::Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    each_log_line(dir, |path, n, line| {
        if line.contains("\"access_denied\":true") {
            found.push(format!("{}:{n}: {line}", path.display()));
        }
    })?;
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
