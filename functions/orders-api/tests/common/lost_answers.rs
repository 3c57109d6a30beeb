//! A store that commits and then loses the answer, as a function killed between its commit and its reply: the
//! transaction is durable, and the caller sees a failure. Wraps any [`OrderStore`].

use chrono::{DateTime, Utc};
use kernel::{Money, Sku, Tier};
use orders::ports::{CheckoutSettings, ListPosition, OrderStore, OrderTx, PartnerAccount};
use orders::{
    AuditEntry, KeyClaim, Order, OrderStatus, OrderSummary, OutboxEvent, PaymentRecord, RefundDue, RefundDueEntry,
    StoredAnswer,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use supply::{StockLevel, Warehouse};
use uuid::Uuid;

/// The next `times` commits succeed in the database and then report failure.
#[derive(Debug, Clone)]
pub struct LosesAnswers<S> {
    inner: S,
    times: Arc<AtomicU32>,
}

impl<S> LosesAnswers<S> {
    pub fn new(inner: S) -> Self {
        LosesAnswers {
            inner,
            times: Arc::default(),
        }
    }

    /// The next `times` commits are lost on the way back.
    pub fn after_commit(&self, times: u32) {
        self.times.store(times, Ordering::SeqCst);
    }
}

pub struct LosingTx<T> {
    inner: T,
    times: Arc<AtomicU32>,
}

impl<S: OrderStore> OrderStore for LosesAnswers<S> {
    type Tx = LosingTx<S::Tx>;

    async fn begin(&self) -> anyhow::Result<Self::Tx> {
        Ok(LosingTx {
            inner: self.inner.begin().await?,
            times: self.times.clone(),
        })
    }

    async fn order(&self, id: Uuid, partner: Option<i64>) -> anyhow::Result<Option<Order>> {
        self.inner.order(id, partner).await
    }

    async fn orders(&self, partner: i64, after: Option<ListPosition>, limit: u32) -> anyhow::Result<Vec<OrderSummary>> {
        self.inner.orders(partner, after, limit).await
    }

    async fn request_erp_sync(
        &self,
        statuses: &[OrderStatus],
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<Uuid>> {
        self.inner.request_erp_sync(statuses, cutoff, now, limit).await
    }

    async fn record_erp_rejection(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.inner.record_erp_rejection(id, reason, now).await
    }

    async fn refunds_due(&self, before: Option<i64>, limit: u32) -> anyhow::Result<Vec<RefundDueEntry>> {
        self.inner.refunds_due(before, limit).await
    }
}

impl<T: OrderTx> OrderTx for LosingTx<T> {
    async fn claim_key(&mut self, scope: &str, key: &str) -> anyhow::Result<KeyClaim> {
        self.inner.claim_key(scope, key).await
    }

    async fn save_answer(
        &mut self,
        scope: &str,
        key: &str,
        answer: &StoredAnswer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.inner.save_answer(scope, key, answer, now).await
    }

    async fn lock_account(&mut self, partner: i64) -> anyhow::Result<Option<PartnerAccount>> {
        self.inner.lock_account(partner).await
    }

    async fn checkout_settings(&mut self) -> anyhow::Result<CheckoutSettings> {
        self.inner.checkout_settings().await
    }

    async fn list_prices(&mut self, tier: Tier, skus: &[Sku]) -> anyhow::Result<BTreeMap<Sku, Money>> {
        self.inner.list_prices(tier, skus).await
    }

    async fn lock_stock(&mut self, skus: &[Sku]) -> anyhow::Result<(Vec<Warehouse>, Vec<StockLevel>)> {
        self.inner.lock_stock(skus).await
    }

    async fn adjust_reserved(&mut self, changes: &[(Sku, String, i64)]) -> anyhow::Result<()> {
        self.inner.adjust_reserved(changes).await
    }

    async fn insert_order(&mut self, order: &Order) -> anyhow::Result<()> {
        self.inner.insert_order(order).await
    }

    async fn lock_order(&mut self, id: Uuid, partner: Option<i64>) -> anyhow::Result<Option<Order>> {
        self.inner.lock_order(id, partner).await
    }

    async fn lock_overdue(&mut self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Order>> {
        self.inner.lock_overdue(now, limit).await
    }

    async fn update_status(&mut self, order: &Order, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.inner.update_status(order, now).await
    }

    async fn record_payment(&mut self, record: &PaymentRecord) -> anyhow::Result<bool> {
        self.inner.record_payment(record).await
    }

    async fn record_refund_due(&mut self, refund: &RefundDue) -> anyhow::Result<bool> {
        self.inner.record_refund_due(refund).await
    }

    async fn append_event(&mut self, event: &OutboxEvent) -> anyhow::Result<()> {
        self.inner.append_event(event).await
    }

    async fn audit(&mut self, entry: &AuditEntry) -> anyhow::Result<()> {
        self.inner.audit(entry).await
    }

    async fn commit(self) -> anyhow::Result<()> {
        self.inner.commit().await?;
        match self
            .times
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => anyhow::bail!("the connection was lost after COMMIT, before its answer"),
            Err(_) => Ok(()),
        }
    }

    async fn rollback(self) -> anyhow::Result<()> {
        self.inner.rollback().await
    }
}
