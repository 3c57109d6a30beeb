//! `cargo xtask bench`: package size and cold start per function.
//!
//! - Package size: `cargo lambda build --release --arm64 --output-format zip`, the zip Lambda would receive.
//! - Cold start: process spawn to first response under the local Lambda runtime, for a release build on this
//!   machine (arm64 binaries do not run here), with real PostgreSQL and moto behind it: the function fetches its
//!   secrets and opens its connections exactly as in AWS. Each figure is the median of several cold starts,
//!   interleaved with the same number of `hello-lambda` cold starts, and reported as a ratio to hello-lambda,
//!   because absolute times on a shared two-core machine are noise.
//!
//! - Checkout (see [`crate::checkout_bench`]): `POST /orders` server-side time against the bare SQL it runs, and
//!   flash-sale throughput against pgbench.
//! - Endpoints (see [`crate::endpoints_bench`]): warm p50/p99 of each read endpoint against the bare SQL it runs,
//!   and peak RSS per function under load against hello-lambda's.
//! - The async backbone ([`crate::backbone_bench`]) and exports ([`crate::exports_bench`]).
//!
//! Each part's table prints, goes to `target/bench/<part>.md`, and replaces the part's block in
//! `docs/performance.md` (between `<!-- bench:<part> -->` and `<!-- /bench:<part> -->`), so the documented figures
//! are always this command's output. `--only cold|checkout|endpoints|backbone|exports` runs one part; `--no-zip`
//! skips the arm64 packaging.

use crate::localrt::{FunctionSpec, LocalRuntime, RuntimeOptions};
use crate::manifest::Manifest;
use crate::services::{self, step, Moto, Postgres};
use crate::stack::StackSettings;
use anyhow::{bail, Context, Result};
use std::time::Duration;

/// Zip size target from the skeleton issue.
const ZIP_TARGET_BYTES: u64 = 4 * 1024 * 1024;
/// Cold-start target as a ratio to hello-lambda.
const COLD_TARGET_RATIO: f64 = 1.3;
const HELLO: &str = "hello-lambda";

/// The event each function answers on its first invocation in the benchmark.
fn bench_event(function: &str) -> &'static str {
    match function {
        "catalog-api" => "catalog-api/get-product.json",
        "health-api" => "health-api/get-health.json",
        _ => "warmup.json",
    }
}

pub async fn run(args: &[String]) -> Result<()> {
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()
        .context("--rounds takes a number")?
        .unwrap_or(15);
    let skip_zip = args.iter().any(|a| a == "--no-zip");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    if let Some(o) = only {
        if !matches!(o, "cold" | "checkout" | "endpoints" | "backbone" | "exports") {
            bail!("--only takes `cold`, `checkout`, `endpoints`, `backbone` or `exports`, not `{o}`");
        }
    }
    let manifest = Manifest::load_workspace()?;
    let mut names: Vec<String> = manifest.functions.iter().map(|f| f.name.clone()).collect();
    names.push(HELLO.to_string());

    let sizes = if skip_zip || only.is_some() {
        Vec::new()
    } else {
        zip_sizes(&names)?
    };

    step("building release binaries for this machine (benchmarks never run debug builds)");
    let mut build = services::cargo();
    build.args(["build", "--release", "-p", crate::checkout_bench::SQL_BENCH]);
    build.args(["-p", crate::exports_bench::PROBE]);
    // One part builds only what it runs (fat-LTO release links are minutes each on two cores).
    let built: Vec<String> = match only {
        Some("endpoints") => crate::endpoints_bench::FUNCTIONS
            .iter()
            .map(|f| f.to_string())
            .chain([HELLO.to_string()])
            .collect(),
        _ => names.clone(),
    };
    for n in &built {
        build.args(["-p", n]);
    }
    services::run_visible(&mut build, "cargo build --release")?;

    let env = BenchEnv::start().await?;
    if only.is_none() || only == Some("backbone") {
        publish("backbone", &crate::backbone_bench::run(&env, &manifest).await?)?;
    }
    if only.is_none() || only == Some("exports") {
        publish("exports", &crate::exports_bench::run(&env.pg).await?)?;
    }
    if only.is_none() || only == Some("checkout") {
        publish("checkout", &crate::checkout_bench::run(&env, &manifest).await?)?;
    }
    if only.is_none() || only == Some("endpoints") {
        publish("endpoints", &crate::endpoints_bench::run(&env, &manifest).await?)?;
    }
    if only.is_some_and(|o| o != "cold") {
        return env.stop();
    }
    let cold = cold_starts(&env, &manifest, rounds).await?;
    env.stop()?;

    let mut table = String::new();
    table.push_str(&format!(
        "| function | zip (arm64) | zip target ≤ 4 MB | cold start / hello-lambda (median of {rounds}) | target ≤ {COLD_TARGET_RATIO}× | init phases (median ms): SDK config / secrets / database |\n"
    ));
    table.push_str("|---|---:|:--:|---:|:--:|---|\n");
    let phases = init_phases();
    let hello_ms = cold
        .iter()
        .find(|(n, _)| n == HELLO)
        .map(|(_, ms)| *ms)
        .context("hello-lambda measured")?;
    for name in &names {
        let size = sizes.iter().find(|(n, _)| n == name).map(|(_, b)| *b);
        let ms = cold.iter().find(|(n, _)| n == name).map(|(_, ms)| *ms);
        let ratio = ms.map(|m| m / hello_ms);
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            size.map_or("-".into(), |b| format!("{:.2} MB", b as f64 / 1_048_576.0)),
            size.map_or("-", |b| if b <= ZIP_TARGET_BYTES { "yes" } else { "no" }),
            ratio.map_or("-".into(), |r| format!("{r:.2}×")),
            if name == HELLO {
                "baseline"
            } else if ratio.is_some_and(|r| r <= COLD_TARGET_RATIO) {
                "yes"
            } else {
                "no"
            },
            phases
                .get(name)
                .map_or("-".into(), |p| format!("{:.1} / {:.1} / {:.1}", p[0], p[1], p[2])),
        ));
    }
    table.push_str(&format!(
        "\nhello-lambda cold start (the baseline): median {hello_ms:.1} ms on this machine; ratios are what to compare. \
         A function's cold start includes fetching its secrets from the emulator and opening its database connections \
         (the phases column), which hello-lambda does not do.\n"
    ));
    if sizes.is_empty() {
        // Without the zips the table has no sizes: the document keeps the last full figures.
        println!("\n{table}");
        let out = crate::target_dir().join("bench");
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("skeleton.md"), &table)?;
        step(format!(
            "wrote {} (docs/performance.md left as it is: no zip sizes)",
            out.join("skeleton.md").display()
        ));
        Ok(())
    } else {
        publish("skeleton", &table)
    }
}

/// Builds each function's release arm64 zip with cargo-lambda and returns the sizes.
fn zip_sizes(names: &[String]) -> Result<Vec<(String, u64)>> {
    let dir = crate::target_dir().join("lambda");
    crate::zips::build("release", names, &dir)?;
    names
        .iter()
        .map(|n| Ok((n.clone(), crate::zips::check_arm64(&crate::zips::path(&dir, n))?)))
        .collect()
}

/// The payment server key in the benchmark environment's secret.
pub const BENCH_PAYMENTS_KEY: &str = "SB-Mid-server-bench";

/// What every benchmark runs against: a project-local PostgreSQL with a seeded `niaga_bench` database, moto, and
/// the secrets the functions read at cold start.
pub struct BenchEnv {
    pub pg: Postgres,
    pub moto: Moto,
    pub settings: StackSettings,
    /// The JWT signing key in the app secret, so the benchmark can mint tokens the functions accept.
    pub jwt_key: String,
}

impl BenchEnv {
    /// The manifest's DynamoDB tables (the breaker's state, the rate limits, the settings cache) on the
    /// environment's moto, as terraform/persistence creates them; a table that exists already is kept.
    pub async fn create_tables(&self, manifest: &Manifest) -> Result<()> {
        crate::provision::tables(&self.moto.sdk_config().await, manifest, crate::LOCAL_ENV).await
    }

    pub async fn start() -> Result<BenchEnv> {
        let pg = Postgres::start(
            std::env::var("NIAGA_PG_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(54329),
        )?;
        crate::localdb::prepare(
            &pg.url("postgres"),
            "niaga_bench",
            Some(store::seed::SeedSize::default()),
        )
        .await?;
        let mut moto = Moto::start_enforcing(
            std::env::var("NIAGA_BENCH_MOTO_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(5020),
        )?;
        // Each function as its own principal; this process (setup, queues, tables) as the admin.
        let principals = crate::iam::enforce(&mut moto, &Manifest::load_workspace()?, crate::iam::Stage::Local).await?;
        for (k, v) in moto.admin_env() {
            std::env::set_var(k, v);
        }
        let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let app_secret = testkit::put_secret(
            "niaga/bench/app",
            &serde_json::json!({ "jwt_signing_key": key }).to_string(),
        )
        .await;
        let db_secret =
            testkit::put_secret("niaga/bench/database", r#"{"username":"postgres","password":"bench"}"#).await;
        let payments_secret = testkit::put_secret(
            "niaga/bench/payments",
            &serde_json::json!({ "server_key": BENCH_PAYMENTS_KEY }).to_string(),
        )
        .await;
        let settings = StackSettings {
            database_url: pg.url("niaga_bench"),
            aws_endpoint: moto.endpoint(),
            app_secret_id: app_secret,
            db_secret_id: Some(db_secret),
            payments_secret_id: Some(payments_secret),
            // info: each function logs its cold-start phases, which the table breaks the figure down by.
            log: "info".into(),
            // erp-sync-worker needs an ERP address to start; nothing in the benchmark sends it orders.
            extra_env: vec![("NIAGA_ERP_URL".into(), "http://127.0.0.1:7071".into())],
            principals,
        };
        Ok(BenchEnv {
            pg,
            moto,
            settings,
            jwt_key: key,
        })
    }

    pub fn stop(self) -> Result<()> {
        drop(self.moto);
        if self.pg.started_here() {
            self.pg.stop()?;
        }
        Ok(())
    }
}

/// Median cold start in milliseconds per function (and hello-lambda), interleaved round by round.
async fn cold_starts(env: &BenchEnv, manifest: &Manifest, rounds: usize) -> Result<Vec<(String, f64)>> {
    let settings = &env.settings;
    let mut specs = settings.specs(manifest, "release");
    specs.push(FunctionSpec::new(HELLO, crate::bin_path("release", HELLO)).with_timeout_s(10));
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let log_dir = services::state_dir().join("logs/bench");
    // Start from empty logs: the phase breakdown is read back from this run's lines only.
    let _ = std::fs::remove_dir_all(&log_dir);
    let options = RuntimeOptions {
        log_dir: Some(log_dir),
        echo: false,
        ..Default::default()
    };
    let mut rt = LocalRuntime::start_with(([127, 0, 0, 1], 0).into(), specs, options).await?;
    let mut samples: Vec<(String, Vec<f64>)> = names.iter().map(|n| (n.clone(), Vec::new())).collect();
    step(format!(
        "measuring cold starts: {rounds} rounds × {} functions",
        names.len()
    ));
    for round in 0..=rounds {
        for (name, list) in samples.iter_mut() {
            let event = testkit::event(bench_event(name));
            let inv = rt
                .invoke(name, event, None)
                .await
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if let Err(e) = &inv.response {
                bail!("{name} failed its benchmark invocation: {e}");
            }
            let stats = rt.stats(name).context("stats")?;
            let last = stats.instances.last().context("an instance ran")?;
            let first = last.first_response.context("a first response was timed")?;
            // Round 0 warms the file cache and the database; it is not counted.
            if round > 0 {
                list.push(first.as_secs_f64() * 1000.0);
            }
            rt.kill_instances(name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rt.shutdown().await;
    Ok(samples.into_iter().map(|(n, mut v)| (n, median(&mut v))).collect())
}

/// Median SDK / secrets / database init phases per function, from the "cold start complete" log lines that
/// `platform::init` writes.
fn init_phases() -> std::collections::BTreeMap<String, [f64; 3]> {
    let mut samples: std::collections::BTreeMap<String, [Vec<f64>; 3]> = Default::default();
    let dir = services::state_dir().join("logs/bench");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["message"] != "cold start complete" {
                continue;
            }
            let (Some(f), Some(a), Some(b), Some(c)) = (
                v["function"].as_str(),
                v["sdk_ms"].as_f64(),
                v["secrets_ms"].as_f64(),
                v["database_ms"].as_f64(),
            ) else {
                continue;
            };
            let e = samples.entry(f.to_string()).or_default();
            e[0].push(a);
            e[1].push(b);
            e[2].push(c);
        }
    }
    samples
        .into_iter()
        .map(|(f, [mut a, mut b, mut c])| (f, [median(&mut a), median(&mut b), median(&mut c)]))
        .collect()
}

/// The document whose blocks the bench rewrites.
const FIGURES: &str = "docs/performance.md";

/// Prints a part's table, writes `target/bench/<part>.md`, and replaces the part's block in [`FIGURES`].
pub fn publish(part: &str, table: &str) -> Result<()> {
    println!("\n{table}");
    let out = crate::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    let file = out.join(format!("{part}.md"));
    std::fs::write(&file, table)?;
    step(format!("wrote {}", file.display()));
    let doc_path = crate::workspace_root().join(FIGURES);
    let doc = std::fs::read_to_string(&doc_path)?;
    match replace_block(&doc, part, table) {
        Some(updated) => {
            std::fs::write(&doc_path, updated)?;
            step(format!("updated {FIGURES}'s `{part}` figures"));
        }
        None => step(format!("{FIGURES} has no `<!-- bench:{part} -->` block; left as it is")),
    }
    Ok(())
}

/// `text` with the lines between `<!-- bench:<part> -->` and `<!-- /bench:<part> -->` replaced by `table`.
fn replace_block(text: &str, part: &str, table: &str) -> Option<String> {
    let (open, close) = (format!("<!-- bench:{part} -->\n"), format!("<!-- /bench:{part} -->"));
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(format!("{}{}\n{}", &text[..start], table.trim_end(), &text[end..]))
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_s_block_in_the_readme_is_replaced_and_the_rest_kept() {
        let readme = "intro\n<!-- bench:checkout -->\nold | table\n<!-- /bench:checkout -->\nafter\n";
        assert_eq!(
            replace_block(readme, "checkout", "new | table\n").unwrap(),
            "intro\n<!-- bench:checkout -->\nnew | table\n<!-- /bench:checkout -->\nafter\n"
        );
        assert_eq!(replace_block(readme, "exports", "x"), None);
    }
}
