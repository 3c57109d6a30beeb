//! `cargo xtask <command>`: Niaga's developer commands. Run `cargo xtask help` for the list.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::process::Command;
use xtask::manifest::Manifest;
use xtask::services::{self, step, Postgres};
use xtask::stack::{LocalStack, Scale, StackOptions};

const HELP: &str = "\
cargo xtask <command>

  up [--check]     run the whole system locally: PostgreSQL (migrated, seeded), moto with the terraform
                   persistence layer applied, every function under the local Lambda runtime, and the gateway
                   (with the OpenAPI document at /openapi.json and its page at /docs).
                   --check brings it up, probes it through the gateway, and shuts down.
  fuzz [--short]   bring up a second stack (ports 60 above up's, database niaga_fuzz) and run schemathesis
                   against every operation of its OpenAPI document; fails on any 5xx or schema mismatch
  test [ARGS..]    run every test against a project-local PostgreSQL and moto (ARGS go to cargo nextest)
  gen              regenerate template.yaml from niaga.json and openapi.json from the functions' operations
  seed             migrate and seed the local database (what `up` does first)
  down             stop the local PostgreSQL cluster and any moto this project left running
  bench [--only PART] [--no-zip]
                   build release zips and measure package size and cold start against a hello-world lambda,
                   checkout latency and flash-sale throughput against bare SQL and pgbench, each read
                   endpoint's latency against its SQL and peak RSS under load; rewrites docs/performance.md's figures
  redrive QUEUE [--env ENV]
                   move every message in QUEUE's dead-letter queue back to QUEUE (local moto by default)
  faults [--short] [--only SCENARIO]
                   fault scenarios under load (PostgreSQL connections killed and restarted, functions killed,
                   the emulator frozen, the ERP down and slow), each ending in an invariant check; prints a
                   table and writes target/bench/faults.md
  load [--short]   the load test: Locust's journeys (browsing, partners' checkout and payment, sales agents,
                   AI agents' jobs, a flash sale) ramping against the whole stack in release until the knee;
                   then invariants in PostgreSQL and a secret scan of the logs. Writes target/bench/load.md
                   and Locust's load.html. --short (CI): the debug build, a small ramp, about a minute
  audit [--cold]   the dependency audit: cargo fetch --locked (every platform's crates), then cargo deny
                   --offline check bans licenses sources against deny.toml (installs cargo-deny first when
                   missing). --cold: both with CARGO_HOME in a new, empty folder, as on a fresh machine
  iam-mutants [--sample N] [--only FUNCTION]
                   for each statement of each function's rendered IAM policy (or N spread evenly), run the
                   tests that exercise the function with that statement dropped; each must make a test fail.
                   The full run writes its table into docs/testing.md; every run into target/bench/iam-mutants.md
  stack-check [--no-build]
                   the infrastructure gauntlet: terraform fmt, checkov, the arm64 zips, then terraform apply
                   and destroy of every layer against a fresh moto, checked against niaga.json

Environment: NIAGA_PG_PORT (54329), NIAGA_MOTO_PORT (5000; tests use 5010), NIAGA_GATEWAY_PORT (3000),
NIAGA_INVOKE_PORT (9000), NIAGA_ERP_PORT (7070, the fake ERP), NIAGA_STACK_CHECK_PORT (5030),
NIAGA_BENCH_MOTO_PORT (5020, bench, faults and load), NIAGA_TEST_MOTO_PORT (5010).";

fn port(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{var} must be a port number, got `{v}`")),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r.to_vec()))
        .unwrap_or(("help", vec![]));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cmd {
        "up" => rt.block_on(up(if rest.iter().any(|a| a == "--check") {
            Mode::Check
        } else {
            Mode::Serve
        })),
        "fuzz" => rt.block_on(up(Mode::Fuzz(xtask::fuzz::Options {
            short: rest.iter().any(|a| a == "--short"),
        }))),
        "test" => test(&rest),
        "gen" => gen(),
        "seed" => rt.block_on(seed()),
        "down" => down(),
        "bench" => rt.block_on(xtask::bench::run(&rest)),
        "redrive" => rt.block_on(xtask::redrive::run(&rest)),
        "stack-check" => rt.block_on(xtask::stack_check::run(&rest)),
        "faults" => rt.block_on(xtask::faults::run(&rest)),
        "load" => rt.block_on(xtask::load::run(&rest)),
        "audit" => xtask::audit::run(&rest),
        "iam-mutants" => rt.block_on(xtask::iam_mutants::run(&rest)),
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

fn pg_port() -> Result<u16> {
    port("NIAGA_PG_PORT", 54329)
}

async fn seed() -> Result<()> {
    let pg = Postgres::start(pg_port()?)?;
    xtask::localdb::prepare(&pg.url("postgres"), "niaga", Some(store::seed::SeedSize::default())).await
}

fn down() -> Result<()> {
    let pg_dir = services::state_dir().join("pg");
    if pg_dir.exists() {
        step("stopping PostgreSQL");
        Postgres::locate(pg_port()?)?.stop()?;
    }
    for entry in std::fs::read_dir(services::state_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("moto-") && name.ends_with(".pid") {
            let pid = std::fs::read_to_string(entry.path()).unwrap_or_default();
            step(format!("stopping moto (pid {})", pid.trim()));
            let _ = Command::new("kill").arg(pid.trim()).status();
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn gen() -> Result<()> {
    let manifest = Manifest::load_workspace()?;
    let path = xtask::workspace_root().join("template.yaml");
    std::fs::write(&path, xtask::sam::render(&manifest))?;
    step(format!("wrote {}", path.display()));
    let doc = xtask::openapi::render(&manifest)?;
    let path = xtask::openapi::path();
    std::fs::write(&path, xtask::openapi::to_text(&doc))?;
    step(format!("wrote {}", path.display()));
    Ok(())
}

/// What `up` does once the stack is up.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Serve until Ctrl-C.
    Serve,
    /// Probe the promises a new user relies on, then stop.
    Check,
    /// Run schemathesis against it, then stop: on its own ports and database, so it can run beside `up`.
    Fuzz(xtask::fuzz::Options),
}

async fn up(mode: Mode) -> Result<()> {
    let started = std::time::Instant::now();
    let check = !matches!(mode, Mode::Serve);
    let fuzz = matches!(mode, Mode::Fuzz(_));
    // `fuzz` keeps off `up`'s ports and data: ports 60 above, its own database and terraform state.
    let shift: u16 = if fuzz { 60 } else { 0 };
    let database = if fuzz { "niaga_fuzz" } else { "niaga" };
    let manifest = Manifest::load_workspace()?;
    // terraform creates the emulator's queues, tables and secrets: check it before minutes of building.
    xtask::terraform::require()?;
    let pg = Postgres::start(pg_port()?)?;
    if fuzz {
        xtask::localdb::drop_database(&pg.url("postgres"), database).await?;
    }
    xtask::localdb::prepare(&pg.url("postgres"), database, Some(store::seed::SeedSize::default())).await?;
    if fuzz {
        raise_rate_limits(&pg.url(database)).await?;
    }
    // Not needed to run the stack, but the README's `cargo lambda invoke` against it is.
    let cargo_lambda = match xtask::zips::ensure_cargo_lambda() {
        Ok(bin) => Some(bin),
        Err(e) => {
            step(format!(
                "cargo-lambda could not be installed ({e:#}); `cargo lambda invoke` will not be available"
            ));
            None
        }
    };
    step("building the functions (cargo build --bins)");
    services::run_visible(
        services::cargo().args(["build", "--workspace", "--bins"]),
        "cargo build",
    )?;

    let logs = services::state_dir().join(if fuzz { "logs/fuzz" } else { "logs" });
    let invoke_addr: SocketAddr = ([127, 0, 0, 1], port("NIAGA_INVOKE_PORT", 9000 + shift)?).into();
    let stack = LocalStack::start(
        &manifest,
        StackOptions {
            profile: "debug",
            database_url: pg.url(database),
            moto_port: port("NIAGA_MOTO_PORT", 5000 + shift)?,
            gateway: ([127, 0, 0, 1], port("NIAGA_GATEWAY_PORT", 3000 + shift)?).into(),
            invoke: invoke_addr,
            erp: ([127, 0, 0, 1], port("NIAGA_ERP_PORT", 7070 + shift)?).into(),
            log_dir: logs.clone(),
            echo: !check,
            scale: Scale::One,
            tf_data_dir: fuzz.then(|| services::state_dir().join("fuzz/terraform")),
            log: std::env::var("NIAGA_LOG").unwrap_or_else(|_| "info".into()),
        },
    )
    .await?;
    // `cargo lambda invoke` dials [::1] by default; forward it to the Invoke API when IPv6 loopback exists.
    let forwarder = forward_ipv6_loopback(invoke_addr.port()).await;
    let (runtime, fake_erp, moto) = (&stack.runtime, &stack.fake_erp, &stack.moto);
    let url = stack.gateway.url();
    println!();
    println!(
        "Niaga is running locally (ready in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("  API gateway      {url}   (routes: {url}/_niaga/routes)");
    println!(
        "  Lambda invoke    {}   (cargo lambda invoke <function> --data-file events/...)",
        runtime.invoke_url()
    );
    if let Some(bin) = &cargo_lambda {
        println!(
            "                   cargo-lambda {} is in {}: `export PATH={}:$PATH` to use it",
            xtask::zips::CARGO_LAMBDA_VERSION,
            bin.display(),
            bin.display()
        );
    }
    println!("  PostgreSQL       {}", pg.url(database));
    println!("  moto (AWS)       {}", moto.endpoint());
    println!(
        "  fake ERP         {}   (switches: {}/_fake/switches)",
        fake_erp.url(),
        fake_erp.url()
    );
    println!("  function logs    {}", logs.display());
    println!();
    println!("Try:");
    println!("  curl -s '{url}/products?q=shampoo+argan&limit=3'");
    println!("  curl -s '{url}/products/SHM-00001'");
    println!("  curl -si '{url}/products?limit=101'");
    println!("  curl -s '{url}/health'");
    println!("  curl -s -X POST '{url}/_niaga/schedules/warmup/fire'");
    println!(
        "  # log in as partner p-00001 (every seeded person's password is {}), then quote and order:",
        store::seed::DEV_PASSWORD
    );
    println!(
        "  TOKEN=$(curl -s {url}/auth/token -d grant_type=password -d username=p-00001 -d password={} \\\n      | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
        store::seed::DEV_PASSWORD
    );
    println!(
        "  curl -s {url}/quotes -H \"authorization: Bearer $TOKEN\" -H \"content-type: application/json\" -d '{{\"lines\":[{{\"sku\":\"SHM-00001\",\"quantity\":12}}]}}'"
    );
    println!(
        "  curl -si {url}/orders -H \"authorization: Bearer $TOKEN\" -H \"idempotency-key: $(date +%s%N)\" -H \"content-type: application/json\" -d '{{\"lines\":[{{\"sku\":\"SHM-00001\",\"quantity\":12}}]}}'"
    );
    println!();

    let outcome = if let Mode::Fuzz(options) = mode {
        xtask::fuzz::run(&url, options).await
    } else if check {
        smoke_check(&url, &stack.payments_server_key()?, &stack.principals).await
    } else {
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        println!();
        Ok(())
    };
    step("shutting down");
    if let Some(f) = forwarder {
        f.abort();
    }
    stack.shutdown().await;
    if pg.started_here() {
        pg.stop()?;
    }
    outcome
}

/// The fuzz database's rate-limit budgets, raised so schemathesis reaches the handlers rather than the limiter.
async fn raise_rate_limits(url: &str) -> Result<()> {
    let client = xtask::localdb::connect(url).await?;
    let budget = serde_json::json!(xtask::fuzz::FUZZ_BUDGET_PER_MINUTE);
    client
        .execute(
            "UPDATE system_config SET value = $1 WHERE key LIKE 'ratelimit.%'",
            &[&budget],
        )
        .await
        .context("raising the fuzz database's rate limits")?;
    Ok(())
}

/// Accepts on `[::1]:port` and relays each connection to `127.0.0.1:port`. `None` when IPv6 loopback is not
/// available (then `cargo lambda invoke -A 127.0.0.1` reaches the Invoke API directly).
async fn forward_ipv6_loopback(port: u16) -> Option<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(("::1", port)).await.ok()?;
    Some(tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    }))
}

/// `up --check`: the promises a new user relies on, through the gateway.
async fn smoke_check(url: &str, server_key: &str, principals: &xtask::iam::Principals) -> Result<()> {
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{url}{path}")).send();
    let r = get("/health").await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await?;
    if status != 200 || body["database"]["reachable"] != true {
        bail!("GET /health: {status} {body}");
    }
    let r = get("/products?q=shampoo&limit=3").await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await?;
    if status != 200 || body["items"].as_array().map_or(0, Vec::len) == 0 {
        bail!("GET /products?q=shampoo: {status} {body}");
    }
    let r = get("/products?limit=101").await?;
    if r.status() != 400 {
        bail!("GET /products?limit=101 answered {}", r.status());
    }
    let fired = http.post(format!("{url}/_niaga/schedules/warmup/fire")).send().await?;
    if !fired.status().is_success() {
        bail!("firing the warm-up schedule answered {}", fired.status());
    }
    xtask::smoke::cors(&http, url).await?;
    xtask::smoke::checkout(&http, url).await?;
    xtask::smoke::erp_sync(&http, url, server_key).await?;
    xtask::smoke::agent_job(&http, url).await?;
    xtask::smoke::blast(&http, url).await?;
    let invoke_url = format!("http://127.0.0.1:{}", port("NIAGA_INVOKE_PORT", 9000)?);
    let reports_api = principals
        .get("reports-api")
        .context("reports-api has a principal in moto")?;
    xtask::smoke::export(&http, url, &invoke_url, reports_api).await?;
    step("check passed: health, search, the limit rule, the warm-up schedule, CORS for the configured origins only, login, quote, order, its notification, cancel, a paid order reaching the ERP, an AI agent's job announced by signed webhook, an admin blast reaching every platinum partner, a setting changed under If-Match, and a profit export downloaded through its presigned link");
    Ok(())
}

fn test(args: &[String]) -> Result<()> {
    // The IAM policies come from a terraform plan, and the drift tests plan every layer.
    xtask::terraform::require()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let pg = Postgres::start(pg_port()?)?;
    let admin = pg.url("postgres");
    rt.block_on(xtask::localdb::prepare_test_templates(&admin))?;

    step("building every binary (the runtime tests run the real function binaries)");
    services::run_visible(
        services::cargo().args(["build", "--workspace", "--bins"]),
        "cargo build",
    )?;
    let policies = xtask::iam::render(&Manifest::load_workspace()?, xtask::iam::Stage::Tests)?;
    let passed = rt.block_on(xtask::iam::run_suite(
        &admin,
        &pg.ca_path(),
        port("NIAGA_TEST_MOTO_PORT", 5010)?,
        &policies,
        args,
        None,
    ))?;
    if pg.started_here() {
        pg.stop()?;
    }
    if !passed {
        bail!("tests failed");
    }
    Ok(())
}
