//! What the sync use cases need besides the ERP: the ledger of synced copies (PostgreSQL, in `store`), the cost
//! price book, and for sending orders the shared state and permits every instance sees (DynamoDB, in `niaga-aws`).

use chrono::{DateTime, Utc};
use kernel::{Money, Sku};
use std::future::Future;
use std::time::Duration;
use supply::movements::Movement;
use uuid::Uuid;

/// Where one kind of sync stands.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub kind: String,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub as_of: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// What applying a feed did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub rows: usize,
    /// Stock rows whose on hand is now below what is reserved: they sell nothing until the ERP's count, a
    /// delivery note or a cancellation catches up.
    pub short: usize,
    /// Stock rows left alone because the snapshot was older than their count.
    pub stale: usize,
}

/// What applying a movement feed did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MovementsApplied {
    /// Movements applied now.
    pub applied: usize,
    /// Movements already applied by an earlier read of the feed: nothing done.
    pub already: usize,
    /// Units of reservations that shipments consumed.
    pub consumed: u64,
    /// Orders whose status the shipments moved (to partly shipped or fulfilled).
    pub orders_moved: usize,
    /// Movement lines for a (warehouse, SKU) Niaga does not stock, or for an order line that does not exist: recorded
    /// and logged, with no effect on stock.
    pub unmatched_lines: usize,
    /// The movement cursor after this read.
    pub seq: u64,
}

/// The synced copies of ERP data that checkout reads, and the sync state saying when each kind last succeeded.
///
/// Every `apply_*` MUST apply its whole feed in one transaction, or nothing, and record the kind's success in it.
/// Stock rules are supply's ([`supply::movements`]).
pub trait SyncLedger: Send + Sync {
    /// True when `kind` last succeeded longer than `interval` ago (or never).
    fn due(
        &self,
        kind: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// The movement feed's cursor: the last ERP movement (`Urutan`) read. MUST read the writer (read your writes).
    fn movement_cursor(&self) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// Applies shipments and returns the ERP booked, each movement once (by its document number): a shipment
    /// consumes what it shipped of its order line's reservation, moves the order to partly shipped or fulfilled
    /// (with an outbox event), and takes the units off on hand unless the row's count already includes it; a return
    /// puts units back the same way. `feed_seq` is the last movement the ERP had booked when it answered: the cursor
    /// MUST move to it.
    fn apply_movements(
        &self,
        as_of: DateTime<Utc>,
        feed_seq: u64,
        movements: &[Movement],
        skipped: usize,
    ) -> impl Future<Output = anyhow::Result<MovementsApplied>> + Send;

    /// Sets on hand for each (warehouse, sku, on_hand) row of an ERP snapshot whose counts include movements up to
    /// `snapshot_seq`: the ERP's count less what moved after it that Niaga already applied. A row whose count
    /// already includes a later movement MUST keep it (the snapshot is stale for that row).
    fn apply_stock(
        &self,
        as_of: DateTime<Utc>,
        snapshot_seq: u64,
        rows: &[(String, String, u32)],
        skipped: usize,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// Sets each (partner, outstanding debt in minor units) row; negative balances, credits, count as no debt.
    fn apply_balances(
        &self,
        as_of: DateTime<Utc>,
        rows: &[(i64, i64)],
        skipped: usize,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// Records a failed attempt; the synced data MUST be left as it was.
    fn failed(&self, kind: &str, error: &str) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Where every kind stands, by kind.
    fn status(&self) -> impl Future<Output = anyhow::Result<Vec<SyncStatus>>> + Send;
}

/// What one cost price sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSync {
    /// (SKU, old cost, new cost) in minor units, for every price changed.
    pub changed: Vec<(String, i64, i64)>,
    /// Feed rows for SKUs Niaga does not sell.
    pub unknown: usize,
}

/// The cost prices Niaga's margins are computed from.
pub trait CostPriceBook: Send + Sync {
    /// Applies the feed (SKU, cost) and logs each change under `run_id`. MUST change all it found in one
    /// transaction, or nothing; the same feed again MUST change nothing.
    fn apply_cost_prices(
        &self,
        run_id: Uuid,
        feed: &[(Sku, Money)],
    ) -> impl Future<Output = anyhow::Result<PriceSync>> + Send;
}

/// Small documents every instance shares, written compare-and-set on a version.
pub trait VersionedState: Send + Sync {
    /// The document under `key` and its version, if there is one.
    fn get(&self, key: &str) -> impl Future<Output = anyhow::Result<Option<(String, u64)>>> + Send;

    /// Writes `body` under `key` only if its version is still `expected` (`None`: only if there is none). Returns
    /// false, writing nothing, when another writer got there first. MUST be atomic across instances.
    fn put_if_version(
        &self,
        key: &str,
        body: &str,
        expected: Option<u64>,
    ) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

/// Permits shared by every instance: at most `max` per `window` under one key.
pub trait Permits: Send + Sync {
    /// Takes one permit now (`None`), or says how long until one is free, taking nothing. Permits count only what
    /// they let through, so waiting callers cannot starve each other.
    fn acquire(
        &self,
        key: &str,
        max: u32,
        window: Duration,
        now_ms: i64,
    ) -> impl Future<Output = anyhow::Result<Option<Duration>>> + Send;
}
