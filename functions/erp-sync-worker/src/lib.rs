//! `erp-sync-worker`: sends paid orders, and orders confirmed on payment terms, to the legacy ERP, one message at a time, from the `erp-sync` FIFO queue
//! (grouped by order, so an order's events arrive in order).
//!
//! PostgreSQL is the ledger of what the ERP has: the queue only carries nudges. An order that
//! [must reach the ERP](orders::OrderStatus::must_reach_erp) and has not is put back on the queue by the ERP ledger
//! sweep (`outbox-relay`, every minute) until the ERP confirms it, so the queue's receive budget never has to outlast
//! an outage: the runtime is [ledger-backed](lambda_glue::sqs::SqsRuntime::with_ledger), and a message still failing
//! for a passing reason on its last receive is deleted rather than dead-lettered. The dead-letter queue holds only
//! poison, and `cargo xtask redrive` stays a tool.
//!
//! Per message:
//! 1. The body must be an outbox event; anything else is a poison message (dead-letter queue).
//! 2. Only [`SYNC_EVENTS`] (a paid order, a confirmed terms order, the ledger's nudge) are handed to the use case,
//!    [`supply_sync::delivery::ErpDelivery`], with the message's receive count as the attempt: it skips an order
//!    already sent, paces on the shared rate limit (permits in DynamoDB), asks the shared circuit breaker (state
//!    in DynamoDB), sends, and records the outcome on the order. Reserved concurrency and the event-source
//!    mapping's maximum concurrency bound the workers; the limiter bounds the rate.
//! 3. A retry becomes a visibility change (exponential backoff, or the hand-back the use case asks for); what
//!    needs a person (the ERP answered 4xx, an order not due) goes to the dead-letter queue;
//!    `cargo xtask redrive` brings it back once fixed.
//!
//! Emits `erp_sync_error_rate` (per call, 0 or 100: its average is the error rate) and `erp_breaker_rejections`.
//! This crate maps messages to the use case: it must not hold SQL, name the `store`, `niaga-aws` or `erp`
//! adapters (only `main.rs` wires them), or call the AWS SDK beyond building clients.

use lambda_glue::metrics::{self, Unit};
use lambda_glue::sqs::{Backoff, Message, MessageError, MessageHandler, SqsRuntime};
use orders::OrderStore;
use settings::SettingsSource;
use std::time::Duration;
pub use supply_sync::delivery::SYNC_EVENTS;
use supply_sync::delivery::{DeliveryError, DeliveryMetrics, ErpDelivery, Pause};
use supply_sync::{ErpClient, Permits, VersionedState};

/// Settings read at cold start: the ERP, with a 5 s budget per sales order (the message's visibility waits on it).
pub type ErpSyncConfig = platform::config::ErpConfig<5_000>;

/// The SQS runtime as deployed: exponential backoff, and ledger-backed, since every message is a nudge the ERP
/// ledger sweep repeats until the ERP has the order.
pub fn runtime(sqs: Option<aws_sdk_sqs::Client>) -> SqsRuntime {
    SqsRuntime::new(platform::NIAGA, "erp-sync-worker", sqs, Backoff::default()).with_ledger()
}

/// The use case's counts as EMF metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmfMetrics;

fn record(name: &'static str, value: f64, unit: Unit) {
    metrics::emit(&metrics::Record::new(&platform::NIAGA, "erp-sync-worker").metric(name, value, unit));
}

impl DeliveryMetrics for EmfMetrics {
    fn erp_call(&self, failed: bool) {
        record("erp_sync_error_rate", if failed { 100.0 } else { 0.0 }, Unit::Percent);
    }

    fn breaker_refused(&self) {
        record("erp_breaker_rejections", 1.0, Unit::Count);
    }
}

/// Waits on the runtime's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleep;

impl Pause for Sleep {
    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// The use case as this worker runs it.
pub type Delivery<S, E, V, P, C> = ErpDelivery<S, E, V, P, C, EmfMetrics, Sleep>;

/// The worker.
#[derive(Debug)]
pub struct ErpSyncWorker<S, E, V, P, C> {
    delivery: Delivery<S, E, V, P, C>,
}

fn poison(cause: impl std::fmt::Display) -> MessageError {
    MessageError::Poison(anyhow::anyhow!("{cause}"))
}

impl<S, E, V, P, C> ErpSyncWorker<S, E, V, P, C> {
    pub fn new(delivery: Delivery<S, E, V, P, C>) -> Self {
        ErpSyncWorker { delivery }
    }
}

impl<S, E, V, P, C> MessageHandler for ErpSyncWorker<S, E, V, P, C>
where
    S: OrderStore,
    E: ErpClient + 'static,
    V: VersionedState + 'static,
    P: Permits + 'static,
    C: SettingsSource + 'static,
{
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let event = kernel::Envelope::from_body(&message.body).map_err(|e| poison(format!("not an event: {e}")))?;
        if !event.kind().is_some_and(|k| SYNC_EVENTS.contains(&k)) {
            return Ok(());
        }
        let id = uuid::Uuid::parse_str(&event.aggregate_id).map_err(|_| poison("`aggregate_id` is not an order id"))?;
        self.delivery
            .deliver(id, message.receive_count)
            .await
            .map_err(|e| match e {
                DeliveryError::Retry { after, cause } => MessageError::Retry { after, cause },
                DeliveryError::NeedsPerson(cause) => MessageError::Poison(cause),
            })
    }
}
