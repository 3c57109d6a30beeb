//! `agent-jobs-worker`: works through agent jobs from the agent-jobs queue, chunk by chunk, then announces them.
//!
//! For each `agent_job.requested` message:
//! 1. From the job's checkpoint, take the next chunk, run its items through the provider ([`SeoWriter`] or
//!    [`PriceAdvisor`]) and commit the outputs with the checkpoint's advance in one transaction. A worker killed
//!    mid-chunk commits nothing, so the next delivery redoes only that chunk; finished chunks are never redone.
//!    Two workers on the same job (a redelivery while the first still runs) race per chunk and the loser's commit
//!    is refused, so every item is processed once.
//! 2. Near its time budget the worker stops between chunks and asks for the message again at once, so a job
//!    larger than one invocation continues in the next.
//! 3. When every item is done: one `Agent Job Completed` event on the project's EventBridge bus, then, when the
//!    job registered a callback URL, one HMAC-signed webhook (`agents::webhook`), each recorded once it succeeds so
//!    a redelivery repeats only what did not happen. Failed webhooks are retried with backoff and given up after
//!    [`WEBHOOK_ATTEMPTS`]; a 3xx is a failure, never followed. The callback's host is resolved and checked again
//!    just before sending, and the connection goes only to the checked addresses: a callback the policy now
//!    refuses (a name that has come to resolve to a private address, say) is recorded `failed` at once, with the
//!    reason in the log, and never retried.
//!
//! A body that is not an agent job request is a poison message. This crate must not hold SQL.

use agents::{next_chunk, JobParams, PriceAdvisor, SeoWriter};
use niaga_aws::events::EventBus;
use platform::sqs::{Message, MessageError, MessageHandler};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub use agents::Webhooks;
use store::agent_jobs::{ItemOutput, JobRecord, PgAgentJobs, REQUESTED_EVENT};

/// The EventBridge source of agent job events.
pub const EVENT_SOURCE: &str = "niaga.agent-jobs";
/// The EventBridge detail type of a finished job.
pub const COMPLETED: &str = "Agent Job Completed";
/// Webhook deliveries tried before giving up.
pub const WEBHOOK_ATTEMPTS: u32 = 5;

/// The worker.
#[derive(Debug)]
pub struct AgentJobsWorker<W, P> {
    jobs: PgAgentJobs,
    seo: W,
    advisor: P,
    bus: EventBus,
    webhooks: Webhooks,
    budget: Duration,
}

fn retry(cause: anyhow::Error) -> MessageError {
    MessageError::Retry { after: None, cause }
}

impl<W: SeoWriter, P: PriceAdvisor> AgentJobsWorker<W, P> {
    pub fn new(jobs: PgAgentJobs, seo: W, advisor: P, bus: EventBus, webhooks: Webhooks) -> Self {
        AgentJobsWorker {
            jobs,
            seo,
            advisor,
            bus,
            webhooks,
            // The function's timeout is 300 s (niaga.json); stop well before it.
            budget: Duration::from_secs(240),
        }
    }

    /// How long one delivery works before handing the rest of the job to the next.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The outputs for one chunk of `job`'s items.
    async fn outputs(&self, job: &JobRecord, skus: &[String]) -> Result<Vec<ItemOutput>, MessageError> {
        let tier = match job.params {
            JobParams::BulkPriceProposal { tier, .. } => Some(tier),
            JobParams::GenerateProductSeo => None,
        };
        let facts = self.jobs.facts(skus, tier).await.map_err(retry)?;
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

    /// Works through the job's remaining chunks. `Ok(false)` when the budget ran out first.
    async fn work(&self, mut job: JobRecord, started: Instant) -> Result<JobRecord, MessageError> {
        while let Some(range) = next_chunk(job.done_items, job.total_items, job.chunk_size) {
            if started.elapsed() >= self.budget {
                return Err(MessageError::Retry {
                    after: Some(Duration::ZERO),
                    cause: anyhow::anyhow!(
                        "time budget spent after {} of {} items; continuing",
                        job.done_items,
                        job.total_items
                    ),
                });
            }
            let chunk = range.start / job.chunk_size.max(1);
            let outputs = self.outputs(&job, &job.skus[range.clone()]).await?;
            let committed = self
                .jobs
                .commit_chunk(job.id, range.start, chunk, &outputs)
                .await
                .map_err(retry)?;
            if !committed {
                tracing::info!(job = %job.id, chunk, "chunk committed by another worker; resuming from its checkpoint");
            }
            job = self
                .jobs
                .get(job.id)
                .await
                .map_err(retry)?
                .ok_or_else(|| MessageError::Poison(anyhow::anyhow!("job {} vanished", job.id)))?;
        }
        Ok(job)
    }

    async fn announce(&self, job: &JobRecord) -> Result<(), MessageError> {
        let summary = job.summary();
        if !job.event_sent {
            self.bus
                .announce(EVENT_SOURCE, COMPLETED, &summary)
                .await
                .map_err(|e| retry(e.into()))?;
            self.jobs.mark_event_sent(job.id).await.map_err(retry)?;
        }
        let (Some(url), Some(secret), None) = (&job.callback_url, &job.callback_secret, &job.webhook_status) else {
            return Ok(());
        };
        let body = serde_json::to_vec(&json!({ "event": "agent_job.completed", "job": summary }))
            .map_err(|e| retry(e.into()))?;
        let now = chrono::Utc::now().timestamp();
        match self.webhooks.deliver(url, secret, &job.id.to_string(), body, now).await {
            Ok(()) => self.jobs.record_webhook(job.id, Some("delivered")).await.map_err(retry),
            Err(e) if e.is_permanent() => {
                tracing::warn!(job = %job.id, reason = %e, "webhook refused by the callback policy; not retried");
                self.jobs.record_webhook(job.id, Some("failed")).await.map_err(retry)
            }
            Err(e) if job.webhook_attempts + 1 >= WEBHOOK_ATTEMPTS => {
                tracing::warn!(job = %job.id, error = %format!("{e:#}"), "webhook given up");
                self.jobs.record_webhook(job.id, Some("failed")).await.map_err(retry)
            }
            Err(e) => {
                self.jobs.record_webhook(job.id, None).await.map_err(retry)?;
                Err(retry(anyhow::Error::new(e).context("webhook delivery failed")))
            }
        }
    }
}

/// The job id an `agent_job.requested` outbox message carries.
pub fn job_id(body: &str) -> Result<uuid::Uuid, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("event_type").and_then(Value::as_str) {
        Some(REQUESTED_EVENT) => {}
        other => return Err(format!("not an agent job request (event_type {other:?})")),
    }
    v.get("payload")
        .and_then(|p| p.get("job_id"))
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| "no `payload.job_id` UUID".to_string())
}

impl<W: SeoWriter, P: PriceAdvisor> MessageHandler for AgentJobsWorker<W, P> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let started = Instant::now();
        let id = job_id(&message.body).map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
        let job = self
            .jobs
            .get(id)
            .await
            .map_err(retry)?
            .ok_or_else(|| MessageError::Poison(anyhow::anyhow!("no agent job {id}")))?;
        let job = self.work(job, started).await?;
        platform::metrics::emit(
            &platform::metrics::Record::new("agent-jobs-worker")
                .metric(
                    "agent_job_items",
                    job.total_items as f64,
                    platform::metrics::Unit::Count,
                )
                .property("job_id", job.id.to_string())
                .property("job_type", job.kind().as_str()),
        );
        self.announce(&job).await
    }
}
