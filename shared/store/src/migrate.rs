//! Versioned SQL migrations, embedded in every binary that links this crate.
//!
//! Files live in `shared/store/migrations/NNNN_name.sql` and are listed in [`MIGRATIONS`] (a test checks that the
//! list and the folder agree). Each applied migration is recorded with the SHA-256 of its text; a later run that
//! finds an applied migration whose text changed refuses to continue, because an edited migration means the
//! database and the code disagree about the schema. Fix forward with a new migration instead.
//!
//! Each migration runs in its own transaction, holding a transaction-scoped advisory lock so that two
//! concurrent `migrate` invocations apply each migration once (no session state is left behind).

use crate::pool::describe;
use maintenance::{MigrationReport, RoleTimeouts};
use sha2::{Digest, Sha256};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $name, ".sql")),
        }
    };
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_catalogue_and_partners"),
    migration!(2, "0002_orders_outbox_config_audit"),
    migration!(3, "0003_identity_checkout_payments"),
    migration!(4, "0004_outbox_order"),
    migration!(5, "0005_notification_log"),
    migration!(6, "0006_erp_sync"),
    migration!(7, "0007_erp_inbound_sync"),
    migration!(8, "0008_rate_limit_budgets"),
    migration!(9, "0009_agent_jobs"),
    migration!(10, "0010_notification_blasts"),
    migration!(11, "0011_config_schemas_and_jobs"),
    migration!(12, "0012_exports"),
    migration!(13, "0013_shipments_and_returns"),
    migration!(14, "0014_refunds_due"),
    migration!(15, "0015_erp_ledger"),
    migration!(16, "0016_ppn_and_payment_terms"),
    migration!(17, "0017_idempotency_claims"),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) was edited after it was applied: recorded checksum {recorded}, embedded {embedded}; add a new migration instead")]
    Edited {
        version: i32,
        name: String,
        recorded: String,
        embedded: String,
    },
    #[error("the database has migration {version} ({name}) that this binary does not know; deploy the newer code")]
    Unknown { version: i32, name: String },
    #[error("migration {version} ({name}) failed: {message}")]
    Failed {
        version: i32,
        name: String,
        message: String,
    },
    #[error("database error: {0}")]
    Db(String),
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Db(describe(&e))
    }
}

/// A lock id shared by every migrator ("niaga" in ASCII).
const MIGRATION_LOCK: i64 = 0x6e_69_61_67_61;

/// Applies every pending migration in `set`; refuses edited or unknown applied migrations.
pub async fn run(client: &mut tokio_postgres::Client, set: &[Migration]) -> Result<MigrationReport, MigrateError> {
    let mut report = MigrationReport::default();
    for m in set {
        let tx = client.transaction().await?;
        tx.query_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&MIGRATION_LOCK, tokio_postgres::types::Type::INT8)],
        )
        .await?;
        // Created under the lock: concurrent `CREATE TABLE IF NOT EXISTS` statements race in the catalog.
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
        let applied = applied(&tx).await?;
        check_known(&applied, set)?;
        if let Some((_, recorded)) = applied
            .iter()
            .find(|(v, _)| *v == m.version)
            .map(|(v, c)| (v, c.clone()))
        {
            let embedded = m.checksum();
            if recorded != embedded {
                return Err(MigrateError::Edited {
                    version: m.version,
                    name: m.name.into(),
                    recorded,
                    embedded,
                });
            }
            report.already_applied += 1;
            tx.commit().await?;
            continue;
        }
        tx.batch_execute(m.sql).await.map_err(|e| MigrateError::Failed {
            version: m.version,
            name: m.name.into(),
            message: describe(&e),
        })?;
        tx.execute_typed(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[
                (&m.version, tokio_postgres::types::Type::INT4),
                (&m.name, tokio_postgres::types::Type::TEXT),
                (&m.checksum(), tokio_postgres::types::Type::TEXT),
            ],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        report.applied.push(m.name.to_string());
    }
    Ok(report)
}

async fn applied(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<(i32, String)>, MigrateError> {
    let rows = tx
        .query_typed("SELECT version, checksum FROM schema_migrations ORDER BY version", &[])
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn check_known(applied: &[(i32, String)], set: &[Migration]) -> Result<(), MigrateError> {
    for (version, _) in applied {
        if !set.iter().any(|m| m.version == *version) {
            return Err(MigrateError::Unknown {
                version: *version,
                name: format!("version {version}"),
            });
        }
    }
    Ok(())
}

/// The schema of the database behind a pool, migrated through its writer.
#[derive(Debug, Clone)]
pub struct PgSchema {
    db: crate::Db,
}

impl PgSchema {
    pub fn new(db: crate::Db) -> Self {
        PgSchema { db }
    }
}

impl maintenance::Schema for PgSchema {
    async fn migrate(&self, timeouts: &RoleTimeouts) -> anyhow::Result<MigrationReport> {
        let mut client = self
            .db
            .writer()
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("no database connection: {e}"))?;
        let report = run(&mut client, MIGRATIONS).await?;
        // Scoped to the database migrated: the role's sessions elsewhere in the cluster keep their own defaults.
        let database: String = client.query_one("SELECT current_database()", &[]).await?.get(0);
        set_role_timeouts(&client, timeouts, Some(&database)).await?;
        Ok(report)
    }
}

/// Sets the connecting role's default timeouts, in every database (`database` `None`, as the deploy does) or in
/// one database only (the local stage, whose role also runs the tooling). Takes effect for connections opened
/// afterwards.
pub async fn set_role_timeouts(
    client: &tokio_postgres::Client,
    t: &RoleTimeouts,
    database: Option<&str>,
) -> Result<(), MigrateError> {
    // ALTER ROLE takes no bind parameters: the values are integers and the database name is quoted as an
    // identifier, so formatting them cannot inject SQL.
    let scope = database.map_or(String::new(), |db| {
        format!(" IN DATABASE \"{}\"", db.replace('"', "\"\""))
    });
    client
        .batch_execute(&format!(
            "ALTER ROLE CURRENT_USER{scope} SET statement_timeout = {};
             ALTER ROLE CURRENT_USER{scope} SET lock_timeout = {};
             ALTER ROLE CURRENT_USER{scope} SET idle_in_transaction_session_timeout = {};",
            t.statement_ms, t.lock_ms, t.idle_in_transaction_ms
        ))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_matches_the_migrations_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".sql")
                    .to_string()
            })
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| m.name.to_string()).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn versions_increase_and_match_file_prefixes() {
        // Numbers are handed out to parallel branches up front, so a branch may skip some; order is what matters.
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert!(i == 0 && m.version == 1 || i > 0 && m.version > MIGRATIONS[i - 1].version);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)), "{}", m.name);
        }
    }
}
