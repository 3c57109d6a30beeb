//! `migrate`: applies the embedded migrations (refusing an edited applied one) and sets the application role's
//! statement, lock and idle-in-transaction timeouts. Runs as a Lambda function (invoked by the deploy) or, outside the Lambda runtime, once
//! from the command line.
//!
//! The use case is [`maintenance::migrate`]; `main.rs` wires it to the database. This crate reads its
//! configuration; it must not depend on domain crates or name the `store` adapter outside `main.rs`.

use lambda_glue::env::{ConfigError, Env, FromEnv};

/// `migrate`'s own settings.
#[derive(Debug, Clone)]
pub struct MigrateConfig {
    /// The timeouts the application role gets: `DATABASE_STATEMENT_TIMEOUT_MS` (default 5000),
    /// `DATABASE_LOCK_TIMEOUT_MS` (default 3000) and `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS` (default 10000).
    pub timeouts: maintenance::RoleTimeouts,
}

impl FromEnv for MigrateConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = maintenance::RoleTimeouts::default();
        let ms = |name: &str, default: u32, range: std::ops::RangeInclusive<u64>| -> Result<u32, ConfigError> {
            Ok(env.int_in(name, u64::from(default), range)? as u32)
        };
        Ok(MigrateConfig {
            timeouts: maintenance::RoleTimeouts {
                statement_ms: ms("DATABASE_STATEMENT_TIMEOUT_MS", d.statement_ms, 100..=600_000)?,
                lock_ms: ms("DATABASE_LOCK_TIMEOUT_MS", d.lock_ms, 100..=600_000)?,
                idle_in_transaction_ms: ms(
                    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                    d.idle_in_transaction_ms,
                    1_000..=3_600_000,
                )?,
            },
        })
    }
}
