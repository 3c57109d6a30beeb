//! `outbox-relay`: the outbox sweeper. Every minute it publishes the outbox events their writers did not publish
//! right after their commits (a failed fast path, a function killed after its commit), in order per aggregate and
//! at least once, then reports the backlog it left (`outbox_backlog`, `outbox_oldest_age_s`).
//!
//! Before that, it runs the ERP ledger sweep ([`orders::Orders::request_erp_sync`]): every order that must reach
//! the ERP and has gone unconfirmed for `erp.sync.resend_after_seconds` gets an `order.erp_sync_requested` event,
//! which this same run publishes to the ERP sync queue. So an order reaches the ERP after an outage of any length,
//! whatever happened to its first message, with nobody redriving anything (`erp_sync_nudged`).
//!
//! The relaying rules live in [`platform::outbox`] (over the outbox table), the ledger's in `orders`; this crate
//! only runs them. It must not hold SQL, call the AWS SDK directly, or name the `store` adapter outside `main.rs`.

use lambda_glue::metrics::{self, Unit};
use orders::{OrderStore, Orders};
use platform::outbox::Relay;
use platform::settings::SettingsCache;
use serde_json::{json, Value};
use std::time::Duration;

/// Batches of [`platform::outbox::BATCH`] events per run; the next run continues where this one stopped.
pub const MAX_BATCHES: usize = 50;

/// Orders the ERP ledger sweep puts back on the queue per run; the next run takes the rest.
pub const MAX_NUDGES: u32 = 1_000;

/// The setting saying how long an order may go unconfirmed by the ERP before it is sent again.
pub const RESEND_AFTER: &str = "erp.sync.resend_after_seconds";

/// One run: the ERP ledger sweep, then the outbox sweep.
pub async fn run<S: OrderStore>(relay: &Relay, orders: &Orders<S>, settings: &SettingsCache) -> anyhow::Result<Value> {
    let nudged = erp_ledger_sweep(orders, settings).await;
    // The outbox goes out whatever the ledger sweep met: it is what every other queue waits on.
    let report = relay.sweep(MAX_BATCHES).await?;
    let nudged = nudged?;
    let (backlog, oldest) = relay.outbox().backlog().await?;
    metrics::emit(
        &metrics::Record::new(&platform::NIAGA, "outbox-relay")
            .metric("outbox_published", report.published as f64, Unit::Count)
            .metric("outbox_publish_failures", report.failed as f64, Unit::Count)
            .metric("outbox_backlog", backlog as f64, Unit::Count)
            .metric("outbox_oldest_age_s", oldest.unwrap_or(0.0), Unit::Seconds)
            .metric("erp_sync_nudged", nudged as f64, Unit::Count),
    );
    Ok(json!({
        "published": report.published,
        "failed": report.failed,
        "backlog": backlog,
        "oldest_age_s": oldest,
        "erp_sync_nudged": nudged,
    }))
}

async fn erp_ledger_sweep<S: OrderStore>(orders: &Orders<S>, settings: &SettingsCache) -> anyhow::Result<usize> {
    let seconds = settings
        .ints(RESEND_AFTER)
        .await?
        .get(RESEND_AFTER)
        .and_then(|v| u64::try_from(*v).ok())
        .ok_or_else(|| anyhow::anyhow!("system_config `{RESEND_AFTER}` is missing or negative"))?;
    let nudged = orders
        .request_erp_sync(chrono::Utc::now(), Duration::from_secs(seconds), MAX_NUDGES)
        .await?;
    if !nudged.is_empty() {
        tracing::info!(
            orders = nudged.len(),
            "orders the ERP has not confirmed put back on its queue"
        );
    }
    Ok(nudged.len())
}
