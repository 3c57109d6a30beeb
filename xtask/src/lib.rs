//! Niaga's developer tooling, as a library so its parts can be tested: the manifest, the local services
//! (PostgreSQL cluster, moto), the local Lambda runtime, the local API gateway with its SQS pollers and schedule
//! firing, and the generators. `src/main.rs` turns these into `cargo xtask <command>`.
//!
//! # Layout
//! - [`manifest`]: typed `niaga.json`.
//! - [`localrt`]: a local Lambda service: the Runtime API for function processes and the Invoke API for callers.
//! - [`gateway`]: API Gateway HTTP API v2 emulation, SQS event-source pollers, EventBridge schedule firing.
//! - [`bench`]: the benchmarks (package size, cold start, [`checkout_bench`], [`endpoints_bench`],
//!   [`backbone_bench`], [`exports_bench`]), each part rewriting its figures in README.md.
//! - [`cron`]: EventBridge `cron(...)` / `rate(...)` expressions, evaluated in UTC.
//! - [`sam`]: `template.yaml` (AWS SAM) generated from the manifest.
//! - [`openapi`]: `openapi.json` assembled from the HTTP functions' operations and checked against the manifest.
//! - [`fuzz`]: schemathesis against the whole stack, driven by that document.
//! - [`faults`]: fault scenarios under load, each ending in an invariant check.
//! - [`audit`]: the dependency audit (cargo-deny: bans, licenses, sources).
//! - [`load`]: the load test (Locust's journeys against the whole stack), its knee, peak RSS and invariants.
//! - [`stack`]: the whole local system started in one call, as `up`, `fuzz` and `load` run it.
//! - [`stack_check`]: the infrastructure gauntlet (fmt, checkov, the arm64 zips from [`zips`], terraform apply and
//!   destroy of every layer on moto).
//! - [`terraform`]: the check for terraform and its AWS provider (`NIAGA_TF_PLUGIN_DIR`) that every command running
//!   terraform makes first.
//!
//! This crate is never deployed; no function may depend on it.

pub mod audit;
pub mod backbone_bench;
pub mod bench;
pub mod checkout_bench;
pub mod cron;
pub mod endpoints_bench;
pub mod exports_bench;
pub mod faults;
pub mod fuzz;
pub mod gateway;
pub mod iam;
pub mod iam_mutants;
pub mod load;
pub mod localdb;
pub mod localrt;
pub mod manifest;
pub mod openapi;
pub mod pgtls;
pub mod provision;
pub mod redrive;
pub mod sam;
pub mod services;
pub mod smoke;
pub mod stack;
pub mod stack_check;
pub mod terraform;
pub mod zips;

use std::path::{Path, PathBuf};

/// Environment name used in local physical resource names (`niaga-local-<queue>`, `niaga/local/<secret>`).
pub const LOCAL_ENV: &str = "local";

/// The local exports bucket (`exports_bucket_name` in terraform/env/local.persistence.tfvars).
pub const LOCAL_EXPORTS_BUCKET: &str = "niaga-local-exports";

/// The workspace root (the folder holding `niaga.json`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Path of a workspace binary built in the given profile (`debug` or `release`).
pub fn bin_path(profile: &str, name: &str) -> PathBuf {
    target_dir().join(profile).join(name)
}

/// Physical name of a queue in an environment: `niaga-<env>-<name>`, with `.fifo` for FIFO queues (the functions'
/// own rule, so the local stack and the functions can never disagree).
pub use niaga_aws::sqs::queue_physical_name;

/// Physical name of a secret in an environment: `niaga/<env>/<name>`.
pub fn secret_physical_name(env: &str, name: &str) -> String {
    format!("niaga/{env}/{name}")
}

/// Physical name of a DynamoDB table in an environment: `niaga-<env>-<name>`.
pub use niaga_aws::table_physical_name;
