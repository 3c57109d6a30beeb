//! The local stack's wiring: which environment each function gets, and the [`FunctionSpec`]s for the local
//! runtime. `cargo xtask up`, the end-to-end tests and the benchmarks all build the stack through here, so they
//! run the functions exactly the same way.

use crate::localrt::FunctionSpec;
use crate::manifest::Manifest;
use std::path::Path;

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
}

impl StackSettings {
    /// The environment every function gets: the same variables terraform and template.yaml set in AWS.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("NIAGA_ENV".to_string(), crate::LOCAL_ENV.to_string()),
            ("NIAGA_APP_SECRET_ID".to_string(), self.app_secret_id.clone()),
            ("DATABASE_URL".to_string(), self.database_url.clone()),
            ("DATABASE_TLS".to_string(), "disable".to_string()),
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
        // Agents on this machine register callbacks on 127.0.0.1; in AWS only https is accepted.
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

    /// One spec per manifest function, running the binaries built in `profile` (`debug` or `release`).
    pub fn specs(&self, manifest: &Manifest, profile: &str) -> Vec<FunctionSpec> {
        manifest
            .functions
            .iter()
            .map(|f| {
                let spec = FunctionSpec::from_manifest(f, crate::bin_path(profile, &f.name));
                self.function_env().into_iter().fold(spec, |s, (k, v)| s.with_env(k, v))
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
