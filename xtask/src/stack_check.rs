//! `cargo xtask stack-check`: the infrastructure gauntlet of seed 004 §3.1, run on this machine and in CI.
//!
//! 1. `terraform fmt -check` over `terraform/`.
//! 2. `checkov` over `terraform/`: zero failures, and every `#checkov:skip` carries its reason inline
//!    (`xtask/tests/checkov_skips.rs` checks the reasons without checkov).
//! 3. Every manifest function's arm64 zip, built by cargo-lambda with the `stack-check` profile (the release
//!    packaging, compiled for build speed), each checked to hold an AArch64 `bootstrap`.
//! 4. A fresh moto, and `terraform apply` of the whole stack through `terraform/tf local`, layer by layer:
//!    network, persistence (with RDS PostgreSQL and the RDS Proxy inside that network), compute (the zips,
//!    CloudFront, provisioned concurrency), observability; each layer is validated first.
//! 5. What the emulator then holds is checked against the manifest: one arm64 function per manifest function
//!    carrying exactly its zip's SHA-256, the HTTP API with exactly the manifest's route keys, an SQS event
//!    source mapping with `ReportBatchItemFailures` per queue worker, and every queue and table.
//! 6. `terraform destroy` in reverse order, after which every layer's state is empty and the emulator has no
//!    function, API, queue or table left.
//!
//! Three emulator gaps leave three things out, each behind a variable that defaults to on:
//! - moto gives every RDS instance the same `DbiResourceId`, so the AWS provider cannot read a second instance
//!   back: no read replica here (`database_read_replica=false`);
//! - moto lacks Application Auto Scaling's `ListTagsForResource`, which the provider calls after registering a
//!   target: no provisioned-concurrency schedule here (`provisioned_concurrency_schedule=false`); the `live`
//!   aliases it would scale are applied;
//! - moto has no CloudFront cache or origin request policies: the distribution uses AWS's managed ones here
//!   (`cdn_policies=false`).
//!
//! Terraform keeps its working data in `.niaga/stack-check/` and its state inside this run's moto, so the check
//! never touches the stack `cargo xtask up` runs.

use crate::manifest::{Kind, Manifest};
use crate::services::{self, step, Moto};
use anyhow::{bail, ensure, Context, Result};
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The checkov release the inline skips in terraform/ were written against.
const CHECKOV_VERSION: &str = "3.3.30";

/// The layers, in the order they are applied (and destroyed in reverse).
const LAYERS: [&str; 4] = ["network", "persistence", "compute", "observability"];
/// Twice terraform's default: the emulator answers in parallel, and compute alone has about 180 resources.
const PARALLELISM: &str = "-parallelism=20";
/// The environment name terraform/tf applies; it is part of every physical name.
const ENV: &str = "local";

const USAGE: &str = "cargo xtask stack-check [--no-build]\n\n  --no-build  reuse the zips of an earlier run";

pub async fn run(args: &[String]) -> Result<()> {
    let mut build = true;
    for a in args {
        match a.as_str() {
            "--no-build" => build = false,
            _ => bail!("unknown argument `{a}`\n\n{USAGE}"),
        }
    }
    let started = Instant::now();
    let manifest = Manifest::load_workspace()?;
    let root = crate::workspace_root();
    crate::terraform::require()?;

    step("terraform fmt -check -recursive terraform/");
    services::run(
        Command::new("terraform")
            .args(["fmt", "-check", "-recursive", "-diff"])
            .arg(root.join("terraform")),
        "terraform fmt -check (run `terraform fmt -recursive terraform/` to fix)",
    )?;

    checkov(&root)?;

    let names: Vec<String> = manifest.functions.iter().map(|f| f.name.clone()).collect();
    let zips_dir = crate::target_dir().join("lambda-stack-check");
    if build {
        crate::zips::build("stack-check", &names, &zips_dir)?;
    }
    let mut zip_hashes = BTreeMap::new();
    for name in &names {
        let zip = crate::zips::path(&zips_dir, name);
        crate::zips::check_arm64(&zip)?;
        let bytes = std::fs::read(&zip)?;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
        zip_hashes.insert(physical(name), hash);
    }
    step(format!("{} zips hold an AArch64 bootstrap", names.len()));

    let port: u16 = match std::env::var("NIAGA_STACK_CHECK_PORT") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("NIAGA_STACK_CHECK_PORT must be a port number, got `{v}`"))?,
        Err(_) => 5030,
    };
    // The compute layer attaches AWSLambdaVPCAccessExecutionRole, one of AWS's managed policies.
    let moto = Moto::start_with_managed_policies(port)?;
    let tf = Terraform::new(&moto, &zips_dir)?;

    let applied = apply_all(&tf).await;
    let checked = match &applied {
        Ok(()) => verify_applied(&manifest, &moto, &zip_hashes).await,
        Err(_) => Ok(()),
    };
    // Destroy even after a failure, so a half-applied stack is torn down as a user's would be.
    let destroyed = destroy_all(&tf);
    applied?;
    checked?;
    destroyed?;
    verify_destroyed(&tf, &moto).await?;
    step(format!(
        "stack-check passed: the whole stack applied to and destroyed from the emulator in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn physical(function: &str) -> String {
    format!("niaga-{ENV}-{function}")
}

/// checkov over terraform/, installed from PyPI into its own virtual environment when missing. `--skip-download`
/// keeps it offline.
fn checkov(root: &Path) -> Result<()> {
    let exe = services::ensure_venv_tool("checkov", "checkov", CHECKOV_VERSION)?;
    step("checkov -d terraform --framework terraform");
    let out = Command::new(exe)
        .args([
            "-d",
            "terraform",
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-download",
        ])
        .args(["-o", "cli"])
        .current_dir(root)
        .output()
        .context("running checkov")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "checkov found failures in terraform/: fix them, or skip one with `#checkov:skip=<ID>:<reason>` \
             inside the resource\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Some(line) = text.lines().find(|l| l.starts_with("Passed checks")) {
        step(format!("checkov: {line}"));
    }
    Ok(())
}

/// `terraform/tf local <layer> ...` against this run's moto, with its own working data and throwaway secrets.
struct Terraform {
    wrapper: PathBuf,
    env: Vec<(String, String)>,
    zips_dir: PathBuf,
}

impl Terraform {
    fn new(moto: &Moto, zips_dir: &Path) -> Result<Terraform> {
        let data = services::state_dir().join("stack-check").join("terraform");
        if data.exists() {
            std::fs::remove_dir_all(&data).with_context(|| format!("clearing {}", data.display()))?;
        }
        std::fs::create_dir_all(&data)?;
        let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let secrets = serde_json::json!({
            "app": serde_json::json!({ "jwt_signing_key": key }).to_string(),
            "database": serde_json::json!({ "username": "niaga", "password": uuid::Uuid::new_v4().simple().to_string() }).to_string(),
            "payments": serde_json::json!({ "server_key": format!("SB-Mid-server-{}", uuid::Uuid::new_v4().simple()) }).to_string(),
        });
        let mut env = services::aws_env(&moto.endpoint());
        env.push(("NIAGA_TF_DATA_DIR".into(), data.display().to_string()));
        env.push(("TF_VAR_secret_values".into(), secrets.to_string()));
        env.push(("TF_IN_AUTOMATION".into(), "1".into()));
        Ok(Terraform {
            wrapper: crate::workspace_root().join("terraform/tf"),
            env,
            zips_dir: zips_dir.to_path_buf(),
        })
    }

    /// Runs `terraform/tf local <layer> <args>`; on failure the error carries terraform's errors (its output
    /// from the first `Error:` on, or all of it when there is none).
    fn run(&self, layer: &str, args: &[&str]) -> Result<String> {
        let what = format!("terraform/tf {ENV} {layer} {}", args.join(" "));
        let out = Command::new("bash")
            .arg(&self.wrapper)
            .args([ENV, layer])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .with_context(|| format!("{what}: cannot run bash"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
            let errors = all.find("Error:").map_or(all.as_str(), |i| &all[i..]);
            bail!("{what} failed ({}):\n{errors}", out.status);
        }
        Ok(stdout)
    }

    /// What the whole-stack check sets beyond env/local.*.tfvars.
    fn extra_vars(&self, layer: &str) -> Vec<String> {
        match layer {
            "persistence" => vec![
                "-var=create_database=true".into(),
                "-var=database_read_replica=false".into(),
            ],
            "compute" => vec![
                format!("-var=artifacts_dir={}", self.zips_dir.display()),
                "-var=cdn_enabled=true".into(),
                "-var=cdn_policies=false".into(),
                "-var=provisioned_concurrency_schedule=false".into(),
            ],
            _ => vec![],
        }
    }

    fn state(&self, layer: &str) -> Result<Vec<String>> {
        let out = self.run(layer, &["state", "list"])?;
        Ok(out.lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
    }
}

async fn apply_all(tf: &Terraform) -> Result<()> {
    for layer in LAYERS {
        let t = Instant::now();
        tf.run(layer, &["validate", "-no-color"])?;
        let mut args = vec!["apply", "-auto-approve", "-no-color", PARALLELISM];
        let extra = tf.extra_vars(layer);
        args.extend(extra.iter().map(String::as_str));
        step(format!("terraform apply: {layer}"));
        let out = tf.run(layer, &args)?;
        let summary = out.lines().find(|l| l.contains("Apply complete")).unwrap_or("applied");
        step(format!(
            "{layer}: {} ({:.0} s)",
            summary.trim(),
            t.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

fn destroy_all(tf: &Terraform) -> Result<()> {
    let mut first_error = None;
    for layer in LAYERS.iter().rev() {
        let t = Instant::now();
        let mut args = vec!["destroy", "-auto-approve", "-no-color", PARALLELISM];
        let extra = tf.extra_vars(layer);
        args.extend(extra.iter().map(String::as_str));
        step(format!("terraform destroy: {layer}"));
        match tf.run(layer, &args) {
            Ok(out) => {
                let summary = out
                    .lines()
                    .find(|l| l.contains("Destroy complete"))
                    .unwrap_or("destroyed");
                step(format!(
                    "{layer}: {} ({:.0} s)",
                    summary.trim(),
                    t.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                step(format!("{layer}: destroy failed"));
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// GET on one of the emulator's REST APIs (`lambda`, `apigateway`). moto picks the service from the credential
/// scope of the Authorization header (it checks no signature), and would take an unsigned path for an S3 bucket.
async fn rest(moto: &Moto, service: &str, path: &str) -> Result<Value> {
    let url = format!("{}{path}", moto.endpoint());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let resp = reqwest::Client::new()
        .get(&url)
        .header("authorization", auth)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let body = resp.text().await?;
    ensure!(status.is_success(), "GET {url}: {status}: {body}");
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))
}

async fn deployed_functions(moto: &Moto) -> Result<BTreeMap<String, Value>> {
    let list = rest(moto, "lambda", "/2015-03-31/functions/").await?;
    Ok(list["Functions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["FunctionName"].as_str().unwrap_or_default().to_string(), f.clone()))
        .collect())
}

async fn api_ids(moto: &Moto) -> Result<Vec<String>> {
    let apis = rest(moto, "apigateway", "/v2/apis").await?;
    Ok(apis["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["apiId"].as_str().map(str::to_string))
        .collect())
}

async fn queue_urls(moto: &Moto) -> Result<Vec<String>> {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let out = sqs.list_queues().send().await.context("sqs ListQueues")?;
    Ok(out.queue_urls().to_vec())
}

async fn table_names(moto: &Moto) -> Result<Vec<String>> {
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let out = ddb.list_tables().send().await.context("dynamodb ListTables")?;
    Ok(out.table_names().to_vec())
}

async fn verify_applied(manifest: &Manifest, moto: &Moto, zip_hashes: &BTreeMap<String, String>) -> Result<()> {
    step("checking what the emulator holds against niaga.json");
    let functions = deployed_functions(moto).await?;
    let names: BTreeSet<&String> = functions.keys().collect();
    let expected: BTreeSet<&String> = zip_hashes.keys().collect();
    ensure!(
        names == expected,
        "functions in the emulator {names:?}, manifest {expected:?}"
    );
    for (name, hash) in zip_hashes {
        let f = &functions[name];
        ensure!(
            f["CodeSha256"].as_str() == Some(hash.as_str()),
            "{name}: the emulator holds code {} but its zip hashes to {hash}",
            f["CodeSha256"]
        );
        ensure!(
            f["Architectures"] == serde_json::json!(["arm64"]),
            "{name}: architectures {}",
            f["Architectures"]
        );
        ensure!(f["Handler"] == "bootstrap", "{name}: handler {}", f["Handler"]);
    }

    let ids = api_ids(moto).await?;
    ensure!(ids.len() == 1, "expected one HTTP API, the emulator has {}", ids.len());
    let routes = rest(moto, "apigateway", &format!("/v2/apis/{}/routes", ids[0])).await?;
    let keys: BTreeSet<String> = routes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["routeKey"].as_str().map(str::to_string))
        .collect();
    let want: BTreeSet<String> = manifest
        .functions
        .iter()
        .flat_map(|f| f.routes.iter().map(|r| r.key()))
        .collect();
    ensure!(keys == want, "HTTP API routes {keys:?}, manifest {want:?}");

    let mappings = rest(moto, "lambda", "/2015-03-31/event-source-mappings/").await?;
    let mapped: BTreeMap<String, Value> = mappings["EventSourceMappings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            // arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]
            let function = m["FunctionArn"]
                .as_str()
                .unwrap_or_default()
                .split(':')
                .nth(6)
                .unwrap_or_default();
            (function.to_string(), m.clone())
        })
        .collect();
    for f in manifest.functions.iter().filter(|f| f.kind == Kind::Sqs) {
        let m = mapped
            .get(&physical(&f.name))
            .with_context(|| format!("{}: no SQS event source mapping", f.name))?;
        ensure!(
            m["FunctionResponseTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
            "{}: the event source mapping does not report batch item failures: {m}",
            f.name
        );
    }

    let queues = queue_urls(moto).await?;
    for q in &manifest.queues {
        let suffix = if q.fifo { ".fifo" } else { "" };
        for name in [
            format!("niaga-{ENV}-{}{suffix}", q.name),
            format!("niaga-{ENV}-{}-dlq{suffix}", q.name),
        ] {
            ensure!(
                queues.iter().any(|u| u.ends_with(&format!("/{name}"))),
                "queue {name} missing from the emulator: {queues:?}"
            );
        }
    }
    let tables = table_names(moto).await?;
    for t in &manifest.tables {
        let name = format!("niaga-{ENV}-{}", t.name);
        ensure!(
            tables.contains(&name),
            "table {name} missing from the emulator: {tables:?}"
        );
    }
    step(format!(
        "{} functions with their zips, {} routes, {} queue workers, {} queues and {} tables as the manifest says",
        functions.len(),
        keys.len(),
        manifest.functions.iter().filter(|f| f.kind == Kind::Sqs).count(),
        manifest.queues.len(),
        tables.len()
    ));
    Ok(())
}

async fn verify_destroyed(tf: &Terraform, moto: &Moto) -> Result<()> {
    for layer in LAYERS {
        let left = tf.state(layer)?;
        ensure!(left.is_empty(), "terraform/{layer} still holds {left:?} after destroy");
    }
    let functions = deployed_functions(moto).await?;
    ensure!(
        functions.is_empty(),
        "functions left after destroy: {:?}",
        functions.keys()
    );
    let apis = api_ids(moto).await?;
    ensure!(apis.is_empty(), "HTTP APIs left after destroy: {apis:?}");
    let queues = queue_urls(moto).await?;
    ensure!(queues.is_empty(), "queues left after destroy: {queues:?}");
    let tables = table_names(moto).await?;
    ensure!(tables.is_empty(), "tables left after destroy: {tables:?}");
    step("destroyed: every layer's state is empty, and no function, API, queue or table is left");
    Ok(())
}
