//! `cargo xtask fuzz [--short]`: schemathesis against the whole local stack, driven by the OpenAPI document the
//! gateway serves (generated from the handlers' types, see [`crate::openapi`]).
//!
//! The stack is the one `cargo xtask up` runs, on its own ports and its own database (`niaga_fuzz`, created afresh
//! and seeded each run, since the fuzzer changes settings through the admin API, with the rate-limit budgets
//! raised so the fuzzer reaches the handlers instead of the limiter). This module logs in
//! as a partner, an admin and the AI agent, and runs schemathesis with `xtask/fuzz/schemathesis.toml`, which calls
//! each operation as the role that uses it. Every check runs except the two the file explains, so the run fails
//! on any 5xx, any answer that does not match its documented schema, status or content type, any schema-invalid
//! request that is not refused with a 4xx, any operation that answers without a token or with a forged one, and
//! any resource still served after its deletion.
//!
//! A run must generate at least [`MIN_CASES`] cases. `--short` (CI) uses a fixed seed and 100 examples per
//! operation; the full run uses a fresh seed (printed, to replay) and 400. Reports go to `target/fuzz/`.

use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use std::process::Command;

/// The schemathesis release `xtask/fuzz/schemathesis.toml` is written for.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The fewest test cases a run may generate across the API.
pub const MIN_CASES: u64 = 2000;

/// The run's options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub short: bool,
}

/// The rate-limit budgets the fuzz database gets: far above what the fuzzer sends in a minute.
pub const FUZZ_BUDGET_PER_MINUTE: i64 = 10_000;

/// Runs schemathesis against the gateway at `url`; fails on any failure it reports or too few cases.
pub async fn run(url: &str, options: Options) -> Result<()> {
    let st = services::ensure_venv_tool("schemathesis", "schemathesis", SCHEMATHESIS_VERSION)?;
    let http = reqwest::Client::new();
    let partner = crate::smoke::login(&http, url, "p-00001", store::seed::DEV_PASSWORD).await?;
    let admin = crate::smoke::login(&http, url, "admin", store::seed::DEV_PASSWORD).await?;
    let agent = crate::smoke::agent_login(&http, url).await?;
    let (examples, seed) = if options.short {
        (100, 1u64)
    } else {
        (400, u64::from(uuid::Uuid::new_v4().as_fields().0))
    };
    let reports = crate::target_dir().join("fuzz");
    std::fs::create_dir_all(&reports)?;
    let config = crate::workspace_root().join("xtask/fuzz/schemathesis.toml");
    step(format!(
        "schemathesis: every operation of {url}/openapi.json, {examples} examples each, seed {seed}"
    ));
    let output = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{url}/openapi.json"))
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--request-timeout", "30"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(&reports)
        .env("NIAGA_FUZZ_PARTNER_TOKEN", &partner)
        .env("NIAGA_FUZZ_ADMIN_TOKEN", &admin)
        .env("NIAGA_FUZZ_AGENT_TOKEN", &agent)
        .env("NO_COLOR", "1")
        .output()
        .context("running schemathesis")?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let cases = generated_cases(&text);
    step(format!(
        "schemathesis generated {} cases; reports in {}",
        cases.map_or("an unknown number of".to_string(), |n| n.to_string()),
        reports.display()
    ));
    if !output.status.success() {
        bail!(
            "schemathesis found failures (seed {seed}); see above and {}",
            reports.display()
        );
    }
    match cases {
        Some(n) if n >= MIN_CASES => Ok(()),
        Some(n) => bail!("schemathesis generated {n} cases, fewer than the {MIN_CASES} the API must be tried with"),
        None => bail!("could not read how many cases schemathesis generated from its summary"),
    }
}

/// `3699 generated, ...` in schemathesis's summary.
fn generated_cases(summary: &str) -> Option<u64> {
    summary
        .lines()
        .rev()
        .filter_map(|l| l.trim().split_once(" generated"))
        .find_map(|(n, _)| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_count_is_read_from_the_summary() {
        let summary = "Test cases:\n  3699 generated, 3 found 3 unique failures, 18 skipped\n";
        assert_eq!(generated_cases(summary), Some(3699));
        assert_eq!(generated_cases("  1370 generated, 1370 passed, 4 skipped"), Some(1370));
        assert_eq!(generated_cases("nothing here"), None);
    }
}
