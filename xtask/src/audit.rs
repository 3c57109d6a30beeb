//! `cargo xtask audit`: the dependency audit. `cargo deny --offline check bans licenses sources` against the
//! workspace's `deny.toml`: every crate under a license the file names, from crates.io only, no wildcard version
//! requirements, and duplicate versions reported (the AWS SDK brings several). cargo-deny is installed from
//! crates.io into `.niaga/tools/` first when missing, with cargo's own progress output.
//!
//! Advisories are not checked: the RustSec database is fetched from GitHub, which Niaga's machines and CI cannot
//! reach. `--offline` keeps cargo-deny from trying to fetch anything; it reads `Cargo.lock` and the crates cargo
//! has downloaded.
//!
//! cargo-deny reads the metadata of every platform's crates in the lock file (`deny.toml` names no targets), while
//! a build downloads only the host's. So the audit first runs `cargo fetch --locked`, which downloads the crates
//! of every platform, and never depends on what the machine's cargo cache happens to hold. `--cold` proves it: the
//! fetch and the check run with `CARGO_HOME` pointed at a new, empty folder, as on a machine that has never built
//! Niaga. CI runs the audit that way.

use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The cargo-deny release `deny.toml` is written for.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn run(args: &[String]) -> Result<()> {
    let mut cold = false;
    for a in args {
        match a.as_str() {
            "--cold" => cold = true,
            _ => bail!("unknown argument `{a}`\n\ncargo xtask audit [--cold]"),
        }
    }
    let deny = ensure_cargo_deny()?;
    let cargo_home = if cold {
        let home = services::state_dir().join("audit-cargo-home");
        if home.exists() {
            std::fs::remove_dir_all(&home).with_context(|| format!("emptying {}", home.display()))?;
        }
        std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        step(format!(
            "--cold: the audit runs with CARGO_HOME={}, a new and empty cargo cache",
            home.display()
        ));
        Some(home)
    } else {
        None
    };
    let with_home = |c: &mut Command| {
        if let Some(home) = &cargo_home {
            c.env("CARGO_HOME", home);
        }
    };

    step("cargo fetch --locked: the crates of every platform in Cargo.lock, which cargo-deny reads");
    let started = Instant::now();
    let mut fetch = services::cargo();
    fetch.args(["fetch", "--locked"]);
    with_home(&mut fetch);
    services::run_visible(&mut fetch, "cargo fetch")?;
    step(format!("fetched in {:.0} s", started.elapsed().as_secs_f64()));

    step("cargo deny --offline check bans licenses sources (deny.toml; advisories need GitHub and are left out)");
    let mut check = Command::new(&deny);
    check
        .args(["--offline", "check", "bans", "licenses", "sources"])
        .current_dir(crate::workspace_root());
    with_home(&mut check);
    let checked = services::run_visible(&mut check, "cargo deny check");
    if let Some(home) = &cargo_home {
        // Gigabytes of sources nobody reads again; a failed removal leaves only disk behind.
        let _ = std::fs::remove_dir_all(home);
    }
    checked
}

/// Where this project keeps its cargo-deny: `.niaga/tools/cargo-deny-<version>/bin/cargo-deny`, the release
/// `deny.toml` is written for, whatever else the machine has.
fn binary() -> PathBuf {
    services::state_dir()
        .join("tools")
        .join(format!("cargo-deny-{CARGO_DENY_VERSION}"))
        .join("bin/cargo-deny")
}

fn ensure_cargo_deny() -> Result<PathBuf> {
    let deny = binary();
    if deny.is_file() {
        return Ok(deny);
    }
    let root = deny
        .parent()
        .and_then(|bin| bin.parent())
        .context("cargo-deny's folder")?
        .to_path_buf();
    step(format!(
        "installing cargo-deny {CARGO_DENY_VERSION} from crates.io into {} (cargo install --locked --debug: about a \
         minute on 2 cores, where an optimised build takes three and a half; the check takes seconds either way)",
        root.display()
    ));
    let started = Instant::now();
    let mut install = services::cargo();
    install
        .args([
            "install",
            "--locked",
            "--debug",
            "cargo-deny",
            "--version",
            CARGO_DENY_VERSION,
        ])
        .arg("--root")
        .arg(&root)
        // Its own temporary target directory: the workspace's build lock stays free, and no artefact of the tool
        // lands beside Niaga's.
        .env_remove("CARGO_TARGET_DIR");
    services::run_visible(&mut install, "cargo install cargo-deny")?;
    step(format!(
        "cargo-deny installed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    if !deny.is_file() {
        bail!("cargo install finished but {} is not there", deny.display());
    }
    Ok(deny)
}
