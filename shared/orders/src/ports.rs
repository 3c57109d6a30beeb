//! What the orders use-cases need from storage. The Postgres adapter in `store` implements these.
//!
//! One [`OrderTx`] is one database transaction: everything a use-case writes through it commits together or not
//! at all. Methods that say "locks" take row locks held until the transaction ends; callers take them in the
//! order the use-cases use (idempotency key → partner → inventory by (sku, warehouse), or orders → inventory, where
//! a transaction moving several orders locks them all first and then all their inventory rows at once, by (sku,
//! warehouse)), so two transactions never wait on each other in a cycle.

use crate::idempotency::{KeyClaim, StoredAnswer};
use crate::model::{AuditEntry, Order, OrderSummary, OutboxEvent};
use crate::payment::{PaymentRecord, RefundDue, RefundDueEntry};
use crate::status::OrderStatus;
use chrono::{DateTime, Utc};
use commercial::{CreditPosition, PaymentTerms, PpnSchedule, PricingPolicy};
use kernel::{Money, Sku, Tier};
use std::collections::BTreeMap;
use std::future::Future;
use supply::{StockLevel, Warehouse};
use uuid::Uuid;

/// Settings checkout reads from `system_config`.
#[derive(Debug, Clone)]
pub struct CheckoutSettings {
    pub pricing: PricingPolicy,
    pub payment_window_minutes: i64,
    pub ppn: PpnSchedule,
}

/// A partner as checkout sees them under their row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerAccount {
    pub credit: CreditPosition,
    pub terms: PaymentTerms,
}

/// A page position in `GET /orders`: the last row's (placed_at, id).
pub type ListPosition = (DateTime<Utc>, Uuid);

/// Storage for orders.
pub trait OrderStore: Send + Sync + 'static {
    type Tx: OrderTx;

    /// Starts a transaction.
    fn begin(&self) -> impl Future<Output = anyhow::Result<Self::Tx>> + Send;

    /// The order with this id, only if it belongs to `partner` (`None` = any partner, for admins). MUST return
    /// `None` for another partner's order, exactly as for a missing one. MUST show every committed write (read your
    /// writes): the order just placed, the payment just recorded. A read replica behind the writer would answer
    /// "missing" or "unpaid" to the partner who just placed it and to the ERP sync.
    fn order(&self, id: Uuid, partner: Option<i64>) -> impl Future<Output = anyhow::Result<Option<Order>>> + Send;

    /// A partner's orders, newest first, strictly after `after`, at most `limit`.
    fn orders(
        &self,
        partner: i64,
        after: Option<ListPosition>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<OrderSummary>>> + Send;

    /// Puts orders the ERP must have back on the ERP sync queue: those whose status is one of `statuses`, with no
    /// ERP number and no recorded ERP rejection, unchanged and not nudged since before `cutoff`; at most `limit`,
    /// oldest first. For each, in one transaction, MUST record the nudge (so the next sweep waits again) and append
    /// its [`OutboxEvent::ERP_SYNC_REQUESTED`] event. MUST skip orders another transaction holds rather than wait
    /// for them. Returns the orders nudged.
    fn request_erp_sync(
        &self,
        statuses: &[OrderStatus],
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<Uuid>>> + Send;

    /// Records that the ERP refused the order's document, so the ERP ledger sweep leaves it to a person.
    fn record_erp_rejection(
        &self,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Refunds due, newest first (highest id first), with ids strictly below `before`, at most `limit`.
    fn refunds_due(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<RefundDueEntry>>> + Send;
}

/// One transaction.
pub trait OrderTx: Send {
    /// Claims an idempotency key for this transaction. MUST NOT wait for another transaction holding the same
    /// key: that is [`KeyClaim::Busy`]. An expired answer counts as [`KeyClaim::Fresh`].
    fn claim_key(&mut self, scope: &str, key: &str) -> impl Future<Output = anyhow::Result<KeyClaim>> + Send;

    /// Stores the answer to a claimed key, expiring `KEY_TTL_HOURS` after `now`.
    fn save_answer(
        &mut self,
        scope: &str,
        key: &str,
        answer: &StoredAnswer,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Locks the partner's row (serialising that partner's checkouts) and returns their payment terms and credit
    /// position: the limit, the last synced ERP debt, and `open_unpaid`, which MUST follow the rule in
    /// `commercial`'s credit module: Σ `total_incl_tax` of orders awaiting gateway payment, plus that of terms
    /// orders the last ERP debt snapshot may not include (not yet sent to the ERP, or sent after the
    /// snapshot was taken). `None` for an unknown partner.
    fn lock_account(&mut self, partner: i64) -> impl Future<Output = anyhow::Result<Option<PartnerAccount>>> + Send;

    fn checkout_settings(&mut self) -> impl Future<Output = anyhow::Result<CheckoutSettings>> + Send;

    /// Active list prices at `tier`; SKUs without one are absent.
    fn list_prices(
        &mut self,
        tier: Tier,
        skus: &[Sku],
    ) -> impl Future<Output = anyhow::Result<BTreeMap<Sku, Money>>> + Send;

    /// Locks every inventory row of `skus` in (sku, warehouse) order and returns them with all warehouses.
    fn lock_stock(
        &mut self,
        skus: &[Sku],
    ) -> impl Future<Output = anyhow::Result<(Vec<Warehouse>, Vec<StockLevel>)>> + Send;

    /// Adds `delta` (negative to release) to `reserved` on each (sku, warehouse) row, each named at most once.
    /// The caller holds the rows' locks, or they are taken here: all of them in one go, in (sku, warehouse)
    /// order whatever order `changes` lists them in, so a caller touching several orders' stock passes them all
    /// in one call. MUST fail rather than leave a row with reserved below zero or above on hand.
    fn adjust_reserved(&mut self, changes: &[(Sku, String, i64)]) -> impl Future<Output = anyhow::Result<()>> + Send;

    fn insert_order(&mut self, order: &Order) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Locks and returns the order (any partner when `partner` is `None`).
    fn lock_order(
        &mut self,
        id: Uuid,
        partner: Option<i64>,
    ) -> impl Future<Output = anyhow::Result<Option<Order>>> + Send;

    /// Locks up to `limit` unpaid orders due before `now`, skipping rows another transaction holds, oldest first.
    fn lock_overdue(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<Order>>> + Send;

    /// Writes the order's status (and paid_at / closed_at as the status implies).
    fn update_status(&mut self, order: &Order, now: DateTime<Utc>) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Records a payment notification; false when this (order, transaction, status) was recorded before.
    fn record_payment(&mut self, record: &PaymentRecord) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Records money that must go back to the partner. MUST write at most one record per (order, transaction),
    /// whatever the notification that brought it (a capture, then its settlement): false when one exists.
    fn record_refund_due(&mut self, refund: &RefundDue) -> impl Future<Output = anyhow::Result<bool>> + Send;

    fn append_event(&mut self, event: &OutboxEvent) -> impl Future<Output = anyhow::Result<()>> + Send;

    fn audit(&mut self, entry: &AuditEntry) -> impl Future<Output = anyhow::Result<()>> + Send;

    fn commit(self) -> impl Future<Output = anyhow::Result<()>> + Send;

    fn rollback(self) -> impl Future<Output = anyhow::Result<()>> + Send;
}
