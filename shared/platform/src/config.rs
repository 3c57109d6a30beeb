//! Typed configuration, read once at cold start from the environment that terraform and template.yaml set.
//!
//! A missing or malformed variable stops the cold start with a [`ConfigError`] naming the variable and saying
//! what was expected. Functions with settings of their own implement [`FromEnv`] for their own struct.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

/// Where variables come from: the process environment, or a map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env { overrides: None }
    }

    /// A fixed set of variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            overrides: Some(pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        }
    }

    fn raw(&self, name: &str) -> Option<String> {
        match &self.overrides {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| ConfigError {
            variable: name.into(),
            problem: "is required but not set".into(),
        })
    }

    /// A variable that may be absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// A variable parsed with `FromStr`, or `default` when absent.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e| ConfigError {
                variable: name.into(),
                problem: format!("is invalid (`{v}`): {e}"),
            }),
        }
    }

    /// An integer within `range`, or `default` when absent.
    pub fn int_in(&self, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, ConfigError> {
        let v = self.parse_or(name, default)?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError {
                variable: name.into(),
                problem: format!("must be between {} and {}, got {v}", range.start(), range.end()),
            })
        }
    }
}

/// Implemented by each function's own configuration struct.
pub trait FromEnv: Sized {
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
}

/// No function-specific settings.
impl FromEnv for () {
    fn from_env(_: &Env) -> Result<Self, ConfigError> {
        Ok(())
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
        // Production talks to RDS Proxy over TLS; only a local cluster defaults to plain TCP.
        let default_tls = if environment == "local" {
            store::TlsMode::Disable
        } else {
            store::TlsMode::Require
        };
        let ms = |name: &str, default: u64, range| env.int_in(name, default, range).map(Duration::from_millis);
        let writer_url = env.required("DATABASE_URL")?;
        check_url("DATABASE_URL", &writer_url)?;
        let reader_url = env.optional("DATABASE_READER_URL");
        if let Some(url) = &reader_url {
            check_url("DATABASE_READER_URL", url)?;
        }
        Ok(CommonConfig {
            app_secret_id: env.required("NIAGA_APP_SECRET_ID")?,
            db_secret_id: env.optional("NIAGA_DB_SECRET_ID"),
            db: store::DbSettings {
                writer_url,
                reader_url,
                pool_size: env.int_in("DATABASE_POOL_SIZE", 2, 1..=20)? as usize,
                tls: env.parse_or("DATABASE_TLS", default_tls)?,
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
        ]
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
    fn tls_defaults_to_required_outside_local() {
        let mut vars = base();
        vars.push(("NIAGA_ENV", "prod"));
        let cfg = CommonConfig::from_env(&Env::from_pairs(vars)).unwrap();
        assert_eq!(cfg.db.tls, store::TlsMode::Require);
        let cfg = CommonConfig::from_env(&Env::from_pairs(base())).unwrap();
        assert_eq!(cfg.db.tls, store::TlsMode::Disable);
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
