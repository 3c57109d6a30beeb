//! `outbox-relay`: the outbox sweeper. Every minute it publishes the outbox events their writers did not publish
//! right after their commits (a failed fast path, a function killed after its commit), in order per aggregate and
//! at least once, then reports the backlog it left (`outbox_backlog`, `outbox_oldest_age_s`).
//!
//! The relaying rules live in `store::outbox` and `platform::outbox`; this crate only runs them. It must not hold
//! SQL or call the AWS SDK directly.

use platform::metrics::{self, Unit};
use platform::outbox::Relay;
use serde_json::{json, Value};

/// Batches of [`platform::outbox::BATCH`] events per run; the next run continues where this one stopped.
pub const MAX_BATCHES: usize = 50;

/// One sweep.
pub async fn run(relay: &Relay) -> anyhow::Result<Value> {
    let report = relay.sweep(MAX_BATCHES).await?;
    let (backlog, oldest) = relay.outbox().backlog().await?;
    metrics::emit(
        &metrics::Record::new("outbox-relay")
            .metric("outbox_published", report.published as f64, Unit::Count)
            .metric("outbox_publish_failures", report.failed as f64, Unit::Count)
            .metric("outbox_backlog", backlog as f64, Unit::Count)
            .metric("outbox_oldest_age_s", oldest.unwrap_or(0.0), Unit::Seconds),
    );
    Ok(json!({
        "published": report.published,
        "failed": report.failed,
        "backlog": backlog,
        "oldest_age_s": oldest,
    }))
}
