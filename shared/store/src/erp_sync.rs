//! The synced copies of ERP data that checkout reads: stock on hand per (warehouse, SKU) and partner debt, and
//! the sync state saying when each last succeeded.
//!
//! A snapshot is applied in one transaction: all of it or none. Stock never goes below what is reserved (orders
//! Niaga has taken that the ERP may not have seen yet): such a row is clamped to its reservations and counted, so
//! the `reserved <= on_hand` rule holds and nothing already sold is taken back.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;

/// Where one kind of sync stands.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub kind: String,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub as_of: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// What applying a snapshot did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub rows: usize,
    /// Stock rows raised to their reservations.
    pub clamped: usize,
}

#[derive(Debug, Clone)]
pub struct PgErpSync {
    db: Db,
}

fn q(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

impl PgErpSync {
    pub fn new(db: Db) -> Self {
        PgErpSync { db }
    }

    /// True when `kind` last succeeded longer than `interval` ago (or never).
    pub async fn due(&self, kind: &str, interval: chrono::Duration, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let client = self.db.read_client().await?;
        let last: Option<DateTime<Utc>> = client
            .query_typed_one(
                "SELECT last_success_at FROM erp_sync_state WHERE kind = $1",
                &[(&kind, Type::TEXT)],
            )
            .await
            .map_err(q)?
            .get(0);
        Ok(last.is_none_or(|t| now - t >= interval))
    }

    /// Sets on hand for each (warehouse, sku, on_hand) row the ERP reported, in one transaction.
    pub async fn apply_stock(
        &self,
        as_of: DateTime<Utc>,
        rows: &[(String, String, u32)],
        skipped: usize,
    ) -> anyhow::Result<Applied> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(q)?;
        let (mut w, mut s, mut n): (Vec<&str>, Vec<&str>, Vec<i32>) = (Vec::new(), Vec::new(), Vec::new());
        for (warehouse, sku, on_hand) in rows {
            w.push(warehouse);
            s.push(sku);
            n.push(i32::try_from(*on_hand).unwrap_or(i32::MAX));
        }
        // Locks in (sku, warehouse) order like checkout, so a sync never deadlocks with an order.
        let changed = tx
            .query_typed(
                "WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int4[]) AS x(w, s, n)),
                      locked AS MATERIALIZED (SELECT i.warehouse_code, i.sku FROM inventory i JOIN x ON i.warehouse_code = x.w
                                 AND i.sku = x.s ORDER BY i.sku, i.warehouse_code FOR UPDATE OF i)
                 UPDATE inventory i SET on_hand = greatest(x.n, i.reserved), erp_synced_at = $4, updated_at = now()
                 FROM x, locked
                 WHERE i.warehouse_code = x.w AND i.sku = x.s AND locked.warehouse_code = x.w AND locked.sku = x.s
                 RETURNING x.n < i.reserved",
                &[
                    (&w, Type::TEXT_ARRAY),
                    (&s, Type::TEXT_ARRAY),
                    (&n, Type::INT4_ARRAY),
                    (&as_of, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .map_err(q)?;
        let applied = Applied {
            rows: changed.len(),
            clamped: changed.iter().filter(|r| r.get::<_, bool>(0)).count(),
        };
        succeeded(&tx, "stock", as_of, applied.rows, skipped).await?;
        tx.commit().await.map_err(q)?;
        Ok(applied)
    }

    /// Sets each partner's outstanding debt (negative balances, credits, count as no debt), in one transaction.
    pub async fn apply_balances(
        &self,
        as_of: DateTime<Utc>,
        rows: &[(i64, i64)],
        skipped: usize,
    ) -> anyhow::Result<Applied> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(q)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let debts: Vec<i64> = rows.iter().map(|r| r.1.max(0)).collect();
        let n = tx
            .execute_typed(
                "UPDATE partners p SET erp_debt = x.d, erp_synced_at = $3
                 FROM unnest($1::int8[], $2::int8[]) AS x(id, d) WHERE p.id = x.id",
                &[
                    (&ids, Type::INT8_ARRAY),
                    (&debts, Type::INT8_ARRAY),
                    (&as_of, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .map_err(q)?;
        let applied = Applied {
            rows: n as usize,
            clamped: 0,
        };
        succeeded(&tx, "balances", as_of, applied.rows, skipped).await?;
        tx.commit().await.map_err(q)?;
        Ok(applied)
    }

    /// Records a failed attempt; the synced data is left as it was.
    pub async fn failed(&self, kind: &str, error: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE erp_sync_state SET last_attempt_at = now(), last_error = $2 WHERE kind = $1",
                &[(&kind, Type::TEXT), (&error, Type::TEXT)],
            )
            .await
            .map_err(q)?;
        Ok(())
    }

    pub async fn status(&self) -> anyhow::Result<Vec<SyncStatus>> {
        let client = self.db.read_client().await?;
        let rows = client
            .query_typed(
                "SELECT kind, last_attempt_at, last_success_at, as_of, last_error FROM erp_sync_state ORDER BY kind",
                &[],
            )
            .await
            .map_err(q)?;
        Ok(rows
            .iter()
            .map(|r| SyncStatus {
                kind: r.get(0),
                last_attempt_at: r.get(1),
                last_success_at: r.get(2),
                as_of: r.get(3),
                last_error: r.get(4),
            })
            .collect())
    }
}

async fn succeeded(
    tx: &tokio_postgres::Transaction<'_>,
    kind: &str,
    as_of: DateTime<Utc>,
    rows: usize,
    skipped: usize,
) -> anyhow::Result<()> {
    tx.execute_typed(
        "UPDATE erp_sync_state SET last_attempt_at = now(), last_success_at = now(), as_of = $2, rows_applied = $3,
                rows_skipped = $4, last_error = NULL
         WHERE kind = $1",
        &[
            (&kind, Type::TEXT),
            (&as_of, Type::TIMESTAMPTZ),
            (&i32::try_from(rows).unwrap_or(i32::MAX), Type::INT4),
            (&i32::try_from(skipped).unwrap_or(i32::MAX), Type::INT4),
        ],
    )
    .await
    .map_err(q)?;
    Ok(())
}
