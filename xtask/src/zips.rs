//! The arm64 zips Lambda runs, built by cargo-lambda: `cargo lambda build --arm64 --output-format zip`.
//! `cargo xtask bench` builds them with the release profile and measures them; `cargo xtask stack-check` builds them
//! with the `stack-check` profile (quick to compile) and deploys them to the emulator with terraform.

use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// ELF `e_machine` of AArch64, what Lambda's arm64 architecture runs.
const EM_AARCH64: u16 = 183;

/// The cargo-lambda release that builds the zips.
pub const CARGO_LAMBDA_VERSION: &str = "1.9.2";

/// The zig (PyPI `ziglang`) that cargo-lambda cross-compiles to arm64 with.
pub const ZIGLANG_VERSION: &str = "0.17.1";

/// cargo-lambda alone, pinned, in its own virtual environment, for `cargo lambda invoke` against `cargo xtask up`'s
/// Invoke API; returns the environment's `bin/`.
pub fn ensure_cargo_lambda() -> Result<PathBuf> {
    services::ensure_venv("cargo-lambda", &[("cargo-lambda", CARGO_LAMBDA_VERSION)])
}

/// Installs cargo-lambda and zig, pinned, from PyPI into one virtual environment of the project's own, and returns
/// its `bin/`. Put it first on a child's `PATH` ([`services::path_with`]): `cargo lambda` is found there, and
/// cargo-lambda finds zig through that environment's `python3 -m ziglang`.
pub fn ensure_tools() -> Result<PathBuf> {
    services::ensure_venv(
        "cargo-lambda",
        &[("cargo-lambda", CARGO_LAMBDA_VERSION), ("ziglang", ZIGLANG_VERSION)],
    )
}

/// Builds `names` in one cargo-lambda run with `profile`, writing `<lambda_dir>/<name>/bootstrap.zip`.
pub fn build(profile: &str, names: &[String], lambda_dir: &Path) -> Result<()> {
    let tools = ensure_tools()?;
    step(format!(
        "cargo lambda build --profile {profile} --arm64 --output-format zip ({} functions)",
        names.len()
    ));
    let mut c = services::cargo();
    c.env("PATH", services::path_with(&tools));
    c.args([
        "lambda",
        "build",
        "--profile",
        profile,
        "--arm64",
        "--output-format",
        "zip",
    ]);
    c.arg("--lambda-dir").arg(lambda_dir);
    for n in names {
        c.args(["-p", n]);
    }
    services::run_visible(&mut c, "cargo lambda build")
}

/// Where [`build`] leaves a function's zip.
pub fn path(lambda_dir: &Path, name: &str) -> PathBuf {
    lambda_dir.join(name).join("bootstrap.zip")
}

/// Checks that `zip` is what Lambda's `provided.al2023` arm64 runtime expects: an executable `bootstrap` entry
/// that is an AArch64 ELF binary. Returns the zip's size in bytes.
pub fn check_arm64(zip: &Path) -> Result<u64> {
    let file = std::fs::File::open(zip).with_context(|| format!("{} was not produced", zip.display()))?;
    let size = file.metadata()?.len();
    let mut archive = zip::ZipArchive::new(file).with_context(|| format!("{} is not a zip", zip.display()))?;
    let mut entry = archive
        .by_name("bootstrap")
        .with_context(|| format!("{} has no `bootstrap` entry", zip.display()))?;
    if entry.unix_mode().is_some_and(|m| m & 0o111 == 0) {
        bail!("{}: `bootstrap` is not executable", zip.display());
    }
    let mut header = [0u8; 20];
    entry.read_exact(&mut header)?;
    let machine = u16::from_le_bytes([header[18], header[19]]);
    if &header[..4] != b"\x7fELF" || machine != EM_AARCH64 {
        bail!(
            "{}: `bootstrap` is not an AArch64 ELF binary (e_machine {machine})",
            zip.display()
        );
    }
    Ok(size)
}
