//! IAM on the local stage: every function runs with credentials of its own principal in moto, whose policy is the
//! very document terraform renders for that function in `terraform/compute` (`aws_iam_role_policy.function[<fn>]`).
//!
//! 1. [`render`] plans `terraform/compute` offline with the ARNs the local stage uses and reads each function's
//!    policy from `terraform show -json`. The rendering is cached in `.niaga/iam/` under a hash of
//!    `terraform/compute/*.tf`, `niaga.json` and the variables, so only a change to one of them plans again.
//! 2. [`for_moto`] widens `Resource` to `*` where moto cannot evaluate a resource ARN (see its comment).
//! 3. [`Window`] creates, while moto still answers unauthenticated requests (`INITIAL_NO_AUTH_ACTION_COUNT`), an
//!    admin user (`*` on `*`, for setup only) and one user per function with exactly its policy, each with an
//!    access key; [`Window::close`] then starts enforcement (`POST /moto-api/reset-auth` with `0`).
//!
//! Two renderings: [`Stage::Local`] names the local stack's resources (`niaga-local-…`, as terraform/persistence
//! creates them for `cargo xtask up`, faults and load); [`Stage::Tests`] is the same plan with `*` in place of the
//! environment in every queue and bucket ARN, since each test names its own resources `niaga-<env>-…`. Everything
//! else in an ARN (service, region, account, queue name, bucket prefix) is enforced as rendered.

use crate::manifest::Manifest;
use crate::services::{self, step, Moto};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// moto's default account: every resource the local stage creates lives in it.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Which resources a rendering names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The local stack (`env = local`): `cargo xtask up`, faults, load, benchmarks.
    Local,
    /// The test suite: every test's own environment (`niaga-*-…`).
    Tests,
}

/// An access key in moto.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The access keys of each function's principal, by manifest name.
pub type Principals = BTreeMap<String, Keys>;

/// The environment variable through which `cargo xtask test` hands the tests each function's keys (a JSON object:
/// function => keys); `testkit::aws_config_for` reads it.
pub const TEST_PRINCIPALS_VAR: &str = "NIAGA_TEST_PRINCIPALS";

/// The terraform variables of a rendering: the ARNs terraform/persistence gives the local stage's resources.
pub fn vars(manifest: &Manifest, stage: Stage) -> Value {
    let env = match stage {
        Stage::Local => crate::LOCAL_ENV,
        Stage::Tests => "*",
    };
    let arn = |service: &str, name: String| format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{name}");
    json!({
        "env": crate::LOCAL_ENV,
        "region": REGION,
        "aws_endpoint": "http://127.0.0.1:9",
        "account_id": ACCOUNT,
        "database_url": "postgres://127.0.0.1:5432/niaga",
        "queue_arns": manifest.queues.iter()
            .map(|q| (q.name.clone(), arn("sqs", crate::queue_physical_name(env, &q.name, q.fifo))))
            .collect::<BTreeMap<_, _>>(),
        "table_arns": manifest.tables.iter()
            .map(|t| (t.name.clone(), arn("dynamodb", format!("table/{}", crate::table_physical_name(env, &t.name)))))
            .collect::<BTreeMap<_, _>>(),
        // moto appends a random suffix to a secret's ARN, as AWS does.
        "secret_arns": manifest.secrets.iter()
            .map(|s| (s.name.clone(), arn("secretsmanager", format!("secret:{}-*", crate::secret_physical_name(env, &s.name)))))
            .collect::<BTreeMap<_, _>>(),
        "event_bus_arn": arn("events", format!("event-bus/niaga-{env}")),
        "exports_bucket": format!("niaga-{}-exports", crate::LOCAL_ENV),
        "exports_bucket_arn": format!("arn:aws:s3:::niaga-{env}-exports"),
        // As terraform/env/local.compute.tfvars: the local stage has no CloudFront, so no function reads the origin
        // header's secret there. (moto matches no secret ARN: a second GetSecretValue grant would hide a missing
        // first one.) The grant production gets is checked on the plan (`plan_checks.rs`).
        "cdn_enabled": false,
    })
}

/// Each function's policy document as terraform renders it, by manifest name: from the cache when
/// `terraform/compute`, `niaga.json` and the variables are unchanged, else from a fresh offline plan.
pub fn render(manifest: &Manifest, stage: Stage) -> Result<BTreeMap<String, Value>> {
    let vars = vars(manifest, stage);
    let key = cache_key(&vars)?;
    let dir = services::state_dir().join("iam");
    let cached = dir.join(format!("policies-{key}.json"));
    if let Some(policies) = std::fs::read_to_string(&cached)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
    {
        return Ok(policies);
    }
    let started = std::time::Instant::now();
    step(format!(
        "rendering the functions' IAM policies from a plan of terraform/compute ({})",
        if stage == Stage::Local { "local stage" } else { "tests" }
    ));
    let plan = plan_compute(&vars)?;
    let policies = policies_from_plan(&plan)?;
    for f in &manifest.functions {
        if !policies.contains_key(&f.name) {
            bail!("the plan of terraform/compute has no policy for {}", f.name);
        }
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&cached, serde_json::to_string_pretty(&policies)?)?;
    step(format!(
        "rendered {} policies in {:.1} s (cached in {})",
        policies.len(),
        started.elapsed().as_secs_f64(),
        cached.display()
    ));
    Ok(policies)
}

fn cache_key(vars: &Value) -> Result<String> {
    use sha2::Digest;
    let root = crate::workspace_root();
    let mut h = sha2::Sha256::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("terraform/compute"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    files.push(root.join("niaga.json"));
    for f in &files {
        h.update(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        h.update(std::fs::read(f).with_context(|| format!("reading {}", f.display()))?);
    }
    h.update(vars.to_string());
    Ok(h.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect())
}

/// `aws_iam_role_policy.function[<fn>].values.policy` of every function in a `terraform show -json` plan.
pub fn policies_from_plan(plan: &Value) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    let resources = plan["planned_values"]["root_module"]["resources"]
        .as_array()
        .context("the plan has no planned resources")?;
    for r in resources {
        if r["type"] != "aws_iam_role_policy" || r["name"] != "function" {
            continue;
        }
        let name = r["index"].as_str().context("a function policy's index is its name")?;
        let text = r["values"]["policy"]
            .as_str()
            .with_context(|| format!("{name}'s policy is not known at plan time"))?;
        out.insert(name.to_string(), serde_json::from_str(text)?);
    }
    Ok(out)
}

/// Plans a scratch copy of terraform/compute (local backend, provider from the mirror when present) and returns
/// `terraform show -json` of the plan. No AWS call is made.
fn plan_compute(vars: &Value) -> Result<Value> {
    let root = crate::workspace_root();
    let scratch = services::state_dir().join("iam/plan");
    let layer = scratch.join("terraform/compute");
    // Keep `.terraform` (the initialised provider) between runs; replace the configuration.
    std::fs::create_dir_all(&layer)?;
    for entry in std::fs::read_dir(&layer)?.flatten() {
        if entry.path().extension().is_some_and(|e| e == "tf") {
            std::fs::remove_file(entry.path())?;
        }
    }
    for entry in std::fs::read_dir(root.join("terraform/compute"))?.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".tf") || file == ".terraform.lock.hcl" {
            std::fs::copy(entry.path(), layer.join(&file))?;
        }
    }
    std::fs::copy(root.join("niaga.json"), scratch.join("niaga.json"))?;
    std::fs::write(
        layer.join("iam_override.tf"),
        "terraform {\n  backend \"local\" {}\n}\n",
    )?;
    let tf = |args: &[&str]| {
        let mut c = Command::new("terraform");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                c.env_remove(name);
            }
        }
        c.env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TF_DATA_DIR", scratch.join("tf-data"))
            .arg(format!("-chdir={}", layer.display()))
            .args(args);
        c
    };
    if !scratch.join("tf-data/providers").exists() && !scratch.join("tf-data/plugins").exists() {
        let plugin_dir = crate::terraform::plugin_dir_arg();
        let mut init = vec!["init", "-input=false", "-no-color"];
        init.extend(plugin_dir.as_deref());
        services::run(&mut tf(&init), "terraform init (terraform/compute, offline)")?;
    }
    let var_file = scratch.join("iam.tfvars.json");
    std::fs::write(&var_file, vars.to_string())?;
    let plan_file = scratch.join("plan.bin");
    let var_arg = format!("-var-file={}", var_file.display());
    let out_arg = format!("-out={}", plan_file.display());
    let artifacts = format!("-var=artifacts_dir={}", scratch.join("no-artifacts").display());
    services::run(
        &mut tf(&[
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=false",
            "-lock=false",
            &var_arg,
            &artifacts,
            &out_arg,
        ]),
        "terraform plan (terraform/compute, for the IAM policies)",
    )?;
    let json = services::run(
        &mut tf(&["show", "-json", "-no-color", &plan_file.to_string_lossy()]),
        "terraform show -json",
    )?;
    serde_json::from_str(&json).context("terraform show -json is not JSON")
}

/// Whether moto evaluates the resource ARN of `action` (`service:Action`).
///
/// moto (5.2.x) matches a statement's `Resource` only for SQS (the queue named by a request's `QueueUrl`) and S3
/// (bucket and key); every other service is authorised against `*`, so a statement scoped to a DynamoDB table, a
/// secret, an event bus or a log group never matches there although AWS honours it (moto/core/authorization.py,
/// moto/sqs/responses.py `_determine_resource`, moto/s3/responses.py; measured with moto 5.2.1). SQS actions
/// without a `QueueUrl` (`GetQueueUrl` names the queue by `QueueName`) are also authorised against `*`.
pub fn moto_evaluates_resource(action: &str) -> bool {
    let (service, name) = action.split_once(':').unwrap_or((action, ""));
    match service {
        "s3" => true,
        "sqs" => !matches!(name, "GetQueueUrl" | "ListQueues" | "CreateQueue"),
        _ => false,
    }
}

/// The policy as the local stage installs it in moto: each statement's actions whose resource moto evaluates keep
/// the rendered `Resource`; the others get `"Resource": "*"` (in a statement of their own, same `Sid` with a
/// `Moto` suffix), since moto would refuse the rendered ARN (see [`moto_evaluates_resource`]). Those resources are
/// left to the plan checks (`xtask/tests/drift.rs`). Actions are never widened: SQS's batch operations are
/// authorised in AWS by their single-message action (IAM has no `sqs:DeleteMessageBatch`; "the same permissions as
/// DeleteMessage", SQS API reference), while moto asks for the operation's own name, so each granted single-message
/// action brings its batch operation's name with it.
pub fn for_moto(policy: &Value) -> Value {
    let mut statements = Vec::new();
    for s in policy["Statement"].as_array().into_iter().flatten() {
        let mut actions: Vec<String> = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        let batches: Vec<String> = actions
            .iter()
            .filter(|a| {
                matches!(
                    a.as_str(),
                    "sqs:DeleteMessage" | "sqs:SendMessage" | "sqs:ChangeMessageVisibility"
                )
            })
            .map(|a| format!("{a}Batch"))
            .collect();
        actions.extend(batches);
        let (kept, widened): (Vec<String>, Vec<String>) = actions.into_iter().partition(|a| moto_evaluates_resource(a));
        if !kept.is_empty() {
            let mut k = s.clone();
            k["Action"] = json!(kept);
            statements.push(k);
        }
        if !widened.is_empty() {
            let mut w = s.clone();
            w["Action"] = json!(widened);
            w["Resource"] = json!("*");
            if let Some(sid) = s["Sid"].as_str() {
                w["Sid"] = json!(format!("{sid}Moto"));
            }
            statements.push(w);
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The policy with statement `index` removed (the mutation test's mutant).
pub fn without_statement(policy: &Value, index: usize) -> Value {
    let mut p = policy.clone();
    if let Some(list) = p["Statement"].as_array_mut() {
        if index < list.len() {
            list.remove(index);
        }
    }
    p
}

/// moto's unauthenticated window, open from its start until [`Window::close`]: requests made now are not
/// checked, so the principals are created here (IAM's query API, with an `Authorization` header only to route
/// the request to IAM).
pub struct Window<'a> {
    moto: &'a mut Moto,
    http: reqwest::Client,
}

impl<'a> Window<'a> {
    pub fn new(moto: &'a mut Moto) -> Window<'a> {
        Window {
            moto,
            http: reqwest::Client::new(),
        }
    }

    /// The emulator.
    pub fn moto(&self) -> &Moto {
        self.moto
    }

    async fn iam(&self, params: &[(&str, &str)]) -> Result<String> {
        let action = params.iter().find(|(k, _)| *k == "Action").map_or("?", |(_, v)| *v);
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("Version", "2010-05-08"));
        let r = self
            .http
            .post(self.moto.endpoint())
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=setup/20260101/{REGION}/iam/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .form(&form)
            .send()
            .await
            .with_context(|| format!("IAM {action} on moto"))?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() {
            bail!("IAM {action} on moto answered {status}: {body}");
        }
        Ok(body)
    }

    /// Creates user `name` with `policy` inline and returns its new access key.
    pub async fn user(&self, name: &str, policy: &Value) -> Result<Keys> {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]).await?;
        let doc = policy.to_string();
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "least-privilege"),
            ("PolicyDocument", &doc),
        ])
        .await?;
        let body = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]).await?;
        let tag = |t: &str| -> Result<String> {
            let open = format!("<{t}>");
            let start = body
                .find(&open)
                .with_context(|| format!("CreateAccessKey answered without {t}"))?
                + open.len();
            let end = body[start..].find('<').context("a closed tag")? + start;
            Ok(body[start..end].to_string())
        };
        Ok(Keys {
            access_key_id: tag("AccessKeyId")?,
            secret_access_key: tag("SecretAccessKey")?,
        })
    }

    /// The setup principal (`*` on `*`): terraform's persistence apply, seeding, test setup, the gateway's pollers.
    /// Moto's SDK configuration uses it from now on.
    pub async fn admin(&mut self) -> Result<Keys> {
        let keys = self
            .user(
                "niaga-setup-admin",
                &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            )
            .await?;
        self.moto.set_admin(keys.clone())?;
        Ok(keys)
    }

    /// One user per function (`<user_prefix><function>`) with its policy as moto takes it ([`for_moto`]).
    pub async fn functions(&self, policies: &BTreeMap<String, Value>, user_prefix: &str) -> Result<Principals> {
        let mut out = Principals::new();
        for (name, policy) in policies {
            let keys = self.user(&format!("{user_prefix}{name}"), &for_moto(policy)).await?;
            out.insert(name.clone(), keys);
        }
        Ok(out)
    }

    /// Ends the window: from now on moto authenticates every request and authorises it against the caller's
    /// policies.
    pub async fn close(self) -> Result<()> {
        let r = self
            .http
            .post(format!("{}/moto-api/reset-auth", self.moto.endpoint()))
            .body("0")
            .send()
            .await
            .context("POST /moto-api/reset-auth")?;
        if !r.status().is_success() {
            bail!("moto refused to start enforcing IAM: {}", r.status());
        }
        step("moto enforces IAM from now on: each function runs as its own principal");
        Ok(())
    }
}

/// The usual set-up for a stage with no terraform apply (tests, benchmarks, faults): admin and function principals
/// from `stage`'s rendering, then enforcement. Returns the function principals.
pub async fn enforce(moto: &mut Moto, manifest: &Manifest, stage: Stage) -> Result<Principals> {
    let policies = render(manifest, stage)?;
    enforce_with(moto, &policies).await
}

/// [`enforce`] with the policies given (the mutation test hands over a mutant).
pub async fn enforce_with(moto: &mut Moto, policies: &BTreeMap<String, Value>) -> Result<Principals> {
    let mut window = Window::new(moto);
    window.admin().await?;
    let principals = window.functions(policies, "niaga-local-").await?;
    window.close().await?;
    Ok(principals)
}

/// The function principals handed to the tests through [`TEST_PRINCIPALS_VAR`], if any.
pub fn test_principals() -> Principals {
    std::env::var(TEST_PRINCIPALS_VAR)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Runs the workspace's tests (cargo nextest, else cargo test) against the cluster at `admin_pg` (its CA at
/// `pg_ca`) and a fresh, enforcing moto on `moto_port`
/// whose function principals hold `policies`: the tests get the admin keys as their ambient AWS credentials (setup)
/// and each function's keys in [`TEST_PRINCIPALS_VAR`]. With `log`, the runner's output goes to that file. Returns
/// whether every test passed.
pub async fn run_suite(
    admin_pg: &str,
    pg_ca: &Path,
    moto_port: u16,
    policies: &BTreeMap<String, Value>,
    args: &[String],
    log: Option<&Path>,
) -> Result<bool> {
    let mut moto = Moto::start_enforcing(moto_port)?;
    let principals = enforce_with(&mut moto, policies).await?;
    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = services::cargo();
    if nextest {
        cmd.args(["nextest", "run", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--no-fail-fast"]);
    }
    // The whole workspace unless the caller names packages (`cargo xtask test -p store`).
    if !args
        .iter()
        .any(|a| a == "-p" || a == "--package" || a.starts_with("--package="))
    {
        cmd.arg("--workspace");
    }
    cmd.args(args)
        .env("NIAGA_TEST_PG", admin_pg)
        .env("NIAGA_TEST_PG_CA", pg_ca)
        .envs(moto.admin_env())
        .env(TEST_PRINCIPALS_VAR, serde_json::to_string(&principals)?);
    if let Some(log) = log {
        let file = std::fs::File::create(log)?;
        cmd.stdout(file.try_clone()?).stderr(file);
    } else if nextest {
        step("running the tests (cargo nextest)");
    } else {
        step("running the tests (cargo test; install cargo-nextest for a faster, clearer run)");
    }
    let status = cmd.status().context("running cargo")?;
    drop(moto);
    Ok(status.success())
}
