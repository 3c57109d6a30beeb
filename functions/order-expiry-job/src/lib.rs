//! `order-expiry-job`: expires unpaid orders past their payment window and releases their reserved stock.
//!
//! Runs on a schedule (every 5 minutes) and as a one-shot command outside Lambda. It works in batches of
//! [`BATCH`] orders, one transaction each, so it never holds many locks for long; rows another run holds are
//! skipped, so two runs at once or one run twice expire each order exactly once. The rules (the state machine, the
//! stock release, the outbox event) are the `orders` crate's; this crate only loops. It must not hold SQL or
//! depend on the AWS SDK.

use orders::{OrderStore, Orders};
use serde_json::{json, Value};

/// Orders per transaction.
pub const BATCH: u32 = 100;
/// Batches per run: a run stops after this many even if more are due, and the next run continues.
pub const MAX_BATCHES: usize = 50;

/// Expires everything due at `now` (up to `MAX_BATCHES × BATCH`). Returns a report for the invocation result.
pub async fn run<S: OrderStore>(orders: &Orders<S>, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Value> {
    let mut expired = 0usize;
    let mut batches = 0usize;
    loop {
        let n = orders.expire_overdue(now, BATCH).await?;
        expired += n;
        batches += 1;
        if n < BATCH as usize || batches >= MAX_BATCHES {
            break;
        }
    }
    tracing::info!(expired, batches, "order expiry finished");
    Ok(json!({ "expired": expired, "batches": batches, "as_of": now }))
}

/// The instant a scheduled event asks about: its `time`, else now. A replayed event re-runs its own moment.
pub fn as_of(event: &Value) -> chrono::DateTime<chrono::Utc> {
    event
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|t| *t <= chrono::Utc::now())
        .unwrap_or_else(chrono::Utc::now)
}
