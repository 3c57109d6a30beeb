//! Niaga's configuration from the environment that terraform and template.yaml set: what every function reads
//! ([`CommonConfig`]: the environment, secrets, the database and its TLS) and the ERP's place ([`ErpConfig`]).
//! Variables are read through glue's [`Env`]; settings an administrator changes at run time are not here but in
//! `system_config` (the `settings` crate).

use lambda_glue::env::{ConfigError, Env, FromEnv};
use std::time::Duration;

/// Where the legacy ERP is and how long one call to it may take: `NIAGA_ERP_URL` (required) and
/// `NIAGA_ERP_TIMEOUT_MS` (100 to 120000). The default timeout is the caller's, because the calls differ: one sales
/// order on a worker's path, a feed every few minutes, the whole price list once a night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpConfig<const DEFAULT_TIMEOUT_MS: u64> {
    pub url: String,
    pub timeout: std::time::Duration,
}

impl<const DEFAULT_TIMEOUT_MS: u64> FromEnv for ErpConfig<DEFAULT_TIMEOUT_MS> {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(ErpConfig {
            url: env.required("NIAGA_ERP_URL")?,
            timeout: std::time::Duration::from_millis(env.int_in(
                "NIAGA_ERP_TIMEOUT_MS",
                DEFAULT_TIMEOUT_MS,
                100..=120_000,
            )?),
        })
    }
}

/// Settings every function reads.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// `local`, `staging`, `prod`...
    pub environment: String,
    /// Secrets Manager id of the application secret (holds `jwt_signing_key`).
    pub app_secret_id: String,
    /// Secrets Manager id of the database credentials (`username`, `password`); absent means the URL's.
    pub db_secret_id: Option<String>,
    pub db: store::DbSettings,
    pub secrets_ttl: Duration,
    /// Requests slower than this log a warning.
    pub slow_request: Duration,
    /// Build identifier shown by health (a git commit, set at deploy time).
    pub build: Option<String>,
}

impl FromEnv for CommonConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let environment = env.optional("NIAGA_ENV").unwrap_or_else(|| "local".into());
        let ms = |name: &str, default: u64, range| env.int_in(name, default, range).map(Duration::from_millis);
        let writer_url = env.required("DATABASE_URL")?;
        check_url("DATABASE_URL", &writer_url)?;
        let reader_url = env.optional("DATABASE_READER_URL");
        if let Some(url) = &reader_url {
            check_url("DATABASE_READER_URL", url)?;
        }
        let (tls, writer_ca, reader_ca) = database_tls(env, &environment, &writer_url, reader_url.as_deref())?;
        Ok(CommonConfig {
            app_secret_id: env.required("NIAGA_APP_SECRET_ID")?,
            db_secret_id: env.optional("NIAGA_DB_SECRET_ID"),
            db: store::DbSettings {
                writer_url,
                reader_url,
                pool_size: env.int_in("DATABASE_POOL_SIZE", 2, 1..=20)? as usize,
                tls,
                writer_ca,
                reader_ca,
                connect_timeout: ms("DATABASE_CONNECT_TIMEOUT_MS", 3_000, 100..=60_000)?,
                wait_timeout: ms("DATABASE_WAIT_TIMEOUT_MS", 2_000, 10..=60_000)?,
            },
            secrets_ttl: Duration::from_secs(env.int_in("NIAGA_SECRETS_TTL_SECONDS", 300, 0..=86_400)?),
            slow_request: ms("NIAGA_SLOW_REQUEST_MS", 3_000, 1..=900_000)?,
            build: env.optional("NIAGA_BUILD"),
            environment,
        })
    }
}

/// `DATABASE_TLS` (default `verify-full`) and the CA bundle of each endpoint: `DATABASE_CA` for the writer,
/// `DATABASE_READER_CA` for a reader URL that differs from the writer's. `disable` is an explicit override for a
/// local cluster: it is refused in any other environment, so production cannot skip verification.
fn database_tls(
    env: &Env,
    environment: &str,
    writer_url: &str,
    reader_url: Option<&str>,
) -> Result<(store::TlsMode, Option<store::CaBundle>, Option<store::CaBundle>), ConfigError> {
    let tls = env.parse_or("DATABASE_TLS", store::TlsMode::VerifyFull)?;
    match tls {
        store::TlsMode::Disable if environment != "local" => Err(ConfigError {
            variable: "DATABASE_TLS".into(),
            problem: format!(
                "is `disable`, which only a local cluster may use (NIAGA_ENV is `{environment}`): set `verify-full`"
            ),
        }),
        store::TlsMode::Disable => Ok((tls, None, None)),
        store::TlsMode::VerifyFull => {
            let writer_ca = ca_bundle(env, "DATABASE_CA")?;
            let reader_ca = match reader_url {
                // The replica presents another authority's certificate than the proxy: it must be named.
                Some(url) if url != writer_url => ca_bundle(env, "DATABASE_READER_CA")?,
                _ => writer_ca.clone(),
            };
            Ok((tls, Some(writer_ca), Some(reader_ca)))
        }
    }
}

fn ca_bundle(env: &Env, variable: &str) -> Result<store::CaBundle, ConfigError> {
    let problem = |problem: String| ConfigError {
        variable: variable.into(),
        problem,
    };
    let value = env
        .required(variable)
        .map_err(|_| problem("is required with DATABASE_TLS=verify-full but not set".into()))?;
    let ca: store::CaBundle = value
        .trim()
        .parse()
        .map_err(|e| problem(format!("is invalid (`{value}`): {e}")))?;
    ca.root_store().map_err(|e| problem(format!("is unusable: {e}")))?;
    Ok(ca)
}

fn check_url(variable: &str, url: &str) -> Result<(), ConfigError> {
    store::pool::validate_url(url).map_err(|e| ConfigError {
        variable: variable.into(),
        problem: format!("is not a PostgreSQL URL: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("DATABASE_URL", "postgres://niaga@127.0.0.1:5432/niaga"),
            ("NIAGA_APP_SECRET_ID", "niaga/local/app"),
            ("DATABASE_TLS", "disable"),
        ]
    }

    /// What production runs with: the writer through RDS Proxy, reads from the replica's own endpoint.
    fn prod() -> Vec<(&'static str, &'static str)> {
        vec![
            ("NIAGA_ENV", "prod"),
            ("NIAGA_APP_SECRET_ID", "niaga/prod/app"),
            (
                "DATABASE_URL",
                "postgres://niaga.proxy-abc.us-east-1.rds.amazonaws.com:5432/niaga",
            ),
            (
                "DATABASE_READER_URL",
                "postgres://niaga-prod-replica.abc.us-east-1.rds.amazonaws.com:5432/niaga",
            ),
            ("DATABASE_TLS", "verify-full"),
            ("DATABASE_CA", "rds-proxy"),
            ("DATABASE_READER_CA", "rds"),
        ]
    }

    fn with(mut vars: Vec<(&'static str, &'static str)>, name: &'static str, value: &'static str) -> Env {
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value));
        Env::from_pairs(vars)
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        let err = CommonConfig::from_env(&Env::from_pairs([("NIAGA_APP_SECRET_ID", "x")])).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(err.to_string().contains("DATABASE_URL is required"));
    }

    #[test]
    fn a_malformed_number_is_named_with_its_value() {
        let mut vars = base();
        vars.push(("DATABASE_POOL_SIZE", "lots"));
        let err = CommonConfig::from_env(&Env::from_pairs(vars)).unwrap_err();
        assert_eq!(err.variable, "DATABASE_POOL_SIZE");
        assert!(err.problem.contains("lots"));
    }

    #[test]
    fn an_out_of_range_pool_size_is_refused() {
        let mut vars = base();
        vars.push(("DATABASE_POOL_SIZE", "500"));
        assert_eq!(
            CommonConfig::from_env(&Env::from_pairs(vars)).unwrap_err().variable,
            "DATABASE_POOL_SIZE"
        );
    }

    #[test]
    fn production_verifies_each_endpoint_against_its_own_ca() {
        let cfg = CommonConfig::from_env(&Env::from_pairs(prod())).unwrap();
        assert_eq!(cfg.db.tls, store::TlsMode::VerifyFull);
        assert_eq!(cfg.db.writer_ca, Some(store::CaBundle::RdsProxy));
        assert_eq!(cfg.db.reader_ca, Some(store::CaBundle::Rds));
    }

    #[test]
    fn production_refuses_to_skip_verification() {
        let err = CommonConfig::from_env(&with(prod(), "DATABASE_TLS", "disable")).unwrap_err();
        assert_eq!(err.variable, "DATABASE_TLS");
        // Nor may another non-local environment, nor libpq's `require` (TLS without verification).
        let mut staging = prod();
        staging.retain(|(k, _)| *k != "NIAGA_ENV");
        staging.push(("NIAGA_ENV", "staging"));
        assert_eq!(
            CommonConfig::from_env(&with(staging, "DATABASE_TLS", "disable"))
                .unwrap_err()
                .variable,
            "DATABASE_TLS"
        );
        assert_eq!(
            CommonConfig::from_env(&with(prod(), "DATABASE_TLS", "require"))
                .unwrap_err()
                .variable,
            "DATABASE_TLS"
        );
    }

    #[test]
    fn verification_is_the_default_and_needs_a_ca_for_each_endpoint() {
        let mut vars = prod();
        vars.retain(|(k, _)| *k != "DATABASE_TLS");
        assert_eq!(
            CommonConfig::from_env(&Env::from_pairs(vars.clone())).unwrap().db.tls,
            store::TlsMode::VerifyFull
        );
        let without = |name: &str| {
            let vars: Vec<_> = prod().into_iter().filter(|(k, _)| *k != name).collect();
            CommonConfig::from_env(&Env::from_pairs(vars)).unwrap_err().variable
        };
        assert_eq!(without("DATABASE_CA"), "DATABASE_CA");
        // The replica's CA is never assumed to be the proxy's.
        assert_eq!(without("DATABASE_READER_CA"), "DATABASE_READER_CA");
        let err = CommonConfig::from_env(&with(prod(), "DATABASE_READER_CA", "webpki")).unwrap_err();
        assert_eq!(err.variable, "DATABASE_READER_CA");
        let err = CommonConfig::from_env(&with(prod(), "DATABASE_CA", "/nonexistent/ca.pem")).unwrap_err();
        assert_eq!(err.variable, "DATABASE_CA");
    }

    #[test]
    fn a_local_cluster_may_go_without_tls_only_when_told_to() {
        let cfg = CommonConfig::from_env(&Env::from_pairs(base())).unwrap();
        assert_eq!(cfg.db.tls, store::TlsMode::Disable);
        let mut vars = base();
        vars.retain(|(k, _)| *k != "DATABASE_TLS");
        assert_eq!(
            CommonConfig::from_env(&Env::from_pairs(vars)).unwrap_err().variable,
            "DATABASE_CA"
        );
    }

    #[test]
    fn a_bad_database_url_is_named() {
        let err = CommonConfig::from_env(&Env::from_pairs([
            ("DATABASE_URL", "mysql:/nope"),
            ("NIAGA_APP_SECRET_ID", "x"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }
}
