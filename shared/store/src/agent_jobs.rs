//! Agent jobs in Postgres ([`agents::AgentJobStore`]): the job row with its checkpoint, the per-item outputs, and
//! what the outputs feed (`product_seo`, `price_proposals`). Migration 0009 states the checkpoint rule.
//!
//! A job is created in one transaction with its `agent_job.requested` outbox event, so it is enqueued exactly when
//! it exists; the same requester's `Idempotency-Key` with the same body finds the first job again.

use crate::pool::{describe, Db};
use agents::{
    AgentJobStore, Created, ItemOutput, ItemRecord, JobRecord, JobStatus, NewJob, ProductFacts, REQUESTED_EVENT,
};
use anyhow::{anyhow, Context};
use kernel::{Money, Sku, Tier};
use std::collections::BTreeSet;
use tokio_postgres::types::Type;
use uuid::Uuid;

const COLUMNS: &str = "id, params, skus, total_items, chunk_size, done_items, chunks_done, status, requested_by,
    callback_url, callback_secret, event_sent_at IS NOT NULL, webhook_status, webhook_attempts, created_at,
    started_at, finished_at, fingerprint";

fn record(r: &tokio_postgres::Row) -> anyhow::Result<JobRecord> {
    let n = |i: usize| usize::try_from(r.get::<_, i32>(i)).unwrap_or(0);
    let status: &str = r.get(7);
    Ok(JobRecord {
        id: r.get(0),
        params: serde_json::from_value(r.get(1)).context("agent_jobs.params is not a job's parameters")?,
        skus: r.get(2),
        total_items: n(3),
        chunk_size: n(4),
        done_items: n(5),
        chunks_done: n(6),
        status: JobStatus::parse(status).ok_or_else(|| anyhow!("unknown job status {status}"))?,
        requested_by: r.get(8),
        callback_url: r.get(9),
        callback_secret: r.get(10),
        event_sent: r.get(11),
        webhook_status: r.get(12),
        webhook_attempts: u32::try_from(r.get::<_, i32>(13)).unwrap_or(0),
        created_at: r.get(14),
        started_at: r.get(15),
        finished_at: r.get(16),
    })
}

fn db_err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

/// The agent job tables (writer pool).
#[derive(Debug, Clone)]
pub struct PgAgentJobs {
    db: Db,
}

impl PgAgentJobs {
    pub fn new(db: Db) -> Self {
        PgAgentJobs { db }
    }
}

impl AgentJobStore for PgAgentJobs {
    /// Stores a job and its outbox event in one transaction, or finds the job its key already made.
    async fn create(&self, job: &NewJob<'_>) -> anyhow::Result<Created> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let skus: Vec<&str> = job.skus.iter().map(Sku::as_str).collect();
        let total = i32::try_from(skus.len()).context("too many items")?;
        let chunk = i32::try_from(job.chunk_size).context("chunk size out of range")?;
        let params = serde_json::to_value(job.params)?;
        let inserted = tx
            .query_typed(
                "INSERT INTO agent_jobs (id, kind, params, skus, total_items, chunk_size, requested_by, requested_role,
                                         idempotency_key, fingerprint, callback_url, callback_secret)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (requested_by, idempotency_key) DO NOTHING
                 RETURNING id",
                &[
                    (&job.id, Type::UUID),
                    (&job.params.kind().as_str(), Type::TEXT),
                    (&params, Type::JSONB),
                    (&skus, Type::TEXT_ARRAY),
                    (&total, Type::INT4),
                    (&chunk, Type::INT4),
                    (&job.requested_by, Type::TEXT),
                    (&job.requested_role, Type::TEXT),
                    (&job.key.as_str(), Type::TEXT),
                    (&job.fingerprint, Type::TEXT),
                    (&job.callback_url, Type::TEXT),
                    (&job.callback_secret, Type::TEXT),
                ],
            )
            .await
            .map_err(db_err)?;
        if inserted.is_empty() {
            let row = tx
                .query_typed_one(
                    &format!("SELECT {COLUMNS} FROM agent_jobs WHERE requested_by = $1 AND idempotency_key = $2"),
                    &[(&job.requested_by, Type::TEXT), (&job.key.as_str(), Type::TEXT)],
                )
                .await
                .map_err(db_err)?;
            let same = row.get::<_, &str>(17) == job.fingerprint;
            return Ok(if same {
                Created::Replayed(record(&row)?)
            } else {
                Created::KeyReused
            });
        }
        let id = job.id.to_string();
        let payload = serde_json::json!({ "job_id": id, "type": job.params.kind().as_str() });
        crate::outbox::append(&tx, "agent_job", &id, REQUESTED_EVENT, &payload).await?;
        let row = tx
            .query_typed_one(
                &format!("SELECT {COLUMNS} FROM agent_jobs WHERE id = $1"),
                &[(&job.id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        let created = record(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Created::New(created))
    }

    async fn get(&self, id: Uuid) -> anyhow::Result<Option<JobRecord>> {
        let client = self.db.write_client().await?;
        let row = client
            .query_typed_opt(
                &format!("SELECT {COLUMNS} FROM agent_jobs WHERE id = $1"),
                &[(&id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        row.as_ref().map(record).transpose()
    }

    /// Which of `skus` are active products.
    async fn known_skus(&self, skus: &[Sku]) -> anyhow::Result<BTreeSet<String>> {
        let client = self.db.read_client().await?;
        let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = client
            .query_typed(
                "SELECT sku FROM products WHERE sku = ANY($1) AND is_active",
                &[(&skus, Type::TEXT_ARRAY)],
            )
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// What providers know about `skus` (with the current price in `tier` when given). Products that no longer
    /// exist are absent.
    async fn facts(&self, skus: &[String], tier: Option<Tier>) -> anyhow::Result<Vec<ProductFacts>> {
        let client = self.db.write_client().await?;
        let tier = tier.map(Tier::as_str);
        let rows = client
            .query_typed(
                "SELECT p.sku, p.name, p.brand, p.category, p.unit, p.description, p.cost_price, l.price
                 FROM products p LEFT JOIN price_lists l ON l.sku = p.sku AND l.tier = $2
                 WHERE p.sku = ANY($1)",
                &[(&skus, Type::TEXT_ARRAY), (&tier, Type::TEXT)],
            )
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ProductFacts {
                    sku: Sku::parse(r.get(0)).map_err(|e| anyhow!("products.sku: {e}"))?,
                    name: r.get(1),
                    brand: r.get(2),
                    category: r.get(3),
                    unit: r.get(4),
                    description: r.get(5),
                    cost_price: Money::from_minor(r.get(6)),
                    current_price: r.get::<_, Option<i64>>(7).map(Money::from_minor),
                })
            })
            .collect()
    }

    /// Commits one chunk: its item outputs, what they feed, and the checkpoint's advance from `from` past them, in
    /// one transaction. Returns `false`, writing nothing, when the checkpoint is no longer at `from` (another
    /// worker committed this chunk first).
    async fn commit_chunk(&self, job: Uuid, from: usize, chunk: usize, outputs: &[ItemOutput]) -> anyhow::Result<bool> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let from_i = i32::try_from(from)?;
        let to_i = i32::try_from(from + outputs.len())?;
        // The row lock taken here orders concurrent workers; the loser finds the checkpoint moved.
        let advanced = tx
            .execute_typed(
                "UPDATE agent_jobs SET done_items = $3, chunks_done = chunks_done + 1,
                        status = CASE WHEN $3 = total_items THEN 'succeeded' ELSE 'running' END,
                        started_at = coalesce(started_at, now()),
                        finished_at = CASE WHEN $3 = total_items THEN now() END,
                        updated_at = now()
                 WHERE id = $1 AND done_items = $2",
                &[(&job, Type::UUID), (&from_i, Type::INT4), (&to_i, Type::INT4)],
            )
            .await
            .map_err(db_err)?;
        if advanced == 0 {
            return Ok(false);
        }
        let positions: Vec<i32> = (from_i..to_i).collect();
        let skus: Vec<&str> = outputs.iter().map(ItemOutput::sku).collect();
        let docs: Vec<serde_json::Value> = outputs.iter().map(ItemOutput::document).collect();
        let chunk = i32::try_from(chunk)?;
        tx.execute_typed(
            "INSERT INTO agent_job_items (job_id, position, sku, chunk, output)
             SELECT $1, p, s, $4, o FROM unnest($2::int4[], $3::text[], $5::jsonb[]) AS t (p, s, o)",
            &[
                (&job, Type::UUID),
                (&positions, Type::INT4_ARRAY),
                (&skus, Type::TEXT_ARRAY),
                (&chunk, Type::INT4),
                (&docs, Type::JSONB_ARRAY),
            ],
        )
        .await
        .map_err(db_err)?;
        for o in outputs {
            match o {
                ItemOutput::Seo { sku, text } => {
                    tx.execute_typed(
                        "INSERT INTO product_seo (sku, title, description, job_id) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (sku) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
                                                         job_id = EXCLUDED.job_id, updated_at = now()",
                        &[
                            (sku, Type::TEXT),
                            (&text.title, Type::TEXT),
                            (&text.description, Type::TEXT),
                            (&job, Type::UUID),
                        ],
                    )
                    .await
                    .map_err(db_err)?;
                }
                ItemOutput::Proposal {
                    sku,
                    tier,
                    current,
                    proposed,
                } => {
                    tx.execute_typed(
                        "INSERT INTO price_proposals (job_id, tier, sku, current_price, proposed_price)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[
                            (&job, Type::UUID),
                            (&tier.as_str(), Type::TEXT),
                            (sku, Type::TEXT),
                            (&current.map(Money::minor), Type::INT8),
                            (&proposed.minor(), Type::INT8),
                        ],
                    )
                    .await
                    .map_err(db_err)?;
                }
                ItemOutput::Skipped { .. } => {}
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    /// Records that the completion event reached EventBridge.
    async fn mark_event_sent(&self, job: Uuid) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE agent_jobs SET event_sent_at = coalesce(event_sent_at, now()), updated_at = now() WHERE id = $1",
                &[(&job, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Records one webhook attempt; `final_status` ("delivered" or "failed") when no more attempts follow.
    async fn record_webhook(&self, job: Uuid, final_status: Option<&str>) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE agent_jobs SET webhook_attempts = webhook_attempts + 1,
                        webhook_status = coalesce($2, webhook_status), updated_at = now()
                 WHERE id = $1",
                &[(&job, Type::UUID), (&final_status, Type::TEXT)],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// A job's item outputs after `after` (a position), in order.
    async fn items(&self, job: Uuid, after: Option<usize>, limit: u32) -> anyhow::Result<Vec<ItemRecord>> {
        let client = self.db.read_client().await?;
        let after = after.map(i32::try_from).transpose()?.unwrap_or(-1);
        let rows = client
            .query_typed(
                "SELECT position, sku, chunk, output FROM agent_job_items
                 WHERE job_id = $1 AND position > $2 ORDER BY position LIMIT $3",
                &[
                    (&job, Type::UUID),
                    (&after, Type::INT4),
                    (&i64::from(limit), Type::INT8),
                ],
            )
            .await
            .map_err(db_err)?;
        Ok(rows
            .iter()
            .map(|r| ItemRecord {
                position: usize::try_from(r.get::<_, i32>(0)).unwrap_or(0),
                sku: r.get(1),
                chunk: usize::try_from(r.get::<_, i32>(2)).unwrap_or(0),
                output: r.get(3),
            })
            .collect())
    }
}
