//! `cargo xtask audit`: the dependency audit. `cargo deny --offline check bans licenses sources` against the
//! workspace's `deny.toml`: every crate under a license the file names, from crates.io only, no wildcard version
//! requirements, and duplicate versions reported (the AWS SDK brings several). cargo-deny is installed from
//! crates.io first when missing, with cargo's own progress output.
//!
//! Advisories are not checked: the RustSec database is fetched from GitHub, which Niaga's machines and CI cannot
//! reach. `--offline` keeps cargo-deny from trying to fetch anything; it reads `Cargo.lock` and the crates cargo
//! already downloaded.

use crate::services::{self, step};
use anyhow::{bail, Result};
use std::time::Instant;

/// The cargo-deny release `deny.toml` is written for; installed when no cargo-deny is on the PATH.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("unknown argument `{a}`\n\ncargo xtask audit");
    }
    ensure_cargo_deny()?;
    step("cargo deny --offline check bans licenses sources (deny.toml; advisories need GitHub and are left out)");
    services::run_visible(
        services::cargo().args(["deny", "--offline", "check", "bans", "licenses", "sources"]),
        "cargo deny check",
    )
}

/// True when `cargo deny` runs.
fn installed() -> bool {
    services::cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_cargo_deny() -> Result<()> {
    if installed() {
        return Ok(());
    }
    step(format!(
        "installing cargo-deny {CARGO_DENY_VERSION} from crates.io (cargo install --locked; a few minutes on 2 cores)"
    ));
    let started = Instant::now();
    let mut install = services::cargo();
    install
        .args(["install", "--locked", "cargo-deny", "--version", CARGO_DENY_VERSION])
        // Its own temporary target directory: the workspace's build lock stays free, and no artefact of the tool
        // lands beside Niaga's.
        .env_remove("CARGO_TARGET_DIR");
    services::run_visible(&mut install, "cargo install cargo-deny")?;
    step(format!(
        "cargo-deny installed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    if !installed() {
        bail!("cargo-deny was installed but `cargo deny` does not run: is ~/.cargo/bin on the PATH?");
    }
    Ok(())
}
