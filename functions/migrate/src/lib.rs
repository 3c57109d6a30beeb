//! `migrate`: applies the embedded migrations (refusing an edited applied one) and sets the application role's
//! statement timeout. Runs as a Lambda function (invoked by the deploy) or, outside the Lambda runtime, once
//! from the command line.
//!
//! It must not depend on domain crates.

use platform::config::{ConfigError, Env, FromEnv};
use serde_json::{json, Value};

/// `migrate`'s own settings.
#[derive(Debug, Clone)]
pub struct MigrateConfig {
    /// Statement timeout the application role gets (`DATABASE_STATEMENT_TIMEOUT_MS`, default 5000).
    pub statement_timeout_ms: u32,
}

impl FromEnv for MigrateConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(MigrateConfig {
            statement_timeout_ms: env.int_in("DATABASE_STATEMENT_TIMEOUT_MS", 5_000, 100..=600_000)? as u32,
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
    store::migrate::set_role_statement_timeout(&client, config.statement_timeout_ms).await?;
    tracing::info!(
        applied = report.applied.len(),
        already = report.already_applied,
        "migrations done"
    );
    Ok(json!({
        "applied": report.applied,
        "already_applied": report.already_applied,
        "statement_timeout_ms": config.statement_timeout_ms,
    }))
}
