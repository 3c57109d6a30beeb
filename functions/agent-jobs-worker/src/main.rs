//! `agent-jobs-worker` Lambda entry point: build once, then serve SQS batches.

use agent_jobs_worker::{AgentJobsWorker, Webhooks};
use agents::{MarginAdvisor, TemplateSeoWriter};
use lambda_glue::sqs::{Backoff, SqsRuntime};
use niaga_aws::events::EventBus;
use store::agent_jobs::PgAgentJobs;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<platform::callbacks::CallbackConfig>("agent-jobs-worker").await;
    let rt = SqsRuntime::new(
        platform::NIAGA,
        "agent-jobs-worker",
        Some(aws_sdk_sqs::Client::new(&deps.sdk)),
        Backoff::default(),
    );
    let worker = AgentJobsWorker::new(
        PgAgentJobs::new(deps.db.clone()),
        TemplateSeoWriter,
        MarginAdvisor,
        EventBus::new(&deps.sdk, &deps.common.environment),
        Webhooks::new(
            deps.config.0,
            std::sync::Arc::new(platform::callbacks::SystemResolver),
            std::sync::Arc::new(platform::callbacks::HttpWebhookSender::default()),
        ),
    );
    lambda_glue::sqs::run(rt, worker).await
}
