//! Database housekeeping, the use cases of the `migrate`, `partition-job` and `cleanup-job` functions:
//!
//! - [`migrate`]: applies pending schema migrations and gives the application role its timeouts;
//! - [`ensure_partitions`]: creates the monthly partitions of the current month (WIB) and the months ahead, so no
//!   write ever finds its month missing;
//! - [`cleanup`]: keeps the database to its retention (`retention.*` settings): drops partitions of months past it
//!   and purges expired or finished rows in small batches, so no statement holds locks for long.
//!
//! Each is safe to run twice: the second run finds nothing to do. The storage they act on is behind
//! [`Housekeeping`] and [`Schema`], which `store` implements. This crate owns no I/O: it must not depend on
//! `store`, `platform`, PostgreSQL, the AWS SDK, Lambda or HTTP crates.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{json, Value};
use settings::SettingsSource;
use std::collections::BTreeMap;
use std::future::Future;

/// The monthly-partitioned tables, children before parents.
pub const PARTITIONED: [&str; 3] = ["order_lines", "orders", "audit_log"];

/// Rows per purge statement.
pub const BATCH: i64 = 1_000;

/// What a purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub idempotency_keys: u64,
    pub idempotency_claims: u64,
    pub outbox: u64,
    pub notification_log: u64,
}

/// The timeouts every connection of the application role starts with. Set on the role, never per session: a
/// session `SET` would pin an RDS Proxy connection (AWS, "Avoiding pinning an RDS Proxy").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTimeouts {
    /// `statement_timeout`: no statement runs longer.
    pub statement_ms: u32,
    /// `lock_timeout`: no statement waits longer for a row or table lock; it fails with 55P03 instead.
    pub lock_ms: u32,
    /// `idle_in_transaction_session_timeout`: a session left inside a transaction this long (a Lambda instance
    /// frozen or killed mid-transaction) is ended by the server, releasing its partner, key and stock locks.
    pub idle_in_transaction_ms: u32,
}

impl Default for RoleTimeouts {
    fn default() -> Self {
        RoleTimeouts {
            statement_ms: 5_000,
            lock_ms: 3_000,
            idle_in_transaction_ms: 10_000,
        }
    }
}

/// What a migration run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already_applied: usize,
}

/// The schema and the application role's defaults.
pub trait Schema: Send + Sync {
    /// Applies the pending migrations, each in its own transaction and once even when two runs race; MUST refuse
    /// to continue past an applied migration whose text changed. Then sets the role's timeouts in this database
    /// (for connections opened afterwards).
    fn migrate(&self, timeouts: &RoleTimeouts) -> impl Future<Output = anyhow::Result<MigrationReport>> + Send;
}

/// The partitions and the rows housekeeping acts on.
pub trait Housekeeping: Send + Sync {
    /// Creates each of [`PARTITIONED`]'s partitions from the month of `from` for `months` months; existing ones
    /// MUST be left alone. Returns how many were created.
    fn ensure_partitions(&self, from: NaiveDate, months: i32) -> impl Future<Output = anyhow::Result<i64>> + Send;

    /// Drops `table`'s partitions of months before `keep_from`, returning their names. MUST drop nothing of
    /// `keep_from`'s month or later.
    fn drop_partitions_before(
        &self,
        table: &str,
        keep_from: NaiveDate,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;

    /// Purges idempotency keys and claims expired at `now`, outbox rows published before `outbox_before`, and
    /// sent notification records from before `notifications_before`, `batch` rows per statement.
    fn purge(
        &self,
        now: DateTime<Utc>,
        outbox_before: DateTime<Utc>,
        notifications_before: DateTime<Utc>,
        batch: i64,
    ) -> impl Future<Output = anyhow::Result<Purged>> + Send;
}

/// The current date in WIB (UTC+7), the distributor's calendar.
pub fn today_wib(now: DateTime<Utc>) -> NaiveDate {
    (now + chrono::Duration::hours(7)).date_naive()
}

/// The first month a retention of `months` months keeps, counting the month of `today` as the newest.
pub fn oldest_kept(today: NaiveDate, months: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    first
        .checked_sub_months(chrono::Months::new(months.saturating_sub(1)))
        .unwrap_or(first)
}

/// Applies pending migrations and sets the role's timeouts; reports both.
pub async fn migrate(schema: &impl Schema, timeouts: &RoleTimeouts) -> anyhow::Result<Value> {
    let report = schema.migrate(timeouts).await?;
    tracing::info!(
        applied = report.applied.len(),
        already = report.already_applied,
        "migrations done"
    );
    Ok(json!({
        "applied": report.applied,
        "already_applied": report.already_applied,
        "statement_timeout_ms": timeouts.statement_ms,
        "lock_timeout_ms": timeouts.lock_ms,
        "idle_in_transaction_session_timeout_ms": timeouts.idle_in_transaction_ms,
    }))
}

/// Creates the partitions of the current month (WIB) and the `months_ahead` after it that are missing.
pub async fn ensure_partitions(h: &impl Housekeeping, months_ahead: i32, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let from = today_wib(now);
    let created = h.ensure_partitions(from, months_ahead + 1).await?;
    tracing::info!(created, months_ahead, "partitions ensured");
    Ok(json!({ "created": created, "from": from, "months": months_ahead + 1 }))
}

fn setting(config: &BTreeMap<String, i64>, key: &str) -> anyhow::Result<u32> {
    config
        .get(key)
        .and_then(|n| u32::try_from(*n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow::anyhow!("system_config `{key}` is missing or not a positive whole number"))
}

/// Removes what is past retention at `now`:
/// - monthly partitions of `order_lines` and `orders` older than `retention.orders_months`, and of `audit_log`
///   older than `retention.audit_months` (a retention counts the current month in WIB);
/// - expired idempotency keys, outbox rows published more than `retention.outbox_days` ago, and sent
///   notification records older than `retention.notification_log_days`, [`BATCH`] rows per statement.
///
/// Nothing within retention is touched.
pub async fn cleanup(
    h: &impl Housekeeping,
    settings: &impl SettingsSource,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let config = settings.ints("retention.").await?;
    let today = today_wib(now);
    let orders_from = oldest_kept(today, setting(&config, "retention.orders_months")?);
    let audit_from = oldest_kept(today, setting(&config, "retention.audit_months")?);
    let mut dropped = Vec::new();
    for table in PARTITIONED {
        let keep_from = if table == "audit_log" { audit_from } else { orders_from };
        dropped.extend(h.drop_partitions_before(table, keep_from).await?);
    }
    let days = |k: &str| -> anyhow::Result<DateTime<Utc>> {
        Ok(now - chrono::Duration::days(i64::from(setting(&config, k)?)))
    };
    let purged = h
        .purge(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_counts_the_current_month() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(oldest_kept(d("2026-11-28"), 1), d("2026-11-01"));
        assert_eq!(oldest_kept(d("2026-11-28"), 12), d("2025-12-01"));
        assert_eq!(oldest_kept(d("2026-03-31"), 2), d("2026-02-01"));
    }
}
