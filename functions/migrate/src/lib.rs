//! `migrate`: applies the embedded migrations (refusing an edited applied one) and sets the application role's
//! statement, lock and idle-in-transaction timeouts. Runs as a Lambda function (invoked by the deploy) or, outside the Lambda runtime, once
//! from the command line.
//!
//! It must not depend on domain crates.

use platform::config::{ConfigError, Env, FromEnv};
use serde_json::{json, Value};

/// `migrate`'s own settings.
#[derive(Debug, Clone)]
pub struct MigrateConfig {
    /// The timeouts the application role gets: `DATABASE_STATEMENT_TIMEOUT_MS` (default 5000),
    /// `DATABASE_LOCK_TIMEOUT_MS` (default 3000) and `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS` (default 10000).
    pub timeouts: store::migrate::RoleTimeouts,
}

impl FromEnv for MigrateConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = store::migrate::RoleTimeouts::default();
        let ms = |name: &str, default: u32, range: std::ops::RangeInclusive<u64>| -> Result<u32, ConfigError> {
            Ok(env.int_in(name, u64::from(default), range)? as u32)
        };
        Ok(MigrateConfig {
            timeouts: store::migrate::RoleTimeouts {
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

/// Applies pending migrations through the writer pool.
pub async fn run(db: &store::Db, config: &MigrateConfig) -> anyhow::Result<Value> {
    let mut client = db
        .writer()
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("no database connection: {e}"))?;
    let report = store::migrate::run(&mut client, store::migrate::MIGRATIONS).await?;
    // Scoped to the database migrated: the role's sessions elsewhere in the cluster keep their own defaults.
    let database: String = client.query_one("SELECT current_database()", &[]).await?.get(0);
    store::migrate::set_role_timeouts(&client, &config.timeouts, Some(&database)).await?;
    tracing::info!(
        applied = report.applied.len(),
        already = report.already_applied,
        "migrations done"
    );
    Ok(json!({
        "applied": report.applied,
        "already_applied": report.already_applied,
        "statement_timeout_ms": config.timeouts.statement_ms,
        "lock_timeout_ms": config.timeouts.lock_ms,
        "idle_in_transaction_session_timeout_ms": config.timeouts.idle_in_transaction_ms,
    }))
}
