//! The transactional outbox, read side: events written in the same transaction as the change that caused them
//! (see `orders::OrderTx::append_event`) are handed to a publisher and marked published.
//!
//! Delivery is at least once. A batch is claimed with `FOR UPDATE SKIP LOCKED`, so two relays (the fast path after
//! a commit and the scheduled sweeper) never hold the same row; a row is marked published only after the publisher
//! accepted it, in the transaction that claimed it, so a relay that dies mid-batch leaves its rows pending for the
//! next one. Consumers dedupe on the event id.
//!
//! Order per aggregate: a row is claimed only when no earlier row of the same aggregate is still pending (or held
//! by another relay), so an order's `order.placed` always leaves before its `order.paid`, whichever relay runs.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use std::future::Future;
use tokio_postgres::types::Type;
use uuid::Uuid;

/// Writes one event to the outbox inside the caller's transaction, so it exists exactly when the change that
/// caused it commits.
pub async fn append(
    tx: &tokio_postgres::Transaction<'_>,
    aggregate_type: &str,
    aggregate_id: &str,
    event_type: &str,
    payload: &serde_json::Value,
) -> anyhow::Result<()> {
    tx.execute_typed(
        "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ($1, $2, $3, $4)",
        &[
            (&aggregate_type, Type::TEXT),
            (&aggregate_id, Type::TEXT),
            (&event_type, Type::TEXT),
            (payload, Type::JSONB),
        ],
    )
    .await
    .map_err(|e| anyhow!(describe(&e)))?;
    Ok(())
}

/// One pending event.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub id: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// What one relay pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub published: usize,
    pub failed: usize,
}

/// The outbox table (writer pool).
#[derive(Debug, Clone)]
pub struct PgOutbox {
    db: Db,
}

impl PgOutbox {
    pub fn new(db: Db) -> Self {
        PgOutbox { db }
    }

    /// Claims up to `limit` pending events (only `aggregate`'s when given), oldest first, hands each to `publish`
    /// in order, and marks the accepted ones published. An aggregate whose event failed has its later events left
    /// for the next pass, so its order holds.
    pub async fn relay<F, Fut>(&self, aggregate: Option<&str>, limit: u32, publish: F) -> anyhow::Result<RelayReport>
    where
        F: Fn(PendingEvent) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(|e| anyhow!(describe(&e)))?;
        let rows = tx
            .query_typed(
                "SELECT o.id, o.event_id, o.aggregate_type, o.aggregate_id, o.event_type, o.payload, o.created_at
                 FROM outbox o
                 WHERE o.published_at IS NULL
                   AND ($1::text IS NULL OR o.aggregate_id = $1)
                   AND NOT EXISTS (SELECT 1 FROM outbox e
                                   WHERE e.aggregate_id = o.aggregate_id AND e.id < o.id AND e.published_at IS NULL)
                 ORDER BY o.id
                 LIMIT $2
                 FOR UPDATE OF o SKIP LOCKED",
                &[(&aggregate, Type::TEXT), (&i64::from(limit), Type::INT8)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        let mut report = RelayReport::default();
        let mut done = Vec::new();
        let mut blocked: Vec<String> = Vec::new();
        for r in &rows {
            let event = PendingEvent {
                id: r.get(0),
                event_id: r.get(1),
                aggregate_type: r.get(2),
                aggregate_id: r.get(3),
                event_type: r.get(4),
                payload: r.get(5),
                created_at: r.get(6),
            };
            // The NOT EXISTS above saw the snapshot before this pass; within the pass, a failed event holds back
            // the later events of its aggregate.
            if blocked.contains(&event.aggregate_id) {
                continue;
            }
            let (id, aggregate_id, event_id) = (event.id, event.aggregate_id.clone(), event.event_id);
            match publish(event).await {
                Ok(()) => {
                    done.push(id);
                    report.published += 1;
                }
                Err(e) => {
                    tracing::warn!(event_id = %event_id, error = format!("{e:#}"), "outbox publish failed; left for the sweeper");
                    blocked.push(aggregate_id);
                    report.failed += 1;
                }
            }
        }
        if !done.is_empty() {
            tx.execute_typed(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1)",
                &[(&done, Type::INT8_ARRAY)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        }
        tx.commit().await.map_err(|e| anyhow!(describe(&e)))?;
        Ok(report)
    }

    /// Pending events and the age of the oldest, for metrics and health.
    pub async fn backlog(&self) -> anyhow::Result<(i64, Option<f64>)> {
        let client = self.db.read_client().await?;
        let row = client
            .query_typed_one(
                "SELECT count(*), extract(epoch FROM now() - min(created_at))::float8 FROM outbox
                 WHERE published_at IS NULL",
                &[],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok((row.get(0), row.get(1)))
    }
}
