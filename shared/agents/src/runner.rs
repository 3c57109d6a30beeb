//! The working side's use case: work a job through its chunks within a time budget, then announce it.
//!
//! 1. From the job's checkpoint, take the next chunk, run its items through the provider ([`SeoWriter`] or
//!    [`PriceAdvisor`]) and commit the outputs with the checkpoint's advance ([`AgentJobStore::commit_chunk`]). A
//!    worker killed mid-chunk commits nothing, so the next delivery redoes only that chunk; finished chunks are
//!    never redone. Two workers on the same job race per chunk and the loser's commit is refused, so every item is
//!    processed once.
//! 2. When the budget is spent the worker stops between chunks ([`RunJobError::BudgetSpent`]), so a job larger
//!    than one invocation continues in the next.
//! 3. When every item is done: one [`COMPLETED`] event on the [`EventBus`], then, when the job registered a
//!    callback URL, one signed webhook ([`Webhooks`]), each recorded once it succeeds so a redelivery repeats only
//!    what did not happen. Failed webhooks are retried and given up after [`WEBHOOK_ATTEMPTS`]; a callback the
//!    policy now refuses is recorded `failed` at once and never retried.

use crate::job::{next_chunk, JobParams};
use crate::model::{ItemOutput, JobRecord};
use crate::ports::{AgentJobStore, EventBus};
use crate::providers::{PriceAdvisor, SeoWriter};
use crate::webhook::Webhooks;
use serde_json::json;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The event bus source of agent job events.
pub const EVENT_SOURCE: &str = "niaga.agent-jobs";
/// The event bus detail type of a finished job.
pub const COMPLETED: &str = "Agent Job Completed";
/// The `event` a completion webhook carries.
pub const COMPLETED_WEBHOOK_EVENT: &str = "agent_job.completed";
/// Webhook deliveries tried before giving up.
pub const WEBHOOK_ATTEMPTS: u32 = 5;

/// Why working or announcing a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunJobError {
    /// There is no such job: the request can never be worked.
    #[error("no agent job {0}")]
    NoSuchJob(Uuid),
    /// The job disappeared while being worked.
    #[error("job {0} vanished")]
    Vanished(Uuid),
    /// The time budget ran out between chunks; the job continues from its checkpoint at the next attempt.
    #[error("time budget spent after {done} of {total} items; continuing")]
    BudgetSpent { done: usize, total: usize },
    /// A passing failure (storage, a provider, the bus, the webhook): the next attempt may succeed.
    #[error(transparent)]
    Retry(anyhow::Error),
}

fn retry(cause: anyhow::Error) -> RunJobError {
    RunJobError::Retry(cause)
}

/// Works agent jobs and announces them.
#[derive(Debug)]
pub struct JobRunner<J, W, P, B> {
    store: J,
    seo: W,
    advisor: P,
    bus: B,
    webhooks: Webhooks,
    budget: Duration,
}

impl<J: AgentJobStore, W: SeoWriter, P: PriceAdvisor, B: EventBus> JobRunner<J, W, P, B> {
    /// A runner whose budget is 240 s: the worker function's timeout is 300 s (niaga.json), and it stops well
    /// before it.
    pub fn new(store: J, seo: W, advisor: P, bus: B, webhooks: Webhooks) -> Self {
        JobRunner {
            store,
            seo,
            advisor,
            bus,
            webhooks,
            budget: Duration::from_secs(240),
        }
    }

    /// How long one delivery works before handing the rest of the job to the next.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The outputs for one chunk of `job`'s items.
    async fn outputs(&self, job: &JobRecord, skus: &[String]) -> Result<Vec<ItemOutput>, RunJobError> {
        let tier = match job.params {
            JobParams::BulkPriceProposal { tier, .. } => Some(tier),
            JobParams::GenerateProductSeo => None,
        };
        let facts = self.store.facts(skus, tier).await.map_err(retry)?;
        let mut out = Vec::with_capacity(skus.len());
        for sku in skus {
            let Some(p) = facts.iter().find(|f| f.sku.as_str() == sku) else {
                out.push(ItemOutput::Skipped {
                    sku: sku.clone(),
                    reason: "the product no longer exists".into(),
                });
                continue;
            };
            out.push(match job.params {
                JobParams::GenerateProductSeo => ItemOutput::Seo {
                    sku: sku.clone(),
                    text: self.seo.write(p).await.map_err(|e| retry(e.into()))?,
                },
                JobParams::BulkPriceProposal { tier, target_margin_bp } => {
                    match self.advisor.propose(p, target_margin_bp) {
                        Some(proposed) => ItemOutput::Proposal {
                            sku: sku.clone(),
                            tier,
                            current: p.current_price,
                            proposed,
                        },
                        None => ItemOutput::Skipped {
                            sku: sku.clone(),
                            reason: "no cost price to propose from".into(),
                        },
                    }
                }
            });
        }
        Ok(out)
    }

    /// Works through job `id`'s remaining chunks from its checkpoint, stopping between chunks once `started` is
    /// the budget ago. Answers the job as it then stands.
    pub async fn work(&self, id: Uuid, started: Instant) -> Result<JobRecord, RunJobError> {
        let mut job = self
            .store
            .get(id)
            .await
            .map_err(retry)?
            .ok_or(RunJobError::NoSuchJob(id))?;
        while let Some(range) = next_chunk(job.done_items, job.total_items, job.chunk_size) {
            if started.elapsed() >= self.budget {
                return Err(RunJobError::BudgetSpent {
                    done: job.done_items,
                    total: job.total_items,
                });
            }
            let chunk = range.start / job.chunk_size.max(1);
            let outputs = self.outputs(&job, &job.skus[range.clone()]).await?;
            let committed = self
                .store
                .commit_chunk(job.id, range.start, chunk, &outputs)
                .await
                .map_err(retry)?;
            if !committed {
                tracing::info!(job = %job.id, chunk, "chunk committed by another worker; resuming from its checkpoint");
            }
            job = self
                .store
                .get(job.id)
                .await
                .map_err(retry)?
                .ok_or(RunJobError::Vanished(job.id))?;
        }
        Ok(job)
    }

    /// Announces a finished job on the bus and by webhook, whichever of the two has not happened yet.
    pub async fn announce(&self, job: &JobRecord) -> Result<(), RunJobError> {
        let summary = job.summary();
        if !job.event_sent {
            self.bus
                .announce(EVENT_SOURCE, COMPLETED, &summary)
                .await
                .map_err(retry)?;
            self.store.mark_event_sent(job.id).await.map_err(retry)?;
        }
        let (Some(url), Some(secret), None) = (&job.callback_url, &job.callback_secret, &job.webhook_status) else {
            return Ok(());
        };
        let body = serde_json::to_vec(&json!({ "event": COMPLETED_WEBHOOK_EVENT, "job": summary }))
            .map_err(|e| retry(e.into()))?;
        let now = chrono::Utc::now().timestamp();
        match self.webhooks.deliver(url, secret, &job.id.to_string(), body, now).await {
            Ok(()) => self
                .store
                .record_webhook(job.id, Some("delivered"))
                .await
                .map_err(retry),
            Err(e) if e.is_permanent() => {
                tracing::warn!(job = %job.id, reason = %e, "webhook refused by the callback policy; not retried");
                self.store.record_webhook(job.id, Some("failed")).await.map_err(retry)
            }
            Err(e) if job.webhook_attempts + 1 >= WEBHOOK_ATTEMPTS => {
                tracing::warn!(job = %job.id, error = %format!("{e:#}"), "webhook given up");
                self.store.record_webhook(job.id, Some("failed")).await.map_err(retry)
            }
            Err(e) => {
                self.store.record_webhook(job.id, None).await.map_err(retry)?;
                Err(retry(anyhow::Error::new(e).context("webhook delivery failed")))
            }
        }
    }
}
