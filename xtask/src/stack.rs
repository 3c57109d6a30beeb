//! The local stack's wiring: which environment each function gets, the [`FunctionSpec`]s for the local runtime,
//! and [`LocalStack`], the whole system started in one call (moto with terraform/persistence applied, the fake
//! ERP, every function, the gateway). `cargo xtask up`, `cargo xtask load`, the end-to-end tests and the
//! benchmarks all build the stack through here, so they run the functions exactly the same way.

use crate::gateway::Gateway;
use crate::localrt::{FunctionSpec, HttpInvoker, LocalRuntime, RuntimeOptions};
use crate::manifest::Manifest;
use crate::services::{self, step, Moto};
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// What the functions need to reach their dependencies.
#[derive(Debug, Clone)]
pub struct StackSettings {
    /// Writer URL (no password: the local cluster trusts loopback; production reads it from the database secret).
    pub database_url: String,
    pub aws_endpoint: String,
    pub app_secret_id: String,
    pub db_secret_id: Option<String>,
    /// The payments secret (`server_key`); payments-api refuses to start without it.
    pub payments_secret_id: Option<String>,
    /// `NIAGA_LOG` filter for the functions.
    pub log: String,
    /// Further variables for every function (tests lower thresholds this way).
    pub extra_env: Vec<(String, String)>,
    /// Each function's own keys in moto ([`crate::iam`]): its process gets these, never the setup principal's.
    pub principals: crate::iam::Principals,
}

impl StackSettings {
    /// The environment every function gets: the same variables terraform and template.yaml set in AWS.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("NIAGA_ENV".to_string(), crate::LOCAL_ENV.to_string()),
            ("NIAGA_APP_SECRET_ID".to_string(), self.app_secret_id.clone()),
            ("DATABASE_URL".to_string(), self.database_url.clone()),
            // As in AWS: verify-full, here against the local cluster's project CA for the writer and the reader.
            ("DATABASE_TLS".to_string(), "verify-full".to_string()),
            ("DATABASE_CA".to_string(), crate::pgtls::ca_path().display().to_string()),
            (
                "DATABASE_READER_CA".to_string(),
                crate::pgtls::ca_path().display().to_string(),
            ),
            ("NIAGA_LOG".to_string(), self.log.clone()),
            (
                "NIAGA_OUTBOX_ROUTES".to_string(),
                crate::manifest::Manifest::load_workspace()
                    .map(|m| m.outbox_routes().to_string())
                    .unwrap_or_else(|_| "{}".into()),
            ),
        ];
        // The bucket terraform/env/local.persistence.tfvars names.
        env.push((
            "NIAGA_EXPORTS_BUCKET".to_string(),
            crate::LOCAL_EXPORTS_BUCKET.to_string(),
        ));
        // Agents on this machine register callbacks on 127.0.0.1. The functions honour this only while NIAGA_ENV is
        // `local`, and it adds loopback alone: private and link-local addresses stay refused.
        env.push(("NIAGA_WEBHOOK_ALLOW_LOOPBACK_HTTP".to_string(), "1".to_string()));
        if let Some(id) = &self.db_secret_id {
            env.push(("NIAGA_DB_SECRET_ID".to_string(), id.clone()));
        }
        if let Some(id) = &self.payments_secret_id {
            env.push(("NIAGA_PAYMENTS_SECRET_ID".to_string(), id.clone()));
        }
        env.extend(crate::services::aws_env(&self.aws_endpoint));
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// [`StackSettings::function_env`] with `function`'s own keys in moto (when it has a principal).
    pub fn env_of(&self, function: &str) -> Vec<(String, String)> {
        let mut env = self.function_env();
        if let Some(keys) = self.principals.get(function) {
            env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY");
            env.push(("AWS_ACCESS_KEY_ID".into(), keys.access_key_id.clone()));
            env.push(("AWS_SECRET_ACCESS_KEY".into(), keys.secret_access_key.clone()));
        }
        env
    }

    /// One spec per manifest function, running the binaries built in `profile` (`debug` or `release`).
    pub fn specs(&self, manifest: &Manifest, profile: &str) -> Vec<FunctionSpec> {
        manifest
            .functions
            .iter()
            .map(|f| {
                let spec = FunctionSpec::from_manifest(f, crate::bin_path(profile, &f.name));
                self.env_of(&f.name)
                    .into_iter()
                    .fold(spec, |s, (k, v)| s.with_env(k, v))
            })
            .collect()
    }
}

/// True when every function binary exists in `profile`.
pub fn binaries_built(manifest: &Manifest, profile: &str) -> bool {
    manifest
        .functions
        .iter()
        .all(|f| Path::new(&crate::bin_path(profile, &f.name)).is_file())
}

/// How many execution environments each function may have at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// One per function: enough to try everything by hand (`cargo xtask up`).
    One,
    /// What a load needs, as Lambda would scale: every HTTP function up to `http` instances, every queue worker as
    /// many as its event-source mapping invokes at once (the manifest's `max_concurrency`, within its
    /// `reserved_concurrency`), every job one.
    Deployed { http: usize },
}

impl Scale {
    fn instances(self, f: &crate::manifest::Function) -> usize {
        match self {
            Scale::One => 1,
            Scale::Deployed { http } => match f.kind {
                crate::manifest::Kind::Http => http.max(1),
                crate::manifest::Kind::Sqs => {
                    let mapping = f.max_concurrency.unwrap_or(2);
                    f.reserved_concurrency.map_or(mapping, |r| mapping.min(r)).max(1) as usize
                }
                _ => 1,
            },
        }
    }
}

/// Where and how [`LocalStack::start`] runs the system.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// `debug` or `release`: which build of the functions runs (built beforehand by the caller).
    pub profile: &'static str,
    /// The migrated, seeded database the functions use.
    pub database_url: String,
    pub moto_port: u16,
    pub gateway: SocketAddr,
    /// The Invoke API.
    pub invoke: SocketAddr,
    /// The fake ERP.
    pub erp: SocketAddr,
    /// Each function's output goes to `<log_dir>/<function>.log`.
    pub log_dir: PathBuf,
    /// Also echo every function's output to stdout.
    pub echo: bool,
    pub scale: Scale,
    /// terraform's working data for the local persistence layer (`NIAGA_TF_DATA_DIR`); `None` keeps the wrapper's
    /// default, `.niaga/terraform`.
    pub tf_data_dir: Option<PathBuf>,
    /// `NIAGA_LOG` for the functions.
    pub log: String,
}

/// The whole system running locally, started the same way for `cargo xtask up` and `cargo xtask load`: moto with
/// terraform/persistence applied to it, the fake ERP, every manifest function under the local Lambda runtime, and
/// the gateway with its routes, SQS pollers and schedules. PostgreSQL is the caller's (it is shared with other
/// commands and may outlive the stack).
pub struct LocalStack {
    pub moto: Moto,
    pub fake_erp: fake_erp::FakeErp,
    pub runtime: LocalRuntime,
    pub gateway: Gateway,
    /// The values of the local secrets (`app.jwt_signing_key`, `payments.server_key`, ...).
    pub secrets: serde_json::Value,
    /// Each function's keys in moto.
    pub principals: crate::iam::Principals,
}

impl LocalStack {
    pub async fn start(manifest: &Manifest, options: StackOptions) -> Result<LocalStack> {
        crate::localdb::set_role_timeouts(&options.database_url).await?;
        let mut moto = Moto::start_enforcing(options.moto_port)?;
        // The legacy ERP's stand-in, with its switches at <url>/_fake/switches.
        let fake_erp = fake_erp::FakeErp::start(options.erp)
            .await
            .with_context(|| format!("starting the fake ERP on {}", options.erp))?;
        step(format!("fake ERP on {}", fake_erp.url()));
        let secrets = local_secret_values()?;
        let policies = crate::iam::render(manifest, crate::iam::Stage::Local)?;
        // Setup happens in moto's unauthenticated window, as the admin principal; then each function gets a
        // principal with exactly its rendered policy, and enforcement starts.
        let principals = {
            let mut window = crate::iam::Window::new(&mut moto);
            window.admin().await?;
            // terraform's provider signs with the emulator's fixed `test` keys (terraform/*/providers.tf), which no
            // principal holds, so the apply runs inside the window (with the admin keys in its environment).
            apply_terraform(window.moto(), &secrets, options.tf_data_dir.as_deref())?;
            let principals = window.functions(&policies, "niaga-local-").await?;
            window.close().await?;
            principals
        };

        let settings = StackSettings {
            database_url: options.database_url.clone(),
            aws_endpoint: moto.endpoint(),
            app_secret_id: crate::secret_physical_name(crate::LOCAL_ENV, "app"),
            db_secret_id: Some(crate::secret_physical_name(crate::LOCAL_ENV, "database")),
            payments_secret_id: Some(crate::secret_physical_name(crate::LOCAL_ENV, "payments")),
            log: options.log.clone(),
            extra_env: vec![
                // Notifications land in a file anyone can tail.
                (
                    "NIAGA_NOTIFY_SENDER".into(),
                    format!("file:{}", services::state_dir().join("notifications.jsonl").display()),
                ),
                ("NIAGA_ERP_URL".into(), fake_erp.url()),
            ],
            principals: principals.clone(),
        };
        let specs = settings
            .specs(manifest, options.profile)
            .into_iter()
            .map(|spec| {
                let n = manifest
                    .functions
                    .iter()
                    .find(|f| f.name == spec.name)
                    .map_or(1, |f| options.scale.instances(f));
                spec.with_max_instances(n)
            })
            .collect();
        let runtime = LocalRuntime::start_with(
            options.invoke,
            specs,
            RuntimeOptions {
                log_dir: Some(options.log_dir.clone()),
                echo: options.echo,
                ..Default::default()
            },
        )
        .await
        .context("starting the local Lambda runtime")?;
        // The gateway reaches the functions through the Invoke API, as API Gateway reaches Lambda.
        let invoker = Arc::new(HttpInvoker::new(runtime.invoke_url()));
        let gateway = Gateway::start_as(
            options.gateway,
            manifest.clone(),
            invoker,
            Some(moto.sdk_config().await),
            crate::LOCAL_ENV.into(),
            &principals,
        )
        .await?;
        Ok(LocalStack {
            moto,
            fake_erp,
            runtime,
            gateway,
            secrets,
            principals,
        })
    }

    /// The payments secret's `server_key` (what signs a payment notification).
    pub fn payments_server_key(&self) -> Result<String> {
        self.secrets["payments"]["server_key"]
            .as_str()
            .map(str::to_string)
            .context("the local payments secret has a server_key")
    }

    /// The app secret's `jwt_signing_key`.
    pub fn jwt_signing_key(&self) -> Result<String> {
        self.secrets["app"]["jwt_signing_key"]
            .as_str()
            .map(str::to_string)
            .context("the local app secret has a jwt_signing_key")
    }

    /// Stops the gateway (letting in-flight requests, batches and firings finish) and the functions, then the fake
    /// ERP and moto. Returns every order the fake ERP received, read once nothing could send it more.
    pub async fn shutdown(self) -> Vec<fake_erp::Received> {
        let LocalStack {
            moto,
            fake_erp,
            mut runtime,
            gateway,
            ..
        } = self;
        gateway.shutdown().await;
        runtime.shutdown().await;
        let received = fake_erp.received();
        fake_erp.stop().await;
        drop(moto);
        received
    }
}

/// The local application secrets, generated once per checkout and kept in `.niaga/` (git-ignored).
pub fn local_secret_values() -> Result<serde_json::Value> {
    let path = services::state_dir().join("local-secrets.json");
    let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let fresh = serde_json::json!({
        "app": { "jwt_signing_key": key },
        "database": { "username": "postgres", "password": "local-cluster-trusts-loopback" },
        "payments": { "server_key": format!("SB-Mid-server-{}", uuid::Uuid::new_v4().simple()) },
    });
    let mut v: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    // Keep the values a checkout already has; add any secret the manifest gained since.
    let (Some(have), Some(defaults)) = (v.as_object_mut(), fresh.as_object()) else {
        bail!("{} is not a JSON object; delete it to regenerate", path.display());
    };
    for (name, value) in defaults {
        have.entry(name.clone()).or_insert_with(|| value.clone());
    }
    std::fs::create_dir_all(services::state_dir())?;
    std::fs::write(&path, serde_json::to_string_pretty(&v)?)?;
    Ok(v)
}

/// Applies the persistence layer (queues, tables, secrets, bucket) to moto with the project's terraform.
fn apply_terraform(moto: &Moto, secrets: &serde_json::Value, tf_data_dir: Option<&Path>) -> Result<()> {
    crate::terraform::require()?;
    step("applying terraform/persistence to moto (queues, tables, secrets)");
    let secret_values: serde_json::Map<String, serde_json::Value> = secrets
        .as_object()
        .context("local secrets are an object")?
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
        .collect();
    let wrapper = crate::workspace_root().join("terraform/tf");
    let mut cmd = Command::new("bash");
    cmd.arg(&wrapper)
        .args([
            "local",
            "persistence",
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ])
        .envs(moto.admin_env())
        .env(
            "TF_VAR_secret_values",
            serde_json::Value::Object(secret_values).to_string(),
        )
        .env("TF_IN_AUTOMATION", "1");
    if let Some(dir) = tf_data_dir {
        cmd.env("NIAGA_TF_DATA_DIR", dir);
    }
    let out = services::run(&mut cmd, "terraform apply (persistence, local)")?;
    if let Some(line) = out.lines().find(|l| l.contains("Apply complete")) {
        step(line.trim());
    }
    Ok(())
}
