//! Reading business settings from `system_config` (configuration as data).

use crate::pool::{describe, Db};
use anyhow::anyhow;
use std::collections::BTreeMap;
use tokio_postgres::types::Type;

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
