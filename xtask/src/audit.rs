//! `cargo xtask audit`: the dependency audit. `cargo deny --offline check bans licenses sources` against the
//! workspace's `deny.toml`: every crate under a license the file names, from crates.io only, no wildcard version
//! requirements, and duplicate versions reported (the AWS SDK brings several). cargo-deny is installed from
//! crates.io into `.niaga/tools/` first when missing, with cargo's own progress output.
//!
//! Advisories are not checked: the RustSec database is fetched from GitHub, which Niaga's machines and CI cannot
//! reach. `--offline` keeps cargo-deny from trying to fetch anything; it reads `Cargo.lock` and the crates cargo
//! already downloaded.

use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The cargo-deny release `deny.toml` is written for.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("unknown argument `{a}`\n\ncargo xtask audit");
    }
    let deny = ensure_cargo_deny()?;
    step("cargo deny --offline check bans licenses sources (deny.toml; advisories need GitHub and are left out)");
    services::run_visible(
        Command::new(&deny)
            .args(["--offline", "check", "bans", "licenses", "sources"])
            .current_dir(crate::workspace_root()),
        "cargo deny check",
    )
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
