//! `cargo xtask load [--short]`: the load test before the event (seed 002 §4.5: browse → checkout → payment
//! callback), against the whole local stack, each run bounded in time and ending in an invariant check.
//!
//! It owns the run, not the traffic: the journeys are Locust's, in `xtask/load/locustfile.py`. A run
//!
//! 1. builds the functions (release; `--short`, which CI runs, uses the debug build `cargo xtask up` uses), and
//!    installs Locust (pinned) from PyPI into `.niaga/tools/` when it is missing;
//! 2. clones a fresh `niaga_load` database from a migrated, seeded template, and stocks the flash-sale SKUs with a
//!    known number of sellable units;
//! 3. starts the stack exactly as `cargo xtask up` does ([`crate::stack::LocalStack`]: moto with
//!    terraform/persistence, the fake ERP, every function, the gateway with its SQS pollers and schedules), with
//!    HTTP functions allowed [`HTTP_INSTANCES`] instances each and queue workers their event-source concurrency;
//! 4. runs Locust headless through the plan's ramp (a `LoadTestShape` that stops by itself), sampling every
//!    function instance's peak RSS (`VmHWM` in `/proc/<pid>/status`) meanwhile;
//! 5. lets the outbox and the ERP sync settle, runs the stock sync once more, stops the stack, and checks
//!    PostgreSQL against the fake ERP, the book of record, and against what the clients were told: stock never
//!    negative nor over-reserved; reserved exactly the units of live orders the ERP has not shipped, every
//!    order's shipped and returned units the ERP's, and on hand the ERP's count; one order per idempotency key and
//!    every answered key holding its order; every paid order on its way to the ERP (its `order.paid` event
//!    published, or the order sent and in the ERP's book, once);
//! 6. searches every log line the functions wrote for secrets ([`crate::faults::scan_logs`]) and for AWS calls IAM
//!    refused ([`crate::faults::refused_calls`]);
//! 7. prints the summary (RPS, p50/p95/p99 per endpoint, errors, business answers, orders/s, the knee, peak RSS
//!    per function) and writes it to `target/bench/load.md`, beside Locust's `load.html` and CSVs.
//!
//! It fails on errors of the system (5xx, no answer, a 503/429 without `Retry-After`, any other unexpected
//! answer, a request given up after its retries), a broken invariant, a refused AWS call or a leaked secret; never
//! on latency, which is what the knee reports.

use crate::localrt::LocalRuntime;
use crate::manifest::Manifest;
use crate::services::{self, step, Postgres};
use crate::stack::{LocalStack, Scale, StackOptions};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// The Locust release `xtask/load/locustfile.py` is written for.
const LOCUST_VERSION: &str = "2.47.0";

/// The database a run uses, cloned afresh from [`TEMPLATE`] every run.
const DATABASE: &str = "niaga_load";
const TEMPLATE: &str = "niaga_load_tpl";
/// Execution environments per HTTP function (Lambda would scale further; two cores would not).
pub const HTTP_INSTANCES: usize = 4;
/// The latency the knee is measured against.
const P99_TARGET_MS: f64 = 200.0;
/// How many SKUs the flash sale is on.
const HOT_SKUS: usize = 5;
/// Attempts per request (each after its `Retry-After`) before a client gives up on it; the locustfile reads it from
/// the plan.
const ATTEMPTS: u32 = 8;

/// A run's shape and sizes.
#[derive(Debug, Clone)]
struct Profile {
    name: &'static str,
    build: &'static str,
    /// (users, seconds) per stage of the ramp.
    stages: Vec<(u32, u32)>,
    /// The first stages only warm up (instances' cold starts, the first logins): shown, not counted for the knee.
    warm_up_stages: usize,
    spawn_rate: f64,
    /// Sellable units of each flash-sale SKU.
    hot_units: i32,
    flash_opens_after_s: u32,
    ai_agents: u32,
    /// How long to let the ERP sync catch up after the load, for the report.
    erp_drain: Duration,
}

impl Profile {
    fn full() -> Profile {
        Profile {
            name: "full",
            build: "release",
            stages: vec![(10, 20), (20, 25), (40, 25), (60, 25), (80, 25), (110, 25), (140, 25)],
            warm_up_stages: 1,
            spawn_rate: 10.0,
            hot_units: 150,
            flash_opens_after_s: 30,
            ai_agents: 2,
            erp_drain: Duration::from_secs(20),
        }
    }

    fn short() -> Profile {
        Profile {
            name: "short",
            build: "debug",
            stages: vec![(3, 20), (6, 20), (10, 25)],
            warm_up_stages: 1,
            spawn_rate: 3.0,
            hot_units: 20,
            flash_opens_after_s: 20,
            ai_agents: 1,
            erp_drain: Duration::from_secs(10),
        }
    }

    fn seconds(&self) -> u32 {
        self.stages.iter().map(|(_, s)| s).sum()
    }

    fn max_users(&self) -> u32 {
        self.stages.iter().map(|(u, _)| *u).max().unwrap_or(0)
    }
}

pub async fn run(args: &[String]) -> Result<()> {
    let short = args.iter().any(|a| a == "--short");
    if let Some(a) = args.iter().find(|a| *a != "--short") {
        bail!("unknown argument `{a}`\n\ncargo xtask load [--short]");
    }
    let profile = if short { Profile::short() } else { Profile::full() };
    let started = Instant::now();
    let manifest = Manifest::load_workspace()?;
    // The stack applies terraform/persistence to moto: check terraform before minutes of building.
    crate::terraform::require()?;
    if profile.build == "release" {
        step("building the functions in release (cargo build --release --workspace --bins): figures mean nothing in debug");
        services::run_visible(
            services::cargo().args(["build", "--release", "--workspace", "--bins"]),
            "cargo build --release",
        )?;
    } else {
        step("building the functions (cargo build --workspace --bins, the build `cargo xtask up` runs)");
        services::run_visible(
            services::cargo().args(["build", "--workspace", "--bins"]),
            "cargo build",
        )?;
    }
    let locust = services::ensure_venv_tool("locust", "locust", LOCUST_VERSION)?;

    let pg_port = std::env::var("NIAGA_PG_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(54329);
    let pg = Postgres::start(pg_port)?;
    let outcome = run_on(&pg, &manifest, &profile, &locust).await;
    if pg.started_here() {
        pg.stop()?;
    }
    let report = outcome?;
    println!("\n{}", report.markdown);
    let out = crate::target_dir().join("bench");
    std::fs::write(out.join("load.md"), &report.markdown)?;
    step(format!(
        "wrote {} and {} (with its CSVs) in {:.0} s",
        out.join("load.md").display(),
        out.join("load.html").display(),
        started.elapsed().as_secs_f64()
    ));
    if !report.failures.is_empty() {
        bail!("the load test failed:\n- {}", report.failures.join("\n- "));
    }
    Ok(())
}

struct Report {
    markdown: String,
    failures: Vec<String>,
}

async fn run_on(pg: &Postgres, manifest: &Manifest, profile: &Profile, locust: &Path) -> Result<Report> {
    let url = fresh_database(pg).await?;
    let hot = stock_flash_sale(&url, profile.hot_units).await?;
    let data = plan_data(&url).await?;
    let before = inventory(&url).await?;

    let out = crate::target_dir().join("bench");
    let work = out.join("load");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let log_dir = services::state_dir().join("logs/load");
    let _ = std::fs::remove_dir_all(&log_dir);
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let stack = LocalStack::start(
        manifest,
        StackOptions {
            profile: profile.build,
            database_url: url.clone(),
            moto_port: std::env::var("NIAGA_BENCH_MOTO_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(5020),
            gateway: loopback(0),
            invoke: loopback(0),
            erp: loopback(0),
            log_dir: log_dir.clone(),
            echo: false,
            scale: Scale::Deployed { http: HTTP_INSTANCES },
            tf_data_dir: Some(services::state_dir().join("terraform-load")),
            log: "info".into(),
        },
    )
    .await?;
    let secrets = [stack.jwt_signing_key()?, stack.payments_server_key()?];
    // The ERP's stock book starts where Niaga's copy does: the warehouse user ships and takes returns against it.
    stack.fake_erp.set_stock(
        before
            .iter()
            .map(|((sku, warehouse), (on_hand, _))| fake_erp::StockRow::new(warehouse, sku, *on_hand))
            .collect(),
    );
    let driven = drive(&stack, profile, &hot, data, locust, &out, &work, &url).await;
    // Goods move only when the warehouse user (Locust, now stopped) moves them, so the ERP's book is final here.
    let erp_stock = stack.fake_erp.stock();
    let movements = stack.fake_erp.movements();
    // Stop the functions before reading the ERP's orders, so nothing reaches it after the check has looked.
    let received = stack.shutdown().await;
    let driven = driven?;

    let records = Records::read(&work.join("records.jsonl"))?;
    let mut failures = Vec::new();
    for file in [
        "load.html",
        "load_stats.csv",
        "load_stats_history.csv",
        "load_failures.csv",
    ] {
        if !out.join(file).is_file() {
            failures.push(format!("Locust wrote no {}", out.join(file).display()));
        }
    }
    let erp = ErpBook {
        received: &received,
        stock: &erp_stock,
        movements: &movements,
    };
    let checks = check_invariants(&url, &before, &hot, profile.hot_units, &records, &erp).await?;
    for c in &checks {
        if let Err(e) = &c.1 {
            failures.push(format!("invariant broken: {}: {e}", c.0));
        }
    }
    let leaks = crate::faults::scan_logs(
        &log_dir,
        &[
            &secrets[0],
            &secrets[1],
            store::seed::DEV_PASSWORD,
            store::seed::DEV_AGENT_SECRET,
        ],
    )?;
    if !leaks.is_empty() {
        failures.push(format!("secrets in the function logs:\n  {}", leaks.join("\n  ")));
    }
    let refused = crate::faults::refused_calls(&log_dir)?;
    if !refused.is_empty() {
        failures.push(format!("AWS calls IAM refused:\n  {}", refused.join("\n  ")));
    }
    let summary = Summary::of(&records, profile);
    let server = server_side(&log_dir)?;
    if summary.total.requests == 0 {
        failures.push("no request was recorded: the load never ran".into());
    }
    if summary.total.errors > 0 {
        failures.push(format!(
            "{} errors of the system (5xx, no answer, an unexpected answer, given up after retries); first: {}",
            summary.total.errors,
            records.first_errors(5).join(" | ")
        ));
    }
    let markdown = render(profile, summary, &server, &driven, &checks, &leaks, &hot);
    Ok(Report { markdown, failures })
}

/// A fresh `niaga_load`, cloned from a template that is migrated and seeded once.
async fn fresh_database(pg: &Postgres) -> Result<String> {
    let admin_url = pg.url("postgres");
    crate::localdb::prepare(&admin_url, TEMPLATE, Some(store::seed::SeedSize::default())).await?;
    let admin = crate::localdb::connect(&admin_url).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .await?;
    // The template's last connection may still be closing.
    let mut tries = 0;
    loop {
        match admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}"))
            .await
        {
            Ok(()) => break,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("cloning {TEMPLATE}: {}", store::pool::describe(&e))),
        }
    }
    // Migrations added since the template was made.
    crate::localdb::prepare(&admin_url, DATABASE, None).await?;
    // Stock is due a sync at every run of the stock-sync schedule, which the warehouse user fires as it ships: the
    // feeds interleave with checkout as often as a bounded run allows. One partner in five buys on 30 days' terms.
    crate::localdb::connect(&pg.url(DATABASE))
        .await?
        .batch_execute(
            "UPDATE system_config SET value = '0' WHERE key = 'supply.stock_sync_interval_minutes';
             UPDATE partners SET payment_terms_days = 30 WHERE id % 5 = 0;",
        )
        .await?;
    step(format!("{DATABASE}: a fresh copy of the seeded template"));
    Ok(pg.url(DATABASE))
}

/// Picks the flash-sale SKUs and gives each exactly `units` sellable units, spread over the warehouses that stock it.
async fn stock_flash_sale(url: &str, units: i32) -> Result<Vec<String>> {
    let c = crate::localdb::connect(url).await?;
    let hot: Vec<String> = c
        .query(
            "SELECT p.sku FROM products p JOIN inventory i ON i.sku = p.sku WHERE p.is_active
              GROUP BY p.sku HAVING count(*) >= 3 ORDER BY md5(p.sku) LIMIT $1",
            &[&(HOT_SKUS as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for sku in &hot {
        // Row k of n gets units/n, the first rows one more, so the sellable units add up to exactly `units`.
        c.execute(
            "WITH r AS (SELECT warehouse_code, row_number() OVER (ORDER BY warehouse_code) - 1 AS k,
                               count(*) OVER () AS n FROM inventory WHERE sku = $1)
             UPDATE inventory i SET reserved = 0,
                    on_hand = i.buffer + ($2 / r.n)::int + CASE WHEN r.k < $2 % r.n THEN 1 ELSE 0 END
               FROM r WHERE i.sku = $1 AND i.warehouse_code = r.warehouse_code",
            &[sku, &i64::from(units)],
        )
        .await?;
    }
    step(format!("flash sale on {}: {units} sellable units each", hot.join(", ")));
    Ok(hot)
}

/// What the locustfile draws from: logins, SKUs with stock, search terms, each sales agent's partners.
async fn plan_data(url: &str) -> Result<serde_json::Value> {
    let c = crate::localdb::connect(url).await?;
    let col = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    let partners = col(c
        .query("SELECT login FROM accounts WHERE role = 'partner' ORDER BY login", &[])
        .await?);
    // SKUs with plenty of sellable stock, so ordinary carts are rarely refused for stock.
    let skus = col(c
        .query(
            "SELECT p.sku FROM products p JOIN inventory i ON i.sku = p.sku WHERE p.is_active
              GROUP BY p.sku HAVING sum(i.on_hand - i.reserved - i.buffer) >= 300
              ORDER BY md5(p.sku || 'load') LIMIT 500",
            &[],
        )
        .await?);
    let categories = col(c
        .query("SELECT DISTINCT category FROM products ORDER BY 1", &[])
        .await?);
    // What people type: a brand, a category, or a category with a word of the product's name.
    let queries = col(c
        .query(
            "(SELECT DISTINCT lower(brand) FROM products)
             UNION (SELECT DISTINCT lower(category) FROM products)
             UNION (SELECT DISTINCT lower(category) || ' ' || lower(split_part(name, ' ', 4))
                      FROM products WHERE split_part(name, ' ', 4) <> '')
             ORDER BY 1",
            &[],
        )
        .await?);
    let mut agents: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT a.login, s.partner_id FROM agent_assignments s JOIN accounts a ON a.sub = s.agent_sub
              ORDER BY 1, 2",
            &[],
        )
        .await?
    {
        agents.entry(r.get(0)).or_default().push(r.get(1));
    }
    if partners.is_empty() || skus.len() < 50 || agents.is_empty() || queries.is_empty() {
        bail!(
            "{DATABASE} lacks what the load needs: {} partners, {} stocked SKUs, {} sales agents, {} search terms",
            partners.len(),
            skus.len(),
            agents.len(),
            queries.len()
        );
    }
    let seo_bot: String = c
        .query_one(
            "SELECT login FROM accounts WHERE role = 'ai_agent' ORDER BY login LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    Ok(serde_json::json!({
        "partners": partners,
        "skus": skus,
        "categories": categories,
        "queries": queries,
        "sales_agents": agents,
        "password": store::seed::DEV_PASSWORD,
        "agent_client": { "id": seo_bot, "secret": store::seed::DEV_AGENT_SECRET },
    }))
}

type Inventory = BTreeMap<(String, String), (i64, i64)>;

/// (sku, warehouse) → (on_hand, reserved).
async fn inventory(url: &str) -> Result<Inventory> {
    let c = crate::localdb::connect(url).await?;
    Ok(c.query(
        "SELECT sku, warehouse_code, on_hand::bigint, reserved::bigint FROM inventory",
        &[],
    )
    .await?
    .iter()
    .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
    .collect())
}

/// What happened while the load ran, beside the clients' own records.
#[derive(Debug, Default)]
struct Driven {
    /// function → (instances started, invocations, peak VmHWM in kB over its instances).
    functions: BTreeMap<String, (usize, u64, u64)>,
    gateway: String,
    /// Paid orders still on the ERP queue when the drain ended.
    erp_backlog: i64,
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    stack: &LocalStack,
    profile: &Profile,
    hot: &[String],
    mut data: serde_json::Value,
    locust: &Path,
    out: &Path,
    work: &Path,
    url: &str,
) -> Result<Driven> {
    let base = stack.gateway.url();
    let http = reqwest::Client::new();
    // Business hours: the warm-up schedule has run, as it does every 5 minutes from 07:00 WIB.
    let warm = http.post(format!("{base}/_niaga/schedules/warmup/fire")).send().await?;
    if !warm.status().is_success() {
        bail!("firing the warm-up schedule answered {}", warm.status());
    }

    let mut ends_at = 0;
    let stages: Vec<serde_json::Value> = profile
        .stages
        .iter()
        .map(|(users, seconds)| {
            ends_at += seconds;
            serde_json::json!({ "users": users, "seconds": seconds, "ends_at_s": ends_at })
        })
        .collect();
    let records = work.join("records.jsonl");
    let plan = work.join("plan.json");
    data["profile"] = profile.name.into();
    data["stages"] = stages.into();
    data["spawn_rate"] = profile.spawn_rate.into();
    data["hot_skus"] = hot.into();
    data["flash_opens_after_s"] = profile.flash_opens_after_s.into();
    data["ai_agents"] = profile.ai_agents.into();
    data["attempts"] = ATTEMPTS.into();
    data["records"] = records.display().to_string().into();
    data["erp"] = stack.fake_erp.url().into();
    std::fs::write(&plan, serde_json::to_vec_pretty(&data)?)?;

    step(format!(
        "Locust: {} → {} users over {} s ({}), flash sale opening at {} s",
        profile.stages.first().map_or(0, |s| s.0),
        profile.max_users(),
        profile.seconds(),
        profile
            .stages
            .iter()
            .map(|(u, s)| format!("{u}×{s}s"))
            .collect::<Vec<_>>()
            .join(", "),
        profile.flash_opens_after_s
    ));
    let log = std::fs::File::create(work.join("locust.log"))?;
    let mut child = tokio::process::Command::new(locust)
        .arg("-f")
        .arg(crate::workspace_root().join("xtask/load/locustfile.py"))
        .args(["--headless", "--only-summary", "--loglevel", "WARNING"])
        .args(["--host", &base])
        .arg("--html")
        .arg(out.join("load.html"))
        .arg("--csv")
        .arg(out.join("load"))
        .args(["--csv-full-history", "--exit-code-on-error", "0", "--stop-timeout", "5"])
        .env("NIAGA_LOAD_PLAN", &plan)
        .env("NIAGA_LOAD_SERVER_KEY", stack.payments_server_key()?)
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting locust")?;

    let mut peaks: BTreeMap<String, u64> = BTreeMap::new();
    let limit = Duration::from_secs(u64::from(profile.seconds()) + 90);
    let started = Instant::now();
    let mut announced = 0;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                sample_rss(&stack.runtime, &mut peaks);
                let elapsed = started.elapsed().as_secs() as u32;
                let mut at = 0;
                for (i, (users, seconds)) in profile.stages.iter().enumerate() {
                    if elapsed >= at && i + 1 > announced {
                        announced = i + 1;
                        step(format!("stage {}/{}: {users} users for {seconds} s", i + 1, profile.stages.len()));
                    }
                    at += seconds;
                }
                if started.elapsed() > limit {
                    let _ = child.kill().await;
                    bail!("Locust was still running {} s after its plan should have ended; see {}",
                        limit.as_secs(), work.join("locust.log").display());
                }
            }
        }
    };
    sample_rss(&stack.runtime, &mut peaks);
    if !status.success() {
        let tail = std::fs::read_to_string(work.join("locust.log")).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(30).collect();
        bail!(
            "locust exited with {status}:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    step("load done; letting the outbox and the ERP sync settle, then the stock sync reads the ERP's book");
    let erp_backlog = settle(&http, &base, url, profile.erp_drain).await?;
    let synced: serde_json::Value = http
        .post(format!("{base}/_niaga/schedules/stock-sync/fire"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if synced.to_string().contains("\"error\"") {
        bail!("the last stock sync failed: {synced}");
    }
    sample_rss(&stack.runtime, &mut peaks);

    let mut functions = BTreeMap::new();
    for name in stack.runtime.functions() {
        let stats = stack.runtime.stats(&name).context("stats of a listed function")?;
        functions.insert(
            name.clone(),
            (
                stats.cold_starts(),
                stats.invocations(),
                peaks.get(&name).copied().unwrap_or(0),
            ),
        );
    }
    Ok(Driven {
        functions,
        gateway: base,
        erp_backlog,
    })
}

/// The highest `VmHWM` (peak resident set, kB) seen per function so far, over instances that may since have gone.
fn sample_rss(runtime: &LocalRuntime, peaks: &mut BTreeMap<String, u64>) {
    for (name, kb) in runtime.peak_rss_kb() {
        let peak = peaks.entry(name).or_default();
        *peak = (*peak).max(kb);
    }
}

/// Sweeps the outbox until no `order.paid` event is left unpublished (at most 20 s), then gives the ERP sync up
/// to `drain` to take what is queued. Returns how many paid orders are still queued for the ERP.
async fn settle(http: &reqwest::Client, base: &str, url: &str, drain: Duration) -> Result<i64> {
    let c = crate::localdb::connect(url).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fired = http
            .post(format!("{base}/_niaga/schedules/outbox-sweep/fire"))
            .send()
            .await?;
        if !fired.status().is_success() {
            bail!("firing the outbox sweep answered {}", fired.status());
        }
        let pending: i64 = c
            .query_one(
                "SELECT count(*) FROM outbox WHERE event_type = 'order.paid' AND published_at IS NULL",
                &[],
            )
            .await?
            .get(0);
        if pending == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let deadline = Instant::now() + drain;
    loop {
        let queued: i64 = c
            .query_one("SELECT count(*) FROM orders WHERE status = 'paid'", &[])
            .await?
            .get(0);
        if queued == 0 || Instant::now() > deadline {
            return Ok(queued);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// The clients' records
// ---------------------------------------------------------------------------------------------------------

/// One line the locustfile wrote.
#[derive(Debug, Clone, Deserialize)]
struct Record {
    kind: String,
    #[serde(default)]
    t: f64,
    #[serde(default)]
    stage: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    ms: f64,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    flash: bool,
    #[serde(default, rename = "type")]
    problem: Option<String>,
    #[serde(default)]
    transaction_status: Option<String>,
    #[serde(default)]
    order_status: Option<String>,
}

struct Records(Vec<Record>);

impl Records {
    fn read(path: &Path) -> Result<Records> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut all = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            all.push(
                serde_json::from_str(line).with_context(|| format!("{}:{}: not a record", path.display(), n + 1))?,
            );
        }
        Ok(Records(all))
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.0.iter().filter(move |r| r.kind == kind)
    }

    fn first_errors(&self, n: usize) -> Vec<String> {
        self.0
            .iter()
            .filter(|r| (r.kind == "req" && r.outcome == "error") || r.kind == "gave_up")
            .take(n)
            .map(|r| {
                if r.kind == "gave_up" {
                    format!("{}: gave up after its retries", r.name)
                } else {
                    format!(
                        "{} → {} {}",
                        r.name,
                        r.status,
                        r.detail
                            .as_deref()
                            .unwrap_or_default()
                            .chars()
                            .take(160)
                            .collect::<String>()
                    )
                }
            })
            .collect()
    }
}

/// Figures for one endpoint, one stage, or all requests.
#[derive(Debug, Default, Clone)]
struct Figures {
    requests: u64,
    ms: Vec<f64>,
    errors: u64,
    business: u64,
    retried: u64,
    not_modified: u64,
}

impl Figures {
    fn add(&mut self, r: &Record) {
        self.requests += 1;
        self.ms.push(r.ms);
        match r.outcome.as_str() {
            "error" => self.errors += 1,
            "business" => self.business += 1,
            "retry" => self.retried += 1,
            _ => {}
        }
        if r.status == 304 {
            self.not_modified += 1;
        }
    }

    fn percentile(&mut self, q: f64) -> f64 {
        percentile(&mut self.ms, q)
    }
}

/// Nearest-rank percentile (`q` in 0..=1); NaN for no values.
fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

#[derive(Debug)]
struct Stage {
    users: u32,
    seconds: u32,
    figures: Figures,
}

impl Stage {
    fn rps(&self) -> f64 {
        self.figures.requests as f64 / f64::from(self.seconds.max(1))
    }
}

/// The first stage from `from` on whose p99 is over the target or that had errors, as (index, p99, errors).
fn knee(stages: &mut [Stage], from: usize) -> Option<(usize, f64, u64)> {
    stages.iter_mut().enumerate().skip(from).find_map(|(i, s)| {
        if s.figures.requests == 0 {
            return None;
        }
        let p99 = s.figures.percentile(0.99);
        (p99 > P99_TARGET_MS || s.figures.errors > 0).then_some((i, p99, s.figures.errors))
    })
}

struct Summary {
    seconds: f64,
    endpoints: BTreeMap<String, Figures>,
    total: Figures,
    stages: Vec<Stage>,
    placed: u64,
    flash_placed: u64,
    paid: u64,
    refused_stock: u64,
    refused_flash_stock: u64,
    refused_other: u64,
    gave_up: u64,
    jobs: u64,
}

impl Summary {
    fn of(records: &Records, profile: &Profile) -> Summary {
        let mut endpoints: BTreeMap<String, Figures> = BTreeMap::new();
        let mut total = Figures::default();
        let mut stages: Vec<Stage> = profile
            .stages
            .iter()
            .map(|(users, seconds)| Stage {
                users: *users,
                seconds: *seconds,
                figures: Figures::default(),
            })
            .collect();
        let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in records.of_kind("req") {
            endpoints.entry(r.name.clone()).or_default().add(r);
            total.add(r);
            if let Some(s) = usize::try_from(r.stage).ok().and_then(|i| stages.get_mut(i)) {
                s.figures.add(r);
            }
            first = first.min(r.t);
            last = last.max(r.t + r.ms / 1000.0);
        }
        let gave_up = records.of_kind("gave_up").count() as u64;
        total.errors += gave_up;
        let stock = |r: &&Record| r.status == 409 && r.problem.as_deref().is_some_and(|t| t.ends_with(":out-of-stock"));
        Summary {
            seconds: if last > first { last - first } else { 0.0 },
            endpoints,
            total,
            stages,
            placed: records.of_kind("order").count() as u64,
            flash_placed: records.of_kind("order").filter(|r| r.flash).count() as u64,
            paid: records
                .of_kind("paid")
                .filter(|r| r.order_status.as_deref() == Some("paid"))
                .count() as u64,
            refused_stock: records.of_kind("refused").filter(stock).count() as u64,
            refused_flash_stock: records.of_kind("refused").filter(stock).filter(|r| r.flash).count() as u64,
            refused_other: records.of_kind("refused").filter(|r| !stock(r)).count() as u64,
            gave_up,
            jobs: records.of_kind("job").count() as u64,
        }
    }
}

/// Each route's latency as its function measured it around the handler (the EMF `latency` line it logs per
/// request), read from the run's function logs: the client's figure less the gateway, the local runtime's queue
/// and the network.
fn server_side(log_dir: &Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let mut routes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for entry in std::fs::read_dir(log_dir)?.flatten() {
        let text = std::fs::read_to_string(entry.path())?;
        for line in text.lines().filter(|l| l.contains("\"_aws\"")) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let (Some(route), Some(latency)) = (v["route"].as_str(), v["latency"].as_f64()) {
                routes.entry(route.to_string()).or_default().push(latency);
            }
        }
    }
    Ok(routes)
}

// ---------------------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------------------

type Check = (&'static str, Result<String, String>);

/// The fake ERP's book at the end of a run.
struct ErpBook<'a> {
    received: &'a [fake_erp::Received],
    stock: &'a [fake_erp::StockRow],
    movements: &'a [fake_erp::MovementRow],
}

async fn check_invariants(
    url: &str,
    before: &Inventory,
    hot: &[String],
    hot_units: i32,
    records: &Records,
    erp: &ErpBook<'_>,
) -> Result<Vec<Check>> {
    let c = crate::localdb::connect(url).await?;
    // The role's default statement timeout is for the functions; these checks read everything the run wrote.
    c.batch_execute("SET statement_timeout = 0").await?;
    let after = inventory(url).await?;
    let mut checks = Vec::new();
    checks.push(("stock never negative nor over-reserved", stock_bounds(&c).await));
    checks.push((
        "reserved is what live orders hold unshipped, shipped and on hand are the ERP's",
        stock_matches_the_erp(&c, before, &after, erp).await?,
    ));
    checks.push((
        "the flash sale sold at most its stock (and what came back)",
        flash_sold(&c, hot, hot_units).await?,
    ));
    checks.push(("one order per idempotency key", keys(&c, records).await?));
    checks.push((
        "every paid order on its way to the ERP, once",
        paid_to_erp(&c, records, erp.received).await?,
    ));
    Ok(checks)
}

async fn stock_bounds(c: &tokio_postgres::Client) -> Result<String, String> {
    crate::checkout_bench::check_not_over_reserved(c)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let negative: i64 = c
        .query_one("SELECT count(*) FROM inventory WHERE on_hand < 0 OR reserved < 0", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    if negative > 0 {
        return Err(format!("{negative} inventory rows below zero"));
    }
    Ok("held".into())
}

/// Against the ERP's book, after the last stock sync has read it: per (sku, warehouse), reserved grew by exactly
/// the units of live orders the ERP has not shipped; every order line's shipped and returned units are the ERP's;
/// on hand is the ERP's count. Counting a shipped unit as still reserved (or as still on hand) fails here.
async fn stock_matches_the_erp(
    c: &tokio_postgres::Client,
    before: &Inventory,
    after: &Inventory,
    erp: &ErpBook<'_>,
) -> Result<Result<String, String>> {
    // (order, sku, warehouse) → (shipped, returned), from the ERP's delivery notes and returns.
    let mut moved: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for m in erp.movements {
        for l in &m.lines {
            let e = moved
                .entry((m.no_ref.clone(), l.sku.clone(), l.warehouse.clone()))
                .or_default();
            if m.kind == "KIRIM" {
                e.0 += l.qty;
            } else {
                e.1 += l.qty;
            }
        }
    }
    let lines = c
        .query(
            "SELECT o.id::text, o.status, l.sku, l.warehouse_code, l.quantity::int8, l.shipped::int8, l.returned::int8
               FROM order_lines l JOIN orders o ON o.id = l.order_id AND o.placed_at = l.placed_at",
            &[],
        )
        .await?;
    let mut wrong = Vec::new();
    let mut held: BTreeMap<(String, String), i64> = BTreeMap::new();
    let (mut shipped_units, mut returned_units) = (0, 0);
    for r in &lines {
        let (id, status, sku, warehouse): (String, String, String, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
        let (quantity, shipped, returned): (i64, i64, i64) = (r.get(4), r.get(5), r.get(6));
        let (erp_shipped, erp_returned) = moved
            .get(&(id.clone(), sku.clone(), warehouse.clone()))
            .copied()
            .unwrap_or_default();
        shipped_units += erp_shipped;
        returned_units += erp_returned;
        if (shipped, returned) != (erp_shipped, erp_returned) {
            wrong.push(format!(
                "order {id} {sku} at {warehouse}: shipped/returned {shipped}/{returned}, the ERP's {erp_shipped}/{erp_returned}"
            ));
        }
        let live = status
            .parse::<orders::OrderStatus>()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .holds_stock();
        if live {
            *held.entry((sku, warehouse)).or_default() += quantity - erp_shipped;
        }
    }
    let erp_count: BTreeMap<(String, String), i64> = erp
        .stock
        .iter()
        .map(|r| ((r.sku.clone(), r.warehouse.clone()), r.on_hand))
        .collect();
    let mut units = 0;
    for (row, (on_hand, reserved)) in after {
        let was = before.get(row).map_or(0, |(_, r)| *r);
        let expected = held.get(row).copied().unwrap_or(0);
        units += expected;
        if reserved - was != expected {
            wrong.push(format!(
                "{} at {}: reserved grew by {}, live orders hold {expected} unshipped",
                row.0,
                row.1,
                reserved - was
            ));
        }
        if let Some(count) = erp_count.get(row) {
            if on_hand != count {
                wrong.push(format!(
                    "{} at {}: on hand {on_hand}, the ERP counts {count}",
                    row.0, row.1
                ));
            }
        }
    }
    Ok(if wrong.is_empty() {
        Ok(format!(
            "held: {units} units reserved by live orders; {shipped_units} shipped and {returned_units} returned in \
             {} ERP movements, every one counted once",
            erp.movements.len()
        ))
    } else {
        Err(format!(
            "{} rows: {}",
            wrong.len(),
            wrong.into_iter().take(5).collect::<Vec<_>>().join("; ")
        ))
    })
}

/// Each hot SKU sold at most its stock, plus the units that came back into stock as returns (the warehouse user
/// returns some; a returned unit is on hand again and may be sold again).
async fn flash_sold(c: &tokio_postgres::Client, hot: &[String], units: i32) -> Result<Result<String, String>> {
    let mut sold = Vec::new();
    for sku in hot {
        let r = c
            .query_one(
                "SELECT coalesce(sum(l.quantity), 0)::bigint, coalesce(sum(l.returned), 0)::bigint FROM order_lines l
                   JOIN orders o ON o.id = l.order_id AND o.placed_at = l.placed_at
                  WHERE l.sku = $1 AND o.status NOT IN ('cancelled', 'expired')",
                &[sku],
            )
            .await?;
        sold.push((sku.clone(), r.get::<_, i64>(0), i64::from(units) + r.get::<_, i64>(1)));
    }
    let over: Vec<String> = sold
        .iter()
        .filter(|(_, n, stock)| n > stock)
        .map(|(s, n, stock)| format!("{s}: {n} sold of {stock}"))
        .collect();
    let list = sold
        .iter()
        .map(|(s, n, stock)| format!("{s} {n}/{stock}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(if over.is_empty() {
        Ok(format!("held: {list}"))
    } else {
        Err(over.join("; "))
    })
}

async fn keys(c: &tokio_postgres::Client, records: &Records) -> Result<Result<String, String>> {
    let orders: BTreeSet<String> = c
        .query("SELECT id::text FROM orders", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut by_order: BTreeMap<String, u32> = BTreeMap::new();
    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    for r in c
        .query(
            "SELECT key, resource_id FROM idempotency_keys k
              WHERE EXISTS (SELECT 1 FROM orders o WHERE o.id::text = k.resource_id)",
            &[],
        )
        .await?
    {
        let (key, order): (String, String) = (r.get(0), r.get(1));
        *by_order.entry(order.clone()).or_default() += 1;
        stored.insert(key, order);
    }
    let mut broken = Vec::new();
    let shared: Vec<&String> = by_order.iter().filter(|(_, n)| **n > 1).map(|(o, _)| o).collect();
    if !shared.is_empty() {
        broken.push(format!(
            "{} orders have more than one key (first: {})",
            shared.len(),
            shared[0]
        ));
    }
    let keyless: Vec<&String> = orders.iter().filter(|o| !by_order.contains_key(*o)).collect();
    if !keyless.is_empty() {
        broken.push(format!("{} orders have no key (first: {})", keyless.len(), keyless[0]));
    }
    let sent: BTreeSet<&str> = records.of_kind("order_sent").filter_map(|r| r.key.as_deref()).collect();
    let refused: BTreeSet<&str> = records.of_kind("refused").filter_map(|r| r.key.as_deref()).collect();
    let mut answered: BTreeMap<String, String> = BTreeMap::new();
    for r in records.of_kind("order") {
        let (Some(key), Some(id)) = (&r.key, &r.order_id) else {
            broken.push("a 2xx order answer without its key or id".into());
            continue;
        };
        match stored.get(key) {
            Some(s) if s == id => {}
            other => broken.push(format!(
                "key {key} was answered with order {id}, the database holds {other:?}"
            )),
        }
        if let Some(previous) = answered.insert(id.clone(), key.clone()) {
            broken.push(format!("order {id} was answered for keys {previous} and {key}"));
        }
    }
    for (key, order) in &stored {
        if !sent.contains(key.as_str()) {
            broken.push(format!("order {order} holds key {key}, which no client sent"));
        }
        if refused.contains(key.as_str()) {
            broken.push(format!("key {key} was refused, yet order {order} holds it"));
        }
    }
    // Orders whose answer never reached a client: the run stopped mid-request, or the answer was lost.
    let untold = orders.iter().filter(|o| !answered.contains_key(*o)).count();
    Ok(if broken.is_empty() {
        Ok(format!(
            "held: {} orders, each with exactly one key a client sent; every answered key holds its order, no \
             refused key holds one; {untold} placed as the run stopped, before their answer",
            orders.len()
        ))
    } else {
        Err(broken.into_iter().take(5).collect::<Vec<_>>().join("; "))
    })
}

async fn paid_to_erp(
    c: &tokio_postgres::Client,
    records: &Records,
    received: &[fake_erp::Received],
) -> Result<Result<String, String>> {
    let rows = c
        .query(
            "SELECT o.id::text, o.status, o.erp_order_no,
                    (SELECT count(*) FROM outbox e WHERE e.event_type IN ('order.paid', 'order.confirmed')
                        AND e.aggregate_id = o.id::text),
                    (SELECT count(*) FROM outbox e WHERE e.event_type IN ('order.paid', 'order.confirmed')
                        AND e.aggregate_id = o.id::text AND e.published_at IS NOT NULL),
                    o.payment_terms_days IS NOT NULL
               FROM orders o
              WHERE o.status IN ('paid', 'confirmed', 'sent_to_erp', 'partly_shipped', 'fulfilled')",
            &[],
        )
        .await?;
    let mut book: BTreeMap<&str, (&str, u32)> = BTreeMap::new();
    for r in received.iter().filter(|r| r.new) {
        let e = book.entry(r.no_ref.as_str()).or_insert((r.no_pesanan.as_str(), 0));
        e.1 += 1;
    }
    let mut broken = Vec::new();
    let mut paid = BTreeSet::new();
    let (mut sent, mut queued, mut terms) = (0, 0, 0);
    for r in &rows {
        let (id, status, erp_no, events, published): (String, String, Option<String>, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if r.get::<_, bool>(5) {
            terms += 1;
        }
        // A cash order goes to the ERP on `order.paid`, a terms order on `order.confirmed`: one of them, once.
        if events != 1 {
            broken.push(format!(
                "order {id} ({status}) has {events} order.paid/order.confirmed events"
            ));
        }
        match status.as_str() {
            "paid" | "confirmed" if published == 0 => broken.push(format!(
                "order {id} is {status} but its event for the ERP was never published"
            )),
            "paid" | "confirmed" => queued += 1,
            _ => match (&erp_no, book.get(id.as_str())) {
                (Some(no), Some((taken, 1))) if no == taken => sent += 1,
                (_, Some((_, n))) if *n > 1 => broken.push(format!("the ERP took order {id} as new {n} times")),
                (no, taken) => broken.push(format!(
                    "order {id} is {status} with ERP number {no:?}, the ERP's book has {taken:?}"
                )),
            },
        }
        paid.insert(id);
    }
    for no_ref in book.keys() {
        if !paid.contains(*no_ref) {
            broken.push(format!("the ERP took {no_ref}, which is not a paid order"));
        }
    }
    for r in records.of_kind("paid") {
        if r.order_status.as_deref() == Some("paid") {
            if let Some(id) = &r.order_id {
                if !paid.contains(id) {
                    broken.push(format!("order {id} was answered paid but is not paid in the database"));
                }
            }
        }
    }
    let denied = records
        .of_kind("paid")
        .filter(|r| r.transaction_status.as_deref() == Some("deny"))
        .count();
    Ok(if broken.is_empty() {
        Ok(format!(
            "held: {} paid or confirmed orders ({terms} on payment terms), {sent} in the ERP's book once each, \
             {queued} on the erp-sync queue (event published, not yet in the ERP); {denied} payments denied",
            rows.len()
        ))
    } else {
        Err(broken.into_iter().take(5).collect::<Vec<_>>().join("; "))
    })
}

// ---------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    profile: &Profile,
    mut s: Summary,
    server: &BTreeMap<String, Vec<f64>>,
    driven: &Driven,
    checks: &[Check],
    leaks: &[String],
    hot: &[String],
) -> String {
    let secs = s.seconds.max(1.0);
    let mut t = String::new();
    t.push_str(&format!(
        "Load ({}: {} build, up to {} users over {} s, {HTTP_INSTANCES} instances per HTTP function), {} requests in {:.0} s: \
         {:.1} requests/s, {:.2}% errors, {} orders placed ({:.1} orders/s), {} payment callbacks answered paid.\n\n",
        profile.name,
        profile.build,
        profile.max_users(),
        profile.seconds(),
        s.total.requests,
        secs,
        s.total.requests as f64 / secs,
        100.0 * s.total.errors as f64 / (s.total.requests.max(1)) as f64,
        s.placed,
        s.placed as f64 / secs,
        s.paid,
    ));
    t.push_str(
        "| endpoint | requests | RPS | p50 | p95 | p99 | in the function: p50 / p99 | errors | 409/422 (business) | \
         retried after 503/429 | 304 |\n",
    );
    t.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut rows: Vec<(String, Figures)> = s.endpoints.clone().into_iter().collect();
    rows.push(("all".into(), s.total.clone()));
    for (name, mut f) in rows {
        let (p50, p95, p99) = (f.percentile(0.5), f.percentile(0.95), f.percentile(0.99));
        let label = if name == "all" {
            "**all**".to_string()
        } else {
            format!("`{name}`")
        };
        let mut inside = if name == "all" {
            server.values().flatten().copied().collect()
        } else {
            server.get(&name).cloned().unwrap_or_default()
        };
        let inside = format!(
            "{} / {}",
            ms(percentile(&mut inside, 0.5)),
            ms(percentile(&mut inside, 0.99))
        );
        t.push_str(&format!(
            "| {label} | {} | {:.1} | {} | {} | {} | {inside} | {} | {} | {} | {} |\n",
            f.requests,
            f.requests as f64 / secs,
            ms(p50),
            ms(p95),
            ms(p99),
            f.errors,
            f.business,
            f.retried,
            f.not_modified
        ));
    }

    t.push_str("\n| stage | users | seconds | requests | RPS | p99 | errors |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (i, st) in s.stages.iter_mut().enumerate() {
        let rps = st.rps();
        let p99 = st.figures.percentile(0.99);
        let warm_up = if i < profile.warm_up_stages { " (warm-up)" } else { "" };
        t.push_str(&format!(
            "| {}{warm_up} | {} | {} | {} | {rps:.1} | {} | {} |\n",
            i + 1,
            st.users,
            st.seconds,
            st.figures.requests,
            ms(p99),
            st.figures.errors
        ));
    }
    let knee_line = match knee(&mut s.stages, profile.warm_up_stages) {
        Some((i, p99, errors)) => {
            let st = &s.stages[i];
            let why = match (p99 > P99_TARGET_MS, errors > 0) {
                (true, true) => format!("p99 {} and {errors} errors", ms(p99)),
                (true, false) => format!("p99 {}", ms(p99)),
                _ => format!("{errors} errors"),
            };
            format!(
                "**Knee: {} users, {:.1} RPS** (stage {}: {why}; the target is p99 ≤ {P99_TARGET_MS:.0} ms without errors).",
                st.users,
                st.rps(),
                i + 1
            )
        }
        None => format!(
            "**Knee: not reached within {} users** (p99 ≤ {P99_TARGET_MS:.0} ms without errors at every stage).",
            profile.max_users()
        ),
    };
    t.push_str(&format!("\n{knee_line}\n"));
    if profile.build == "debug" {
        t.push_str(
            "\nDebug build (`--short`): the latencies and the knee above say nothing about production; the run checks \
             behaviour (errors, invariants, secrets). The figures come from `cargo xtask load`, in release.\n",
        );
    }

    t.push_str(&format!(
        "\nBusiness answers: {} refused out of stock (409; {} of them in the flash sale), {} refused for credit or \
         minimum (422). Flash sale on {} SKUs ({} sellable units each), opening at {} s: {} orders placed. AI agents: {} \
         jobs completed. Requests given up after {} attempts: {}.\n",
        s.refused_stock,
        s.refused_flash_stock,
        s.refused_other,
        hot.len(),
        profile.hot_units,
        profile.flash_opens_after_s,
        s.flash_placed,
        s.jobs,
        ATTEMPTS,
        s.gave_up
    ));

    t.push_str(
        "\n| function | instances | invocations | peak RSS (VmHWM, max over instances) |\n|---|---:|---:|---:|\n",
    );
    for (name, (instances, invocations, kb)) in &driven.functions {
        if *invocations == 0 {
            continue;
        }
        t.push_str(&format!(
            "| {name} | {instances} | {invocations} | {:.1} MB |\n",
            *kb as f64 / 1024.0
        ));
    }

    t.push_str("\n| invariant (checked in PostgreSQL and the fake ERP after the run) | result |\n|---|---|\n");
    for (what, result) in checks {
        t.push_str(&format!(
            "| {what} | {} |\n",
            match result {
                Ok(s) => s.clone(),
                Err(e) => format!("BROKEN: {e}"),
            }
        ));
    }
    t.push_str(&format!(
        "\nPaid orders still queued for the ERP when the run ended: {} (the sync is throttled by \
         `erp.sync.max_per_second`).\n",
        driven.erp_backlog
    ));
    t.push_str(&match leaks {
        [] => "Logs of the run searched for secrets (signing key, payment key, passwords, bearer tokens, JWTs, card numbers): none found.\n".to_string(),
        found => format!("Logs of the run searched for secrets: FOUND {}.\n", found.len()),
    });
    t.push_str(&format!(
        "\nLocust's report with charts: `target/bench/load.html` (and `load_*.csv`); gateway was {}.\n",
        driven.gateway
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(stage: i64, ms: f64, outcome: &str) -> Record {
        Record {
            kind: "req".into(),
            t: 0.0,
            stage,
            name: "GET /products".into(),
            status: if outcome == "error" { 500 } else { 200 },
            ms,
            outcome: outcome.into(),
            detail: None,
            key: None,
            order_id: None,
            flash: false,
            problem: None,
            transaction_status: None,
            order_status: None,
        }
    }

    fn stages(records: &[Record]) -> Vec<Stage> {
        let mut stages: Vec<Stage> = (0..3)
            .map(|i| Stage {
                users: 10 * (i + 1),
                seconds: 10,
                figures: Figures::default(),
            })
            .collect();
        for r in records {
            stages[r.stage as usize].figures.add(r);
        }
        stages
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), 50.0);
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut v, 1.0), 100.0);
        assert!(percentile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn the_knee_is_the_first_stage_over_the_target_or_with_errors() {
        // Stage 2's p99 leaves 200 ms: 2 of its 100 requests take 250 ms.
        let mut records: Vec<Record> = (0..100).map(|_| req(0, 20.0, "ok")).collect();
        records.extend((0..98).map(|_| req(1, 30.0, "ok")));
        records.extend((0..2).map(|_| req(1, 250.0, "ok")));
        records.extend((0..100).map(|_| req(2, 400.0, "ok")));
        assert_eq!(knee(&mut stages(&records), 0).map(|k| k.0), Some(1));

        // One slow request in a hundred is within p99.
        let mut records: Vec<Record> = (0..99).map(|_| req(0, 20.0, "ok")).collect();
        records.push(req(0, 900.0, "ok"));
        assert_eq!(knee(&mut stages(&records), 0), None);

        // An error is a knee whatever the latency.
        let mut records: Vec<Record> = (0..100).map(|_| req(0, 5.0, "ok")).collect();
        records.push(req(0, 5.0, "error"));
        assert_eq!(knee(&mut stages(&records), 0), Some((0, 5.0, 1)));

        // Warm-up stages are not counted.
        let mut records: Vec<Record> = (0..100).map(|_| req(0, 900.0, "ok")).collect();
        records.extend((0..100).map(|_| req(1, 20.0, "ok")));
        records.extend((0..100).map(|_| req(2, 300.0, "ok")));
        assert_eq!(knee(&mut stages(&records), 1).map(|k| k.0), Some(2));

        // Business answers and retries are not errors.
        let mut records: Vec<Record> = (0..100).map(|_| req(0, 5.0, "business")).collect();
        records.extend((0..100).map(|_| req(0, 5.0, "retry")));
        assert_eq!(knee(&mut stages(&records), 0), None);
    }
}
