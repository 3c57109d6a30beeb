//! `agent-jobs-worker`: works through agent jobs from the agent-jobs queue, chunk by chunk, then announces them.
//!
//! For each `agent_job.requested` message the worker hands the job to [`agents::JobRunner`], which works its
//! remaining chunks from the checkpoint within the time budget, then announces it once on the project's event bus
//! and, when the job registered a callback URL, once by HMAC-signed webhook (`agents::runner` says how and what is
//! retried). This crate maps the outcome to the queue: a spent budget asks for the message again at once, a
//! passing failure is retried with backoff, and a body that is not an agent job request, or names no job, is a
//! poison message. It emits `agent_job_items` for every job worked to the end.
//!
//! This crate must not hold SQL or call the AWS SDK: `main` wires the adapters into the use case.

use agents::{AgentJobStore, EventBus, JobRunner, PriceAdvisor, RunJobError, SeoWriter};
use lambda_glue::sqs::{Message, MessageError, MessageHandler};
use serde_json::Value;
use std::time::{Duration, Instant};

pub use agents::{Webhooks, COMPLETED, EVENT_SOURCE, WEBHOOK_ATTEMPTS};

/// The worker over the job store `J`, the providers `W` and `P`, and the event bus `B`.
#[derive(Debug)]
pub struct AgentJobsWorker<J, W, P, B> {
    runner: JobRunner<J, W, P, B>,
}

impl<J: AgentJobStore, W: SeoWriter, P: PriceAdvisor, B: EventBus> AgentJobsWorker<J, W, P, B> {
    pub fn new(jobs: J, seo: W, advisor: P, bus: B, webhooks: Webhooks) -> Self {
        AgentJobsWorker {
            runner: JobRunner::new(jobs, seo, advisor, bus, webhooks),
        }
    }

    /// How long one delivery works before handing the rest of the job to the next.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.runner = self.runner.with_budget(budget);
        self
    }
}

/// What the queue does with the message after `e`.
fn message_error(e: RunJobError) -> MessageError {
    match e {
        RunJobError::NoSuchJob(_) | RunJobError::Vanished(_) => MessageError::Poison(anyhow::Error::new(e)),
        RunJobError::BudgetSpent { .. } => MessageError::Retry {
            after: Some(Duration::ZERO),
            cause: anyhow::Error::new(e),
        },
        RunJobError::Retry(cause) => MessageError::Retry { after: None, cause },
    }
}

/// The job id an `agent_job.requested` outbox message carries.
pub fn job_id(body: &str) -> Result<uuid::Uuid, String> {
    let event = kernel::Envelope::from_body(body).map_err(|e| format!("not an outbox event: {e}"))?;
    if event.kind() != Some(kernel::EventType::AgentJobRequested) {
        return Err(format!("not an agent job request (event_type {:?})", event.event_type));
    }
    event
        .payload
        .get("job_id")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| "no `payload.job_id` UUID".to_string())
}

impl<J: AgentJobStore, W: SeoWriter, P: PriceAdvisor, B: EventBus> MessageHandler for AgentJobsWorker<J, W, P, B> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let started = Instant::now();
        let id = job_id(&message.body).map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
        let job = self.runner.work(id, started).await.map_err(message_error)?;
        lambda_glue::metrics::emit(
            &lambda_glue::metrics::Record::new(&platform::NIAGA, "agent-jobs-worker")
                .metric(
                    "agent_job_items",
                    job.total_items as f64,
                    lambda_glue::metrics::Unit::Count,
                )
                .property("job_id", job.id.to_string())
                .property("job_type", job.kind().as_str()),
        );
        self.runner.announce(&job).await.map_err(message_error)
    }
}
