//! Business settings in `system_config` (configuration as data): the [`settings::SettingsSource`] and
//! [`settings::SettingsStore`] ports: reading them by prefix, listing, changing one under optimistic concurrency
//! with its audit row, and reading its history.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use settings::{Change, Setting, Updated};
use std::collections::BTreeMap;
use tokio_postgres::types::Type;

/// `system_config` read directly, uncached: the settings ports for jobs, workers and the admin API.
#[derive(Debug, Clone)]
pub struct PgSettings {
    db: Db,
}

impl PgSettings {
    pub fn new(db: Db) -> Self {
        PgSettings { db }
    }
}

impl settings::SettingsSource for PgSettings {
    async fn ints(&self, prefix: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        ints(&self.db, prefix).await
    }
}

/// Every integer setting whose key starts with `prefix`, by key.
pub async fn ints(db: &Db, prefix: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let client = db.read_client().await?;
    let pattern = format!("{prefix}%");
    let rows = client
        .query_typed(
            "SELECT key, value FROM system_config WHERE key LIKE $1",
            &[(&pattern, Type::TEXT)],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = r.get(1);
            v.as_i64().map(|n| (r.get::<_, String>(0), n))
        })
        .collect())
}

const SETTING_COLUMNS: &str = "key, value, version, schema, updated_by, updated_at";

fn setting(r: &tokio_postgres::Row) -> Setting {
    Setting {
        key: r.get(0),
        value: r.get(1),
        version: r.get(2),
        schema: r.get(3),
        updated_by: r.get(4),
        updated_at: r.get(5),
    }
}

/// Every setting, by key.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Setting>> {
    let client = db.write_client().await?;
    let rows = client
        .query_typed(
            &format!("SELECT {SETTING_COLUMNS} FROM system_config ORDER BY key"),
            &[],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
    Ok(rows.iter().map(setting).collect())
}

impl settings::SettingsStore for PgSettings {
    async fn list(&self) -> anyhow::Result<Vec<Setting>> {
        list(&self.db).await
    }

    /// From the writer, so a read after a change sees it.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Setting>> {
        let client = self.db.write_client().await?;
        let row = client
            .query_typed_opt(
                &format!("SELECT {SETTING_COLUMNS} FROM system_config WHERE key = $1"),
                &[(&key, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok(row.as_ref().map(setting))
    }

    async fn update(
        &self,
        key: &str,
        expected_version: i32,
        value: &serde_json::Value,
        changed_by: &str,
        acting_for: Option<&str>,
    ) -> anyhow::Result<Updated> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(|e| anyhow!(describe(&e)))?;
        let current = tx
            .query_typed_opt(
                "SELECT value, version FROM system_config WHERE key = $1 FOR UPDATE",
                &[(&key, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        let Some(current) = current else {
            return Ok(Updated::NotFound);
        };
        let (old, version): (serde_json::Value, i32) = (current.get(0), current.get(1));
        if version != expected_version {
            return Ok(Updated::Stale { current: version });
        }
        let row = tx
            .query_typed_one(
                &format!(
                    "UPDATE system_config SET value = $2, version = version + 1, updated_by = $3, updated_at = now()
                     WHERE key = $1 RETURNING {SETTING_COLUMNS}"
                ),
                &[(&key, Type::TEXT), (value, Type::JSONB), (&changed_by, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        tx.execute_typed(
            "INSERT INTO system_config_audit (key, old_value, new_value, changed_by, acting_for) VALUES ($1, $2, $3, $4, $5)",
            &[
                (&key, Type::TEXT),
                (&old, Type::JSONB),
                (value, Type::JSONB),
                (&changed_by, Type::TEXT),
                (&acting_for, Type::TEXT),
            ],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
        tx.commit().await.map_err(|e| anyhow!(describe(&e)))?;
        Ok(Updated::Done(setting(&row)))
    }

    async fn history(&self, key: &str, limit: u32) -> anyhow::Result<Vec<Change>> {
        let client = self.db.read_client().await?;
        let rows = client
            .query_typed(
                "SELECT old_value, new_value, changed_by, acting_for, changed_at FROM system_config_audit
                 WHERE key = $1 ORDER BY changed_at DESC, id DESC LIMIT $2",
                &[(&key, Type::TEXT), (&i64::from(limit), Type::INT8)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok(rows
            .iter()
            .map(|r| Change {
                old_value: r.get(0),
                new_value: r.get(1),
                changed_by: r.get(2),
                acting_for: r.get(3),
                changed_at: r.get(4),
            })
            .collect())
    }
}
