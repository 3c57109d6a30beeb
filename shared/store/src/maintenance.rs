//! Housekeeping the scheduled jobs do: monthly partitions created ahead (partition-job) and dropped past their
//! retention (cleanup-job), and expired or finished rows purged in small batches so no statement holds locks for
//! long.
//!
//! Partitioned tables (migration 0002): `orders` and `order_lines` (by `placed_at`), `audit_log` (by
//! `occurred_at`); each month is a partition named `<table>_YYYYMM`. `order_lines` and `order_returns` reference
//! `orders`, so an orders month is dropped only after its lines and their returns.

use crate::pool::{describe, Db};
use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use maintenance::{Housekeeping, Purged, PARTITIONED};
use tokio_postgres::types::Type;

/// Housekeeping in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgHousekeeping {
    db: Db,
}

impl PgHousekeeping {
    pub fn new(db: Db) -> Self {
        PgHousekeeping { db }
    }
}

impl Housekeeping for PgHousekeeping {
    async fn ensure_partitions(&self, from: NaiveDate, months: i32) -> anyhow::Result<i64> {
        ensure_partitions(&self.db, from, months).await
    }

    async fn drop_partitions_before(&self, table: &str, keep_from: NaiveDate) -> anyhow::Result<Vec<String>> {
        drop_partitions_before(&self.db, table, keep_from).await
    }

    async fn purge(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        outbox_before: chrono::DateTime<chrono::Utc>,
        notifications_before: chrono::DateTime<chrono::Utc>,
        batch: i64,
    ) -> anyhow::Result<Purged> {
        purge(&self.db, now, outbox_before, notifications_before, batch).await
    }
}

/// Creates each partitioned table's partitions from the month of `from` for `months` months; existing ones are
/// left alone. Returns how many were created.
async fn ensure_partitions(db: &Db, from: NaiveDate, months: i32) -> anyhow::Result<i64> {
    let client = db.write_client().await?;
    let mut created = 0i64;
    for table in PARTITIONED {
        let row = client
            .query_typed_one(
                "SELECT niaga_ensure_month_partitions($1::text::regclass, $2, $3)",
                &[(&table, Type::TEXT), (&from, Type::DATE), (&months, Type::INT4)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| format!("creating partitions of {table}"))?;
        created += i64::from(row.get::<_, i32>(0));
    }
    Ok(created)
}

/// The months of `table`'s partitions, oldest first.
pub async fn partition_months(db: &Db, table: &str) -> anyhow::Result<Vec<(String, NaiveDate)>> {
    let client = db.read_client().await?;
    let rows = client
        .query_typed(
            "SELECT c.relname::text FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = $1::text::regclass ORDER BY 1",
            &[(&table, Type::TEXT)],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            let suffix = name.strip_prefix(table)?.strip_prefix('_')?;
            let month = NaiveDate::parse_from_str(&format!("{suffix}01"), "%Y%m%d").ok()?;
            Some((name, month))
        })
        .collect())
}

/// Drops `table`'s partitions of months before `keep_from`. Returns the dropped partitions' names.
async fn drop_partitions_before(db: &Db, table: &str, keep_from: NaiveDate) -> anyhow::Result<Vec<String>> {
    let mut dropped = Vec::new();
    for (name, month) in partition_months(db, table).await? {
        if month >= keep_from {
            continue;
        }
        let mut client = db.write_client().await?;
        let tx = client.transaction().await.map_err(|e| anyhow!(describe(&e)))?;
        if table == "orders" {
            // Returns point at orders; they go with the orders they belong to.
            let next = month + chrono::Months::new(1);
            tx.execute_typed(
                "DELETE FROM order_returns WHERE placed_at >= $1 AND placed_at < $2",
                &[(&month, Type::DATE), (&next, Type::DATE)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        }
        // Detach first, so the parent's lock is held only for the catalogue change, then drop the table.
        tx.batch_execute(&format!(
            "ALTER TABLE {table} DETACH PARTITION {name}; DROP TABLE {name};",
            table = quote_ident(table),
            name = quote_ident(&name)
        ))
        .await
        .map_err(|e| anyhow!(describe(&e)))
        .with_context(|| format!("dropping partition {name}"))?;
        tx.commit().await.map_err(|e| anyhow!(describe(&e)))?;
        dropped.push(name);
    }
    Ok(dropped)
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Deletes rows matching `predicate` from `table` in batches of `batch`, one short transaction each. Returns the
/// number deleted. `predicate` is a constant SQL condition written in this module, with `$1` bound to `param`.
async fn purge_batched(
    db: &Db,
    table: &str,
    predicate: &str,
    param: &chrono::DateTime<chrono::Utc>,
    batch: i64,
) -> anyhow::Result<u64> {
    let client = db.write_client().await?;
    let sql = format!(
        "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {predicate} LIMIT $2)",
        table = quote_ident(table)
    );
    let mut total = 0;
    loop {
        let n = client
            .execute_typed(&sql, &[(param, Type::TIMESTAMPTZ), (&batch, Type::INT8)])
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| format!("purging {table}"))?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
    }
}

/// Purges expired idempotency keys and their claims, outbox rows published before `outbox_before`, and sent notification records
/// from before `notifications_before`, `batch` rows per statement.
async fn purge(
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
    outbox_before: chrono::DateTime<chrono::Utc>,
    notifications_before: chrono::DateTime<chrono::Utc>,
    batch: i64,
) -> anyhow::Result<Purged> {
    Ok(Purged {
        idempotency_keys: purge_batched(db, "idempotency_keys", "expires_at < $1", &now, batch).await?,
        idempotency_claims: purge_batched(db, "idempotency_claims", "expires_at < $1", &now, batch).await?,
        outbox: purge_batched(db, "outbox", "published_at < $1", &outbox_before, batch).await?,
        notification_log: purge_batched(
            db,
            "notification_log",
            "status = 'sent' AND sent_at < $1",
            &notifications_before,
            batch,
        )
        .await?,
    })
}
