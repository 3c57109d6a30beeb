//! `cleanup-job`: keeps the database to its retention (`retention.*` in `system_config`).
//!
//! - drops monthly partitions of `order_lines` and `orders` older than `retention.orders_months`, and of
//!   `audit_log` older than `retention.audit_months` (a retention counts the current month in WIB);
//! - purges expired idempotency keys, outbox rows published more than `retention.outbox_days` ago, and sent
//!   notification records older than `retention.notification_log_days`, [`BATCH`] rows per statement so no lock is
//!   held for long.
//!
//! Nothing within retention is touched, and a second run finds nothing left to remove. It must not hold SQL or
//! depend on the AWS SDK.

use serde_json::{json, Value};

/// Rows per purge statement.
pub const BATCH: i64 = 1_000;

fn setting(config: &std::collections::BTreeMap<String, i64>, key: &str) -> anyhow::Result<u32> {
    config
        .get(key)
        .and_then(|n| u32::try_from(*n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow::anyhow!("system_config `{key}` is missing or not a positive whole number"))
}

/// Removes what is past retention at `now`.
pub async fn run(db: &store::Db, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Value> {
    use store::maintenance as m;
    let config = store::config::ints(db, "retention.").await?;
    let today = (now + chrono::Duration::hours(7)).date_naive();
    let orders_from = m::oldest_kept(today, setting(&config, "retention.orders_months")?);
    let audit_from = m::oldest_kept(today, setting(&config, "retention.audit_months")?);
    let mut dropped = Vec::new();
    for table in m::PARTITIONED {
        let keep_from = if table == "audit_log" { audit_from } else { orders_from };
        dropped.extend(m::drop_partitions_before(db, table, keep_from).await?);
    }
    let days = |k: &str| -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        Ok(now - chrono::Duration::days(i64::from(setting(&config, k)?)))
    };
    let purged = m::purge(
        db,
        now,
        days("retention.outbox_days")?,
        days("retention.notification_log_days")?,
        BATCH,
    )
    .await?;
    tracing::info!(dropped = dropped.len(), ?purged, "cleanup finished");
    Ok(json!({
        "dropped_partitions": dropped,
        "purged": {
            "idempotency_keys": purged.idempotency_keys,
            "idempotency_claims": purged.idempotency_claims,
            "outbox": purged.outbox,
            "notification_log": purged.notification_log,
        },
        "orders_kept_from": orders_from,
        "audit_kept_from": audit_from,
    }))
}
