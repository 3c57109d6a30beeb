//! Offline terraform plans for the tests that read them (`drift`, `plan_checks`).
//!
//! A layer is copied to a scratch folder next to a copy of the manifest, its S3 backend swapped for a local
//! one, initialised from the provider mirror when there is one (`NIAGA_TF_PLUGIN_DIR`, default
//! `/opt/tf-plugins`, as the `terraform/tf` wrapper reads it), planned with a dead emulator endpoint (no layer
//! reads a data source that would call AWS) and read back with `terraform show -json`.
//!
//! terraform is required: without it these tests fail with a message, they never skip.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::manifest::Manifest;
// The provider mirror is found as xtask's commands find it (`NIAGA_TF_PLUGIN_DIR`).
use xtask::terraform::plugin_dir_arg;

/// The environment name the plans are made for; it only shows up in physical names.
pub const PLAN_ENV: &str = "drift";

/// The account the plans pretend to run in.
pub const PLAN_ACCOUNT: &str = "000000000000";

pub fn manifest() -> Manifest {
    Manifest::load_workspace().expect("niaga.json should load")
}

/// terraform, with the developer's emulator settings removed: a plan makes no AWS call at all.
pub fn terraform() -> Command {
    let mut cmd = Command::new("terraform");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_ENDPOINT_URL") {
            cmd.env_remove(name);
        }
    }
    cmd.env("TF_IN_AUTOMATION", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CHECKPOINT_DISABLE", "1");
    cmd
}

pub fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "terraform is not installed (or not on PATH): these tests plan the terraform layers offline and \
             need terraform >= 1.10"
                .to_string()
        } else {
            format!("{what}: cannot run terraform: {e}")
        }
    })?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// A scratch folder removed when dropped.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A copy of a layer in a scratch folder, next to a copy of the manifest where it expects it
/// (`../../niaga.json`), with an override file that swaps the S3 backend for a local one, initialised
/// offline when the provider mirror exists. Returns the folder (removed when dropped) and the layer's path.
pub fn scratch_layer(name: &str) -> Result<(Scratch, PathBuf), String> {
    let root = xtask::workspace_root();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let scratch = Scratch(std::env::temp_dir().join(format!("niaga-drift-{name}-{}-{nanos}", std::process::id())));
    let layer = scratch.0.join("terraform").join(name);
    std::fs::create_dir_all(&layer).map_err(|e| format!("creating {}: {e}", layer.display()))?;

    let source = root.join("terraform").join(name);
    let entries = std::fs::read_dir(&source).map_err(|e| format!("reading {}: {e}", source.display()))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".tf") || file == ".terraform.lock.hcl" {
            std::fs::copy(entry.path(), layer.join(&file)).map_err(|e| format!("copying {file}: {e}"))?;
        }
    }
    std::fs::copy(root.join("niaga.json"), scratch.0.join("niaga.json"))
        .map_err(|e| format!("copying niaga.json: {e}"))?;
    std::fs::write(
        layer.join("drift_override.tf"),
        "terraform {\n  backend \"local\" {}\n}\n",
    )
    .map_err(|e| format!("writing the backend override: {e}"))?;

    let mut init = in_layer(&scratch, &layer);
    init.args(["init", "-input=false", "-no-color"]);
    init.args(plugin_dir_arg());
    run(&mut init, &format!("terraform init (terraform/{name})"))?;
    Ok((scratch, layer))
}

/// terraform working in a scratch copy of a layer.
pub fn in_layer(scratch: &Scratch, layer: &Path) -> Command {
    let mut cmd = terraform();
    cmd.env("TF_DATA_DIR", scratch.0.join("tf-data"))
        .arg(format!("-chdir={}", layer.display()));
    cmd
}

/// `terraform show -json` of a plan of the scratch `layer` with `vars` as its var file.
pub fn plan_layer(scratch: &Scratch, layer: &Path, name: &str, vars: &Value) -> Result<Value, String> {
    plan_layer_with(scratch, layer, name, vars, &[])
}

/// [`plan_layer`] reading `var_files` first (`vars` wins over them).
pub fn plan_layer_with(
    scratch: &Scratch,
    layer: &Path,
    name: &str,
    vars: &Value,
    var_files: &[PathBuf],
) -> Result<Value, String> {
    let var_file = scratch.0.join("drift.tfvars.json");
    std::fs::write(&var_file, vars.to_string()).map_err(|e| format!("writing {}: {e}", var_file.display()))?;
    let plan_file = scratch.0.join("plan.bin");
    let mut args: Vec<String> = ["plan", "-input=false", "-no-color", "-refresh=false", "-lock=false"]
        .map(String::from)
        .to_vec();
    args.extend(var_files.iter().map(|f| format!("-var-file={}", f.display())));
    args.push(format!("-var-file={}", var_file.display()));
    args.push(format!("-out={}", plan_file.display()));
    run(
        in_layer(scratch, layer).args(&args),
        &format!("terraform plan (terraform/{name})"),
    )?;
    let json = run(
        in_layer(scratch, layer)
            .args(["show", "-json", "-no-color"])
            .arg(&plan_file),
        "terraform show -json",
    )?;
    serde_json::from_slice(&json).map_err(|e| format!("terraform show -json is not JSON: {e}"))
}

/// A layer planned with `vars`.
pub fn plan(name: &str, vars: &Value) -> Result<Value, String> {
    plan_with_files(name, vars, &[])
}

/// A layer planned with `var_files`, then `vars`.
pub fn plan_with_files(name: &str, vars: &Value, var_files: &[PathBuf]) -> Result<Value, String> {
    let (scratch, layer) = scratch_layer(name)?;
    plan_layer_with(&scratch, &layer, name, vars, var_files)
}

/// The compute layer's inputs from the persistence layer, made up from the manifest's names, merged with `extra`
/// (which wins).
pub fn compute_vars(extra: Value) -> Value {
    let manifest = manifest();
    let arn = |service: &str, name: String| format!("arn:aws:{service}:us-east-1:{PLAN_ACCOUNT}:{name}");
    let mut vars = serde_json::json!({
        "env": PLAN_ENV,
        "region": "us-east-1",
        "aws_endpoint": "http://127.0.0.1:9",
        "artifacts_dir": std::env::temp_dir().join("niaga-drift-no-artifacts"),
        "database_url": "postgres://127.0.0.1:5432/niaga",
        "queue_arns": manifest.queues.iter()
            .map(|q| (q.name.clone(), arn("sqs", xtask::queue_physical_name(PLAN_ENV, &q.name, q.fifo))))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "table_arns": manifest.tables.iter()
            .map(|t| (t.name.clone(), arn("dynamodb", format!("table/{}", xtask::table_physical_name(PLAN_ENV, &t.name)))))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "account_id": PLAN_ACCOUNT,
        "event_bus_arn": arn("events", format!("event-bus/niaga-{PLAN_ENV}")),
        "exports_bucket": format!("niaga-{PLAN_ENV}-exports"),
        "exports_bucket_arn": format!("arn:aws:s3:::niaga-{PLAN_ENV}-exports"),
        "secret_arns": manifest.secrets.iter()
            .map(|s| (s.name.clone(), arn("secretsmanager", format!("secret:{}-AbCdEf", xtask::secret_physical_name(PLAN_ENV, &s.name)))))
            .collect::<std::collections::BTreeMap<_, _>>(),
    });
    if let (Some(base), Value::Object(extra)) = (vars.as_object_mut(), extra) {
        base.extend(extra);
    }
    vars
}

/// Every planned managed resource of a type, in the root module and any child module.
pub fn planned(plan: &Value, kind: &str) -> Vec<Value> {
    fn walk(module: &Value, kind: &str, out: &mut Vec<Value>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["type"] == kind && r["mode"] == "managed" {
                out.push(r.clone());
            }
        }
        for child in module["child_modules"].as_array().into_iter().flatten() {
            walk(child, kind, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan["planned_values"]["root_module"], kind, &mut out);
    out
}

/// The configuration block of a resource (`type.name`) of the root module.
pub fn configuration<'a>(plan: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    plan["configuration"]["root_module"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["type"] == kind && r["name"] == name && r["mode"] == "managed")
}

/// The references of one attribute in a resource's configuration (`aws_sns_topic.alarms.arn`, ...).
pub fn references(plan: &Value, resource: &Value, attribute: &str) -> Vec<String> {
    let Some(config) = configuration(plan, text(&resource["type"]).as_str(), text(&resource["name"]).as_str()) else {
        return Vec::new();
    };
    config["expressions"][attribute]["references"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect()
}

/// The resource change of a planned resource, by address.
pub fn change<'a>(plan: &'a Value, address: &str) -> Option<&'a Value> {
    plan["resource_changes"]
        .as_array()?
        .iter()
        .find(|c| c["address"] == address)
}

/// True when an attribute of a planned resource is known only after apply.
pub fn unknown(plan: &Value, resource: &Value, attribute: &str) -> bool {
    let address = text(&resource["address"]);
    change(plan, &address).is_some_and(|c| c["change"]["after_unknown"][attribute] == Value::Bool(true))
}

pub fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(other)],
    }
}
