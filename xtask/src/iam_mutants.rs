//! `cargo xtask iam-mutants`: proves that the suite notices a missing grant. For each statement of each function's
//! rendered policy (or a stated sample of them), the function's principal in moto gets its policy without that
//! statement, and the tests that exercise the function run against it; at least one of them must fail. A statement
//! whose removal breaks nothing is reported: either the function never needs it, or no test exercises that path.
//!
//! The tests that exercise a function: those that build its clients with `testkit::aws_config_for("<function>")`
//! (found in the test sources), and the end-to-end tests, which run every function binary as its own principal
//! (the queue workers polled by the gateway as themselves, as Lambda's event-source mapping does) and fail on any
//! call IAM refused, even one a fallback hid.
//!
//! Not mutated: statements only Lambda itself uses, which no code of Niaga calls and so no local test can miss:
//! `OwnLogs` (Lambda writes the function's output to its log group). `xtask/tests/plan_checks.rs` checks them on
//! the plan instead.

use crate::iam::{self, Stage};
use crate::manifest::Manifest;
use crate::services::{self, step, Postgres};
use anyhow::{bail, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

/// One mutant: `function`'s policy without statement `index` (`sid`).
#[derive(Debug, Clone)]
struct Mutant {
    function: String,
    index: usize,
    sid: String,
    actions: String,
}

/// What happened to a mutant.
#[derive(Debug)]
struct Outcome {
    mutant: Mutant,
    killed: bool,
    seconds: f64,
}

const START: &str = "<!-- iam-mutants:start -->";
const END: &str = "<!-- iam-mutants:end -->";

pub async fn run(args: &[String]) -> Result<()> {
    let sample: Option<usize> = args
        .iter()
        .position(|a| a == "--sample")
        .map(|i| args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(6));
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let manifest = Manifest::load_workspace()?;
    // The policies under test come from a terraform plan.
    crate::terraform::require()?;
    let pg = Postgres::start(
        std::env::var("NIAGA_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(54329),
    )?;
    let admin = pg.url("postgres");
    crate::localdb::prepare_test_templates(&admin).await?;
    step("building every binary and test (the mutants reuse them)");
    services::run_visible(
        services::cargo().args(["build", "--workspace", "--bins"]),
        "cargo build",
    )?;
    let policies = iam::render(&manifest, Stage::Tests)?;
    let mut mutants = all_mutants(&policies);
    let service_only = mutants.iter().filter(|m| used_by_lambda_only(m)).count();
    mutants.retain(|m| !used_by_lambda_only(m));
    if let Some(f) = &only {
        mutants.retain(|m| &m.function == f);
    }
    let total = mutants.len();
    if let Some(n) = sample {
        mutants = spread(mutants, n);
    }
    if mutants.is_empty() {
        bail!("no statement to mutate");
    }
    let port: u16 = std::env::var("NIAGA_TEST_MOTO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5010);
    let logs = services::state_dir().join("logs/iam-mutants");
    std::fs::create_dir_all(&logs)?;
    let filters = filters(&manifest)?;

    // The unmutated policies must pass the same tests, or a failure would prove nothing.
    let functions: Vec<&String> = mutants.iter().map(|m| &m.function).collect();
    let union = functions
        .iter()
        .map(|f| filters[*f].as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(" | ");
    step(format!("baseline: the rendered policies against {union}"));
    let baseline_log = logs.join("baseline.log");
    let passed = iam::run_suite(
        &admin,
        &pg.ca_path(),
        port,
        &policies,
        &["-E".into(), union],
        Some(&baseline_log),
    )
    .await?;
    if !passed {
        bail!(
            "the tests fail with the policies as rendered; fix that first (see {})",
            baseline_log.display()
        );
    }

    let started = Instant::now();
    let mut outcomes = Vec::new();
    for (n, m) in mutants.iter().enumerate() {
        let mut mutated = policies.clone();
        let policy = iam::without_statement(&policies[&m.function], m.index);
        mutated.insert(m.function.clone(), policy);
        let t = Instant::now();
        let log = logs.join(format!("{}-{}.log", m.function, m.sid));
        let filter = filters[&m.function].clone();
        let passed = iam::run_suite(
            &admin,
            &pg.ca_path(),
            port,
            &mutated,
            &["-E".into(), filter],
            Some(&log),
        )
        .await?;
        let outcome = Outcome {
            mutant: m.clone(),
            killed: !passed,
            seconds: t.elapsed().as_secs_f64(),
        };
        step(format!(
            "[{}/{}] {} without {}: {} ({:.0} s)",
            n + 1,
            mutants.len(),
            m.function,
            m.sid,
            if outcome.killed {
                "a test failed (killed)"
            } else {
                "NOTHING FAILED (survived)"
            },
            outcome.seconds
        ));
        outcomes.push(outcome);
    }
    if pg.started_here() {
        pg.stop()?;
    }
    let report = render(&outcomes, total, service_only, sample, started.elapsed().as_secs_f64());
    println!("\n{report}");
    let out = crate::target_dir().join("bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("iam-mutants.md"), &report)?;
    if sample.is_none() && only.is_none() {
        publish(&report)?;
    }
    let survivors: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.killed)
        .map(|o| format!("{} without {}", o.mutant.function, o.mutant.sid))
        .collect();
    if !survivors.is_empty() {
        bail!(
            "no test failed for {} (logs in {}): a grant the suite does not notice",
            survivors.join(", "),
            logs.display()
        );
    }
    Ok(())
}

/// A statement only Lambda itself uses: the log grants (Lambda writes the function's output under its role).
fn used_by_lambda_only(m: &Mutant) -> bool {
    m.actions.split(", ").all(|a| a.starts_with("logs:"))
}

fn all_mutants(policies: &BTreeMap<String, Value>) -> Vec<Mutant> {
    let mut out = Vec::new();
    for (function, policy) in policies {
        for (index, s) in policy["Statement"].as_array().into_iter().flatten().enumerate() {
            let actions = match &s["Action"] {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            out.push(Mutant {
                function: function.clone(),
                index,
                sid: s["Sid"]
                    .as_str()
                    .map_or_else(|| format!("statement{index}"), str::to_string),
                actions,
            });
        }
    }
    out
}

/// `n` mutants spread evenly over the list (every statement kind and function gets its turn as `n` grows).
fn spread(mutants: Vec<Mutant>, n: usize) -> Vec<Mutant> {
    let len = mutants.len();
    if n >= len {
        return mutants;
    }
    (0..n).map(|i| mutants[i * len / n].clone()).collect()
}

/// The nextest filter of the tests that exercise each function.
fn filters(manifest: &Manifest) -> Result<BTreeMap<String, String>> {
    let root = crate::workspace_root();
    let mut sources = Vec::new();
    for dir in ["functions", "shared"] {
        for pkg in std::fs::read_dir(root.join(dir))?.flatten() {
            let tests = pkg.path().join("tests");
            let mut stack = vec![tests];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        let text = std::fs::read_to_string(&p).unwrap_or_default();
                        let package = cargo_name(&pkg.path());
                        sources.push((package, text));
                    }
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for f in &manifest.functions {
        let needle = format!("aws_config_for(\"{}\")", f.name);
        let mut parts: Vec<String> = sources
            .iter()
            .filter(|(_, text)| text.contains(&needle))
            .map(|(pkg, _)| format!("(package({pkg}) & kind(test))"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // The end-to-end tests run every function binary as its own principal.
        parts.push("binary(e2e)".into());
        out.insert(f.name.clone(), parts.join(" | "));
    }
    Ok(out)
}

fn cargo_name(package_dir: &std::path::Path) -> String {
    std::fs::read_to_string(package_dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("name = ")
                    .map(|n| n.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| {
            package_dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
}

fn render(outcomes: &[Outcome], total: usize, service_only: usize, sample: Option<usize>, seconds: f64) -> String {
    let killed = outcomes.iter().filter(|o| o.killed).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "`cargo xtask iam-mutants`{}: {} of {total} statements mutated ({}), {killed} killed, {} survived, in {:.0} min \
         (moto 5.2.1, {}). Not mutated: {service_only} `OwnLogs` statements, which only Lambda uses (checked on the \
         plan).\n",
        sample.map(|n| format!(" --sample {n}")).unwrap_or_default(),
        outcomes.len(),
        if sample.is_some() { "an even spread" } else { "all" },
        outcomes.len() - killed,
        seconds / 60.0,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let _ = writeln!(s, "| function | statement dropped | actions | a test failed |");
    let _ = writeln!(s, "|---|---|---|---|");
    for o in outcomes {
        let verdict = if o.killed { "yes" } else { "**no**" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {verdict} |",
            o.mutant.function, o.mutant.sid, o.mutant.actions
        );
    }
    s
}

/// Replaces the report between the markers in docs/testing.md.
fn publish(report: &str) -> Result<()> {
    let path = crate::workspace_root().join("docs/testing.md");
    let text = std::fs::read_to_string(&path)?;
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        bail!("docs/testing.md lacks the {START} … {END} markers");
    };
    let new = format!("{}{START}\n{report}{}", &text[..a], &text[b..]);
    std::fs::write(&path, new)?;
    step(format!("wrote the result into {}", path.display()));
    Ok(())
}
