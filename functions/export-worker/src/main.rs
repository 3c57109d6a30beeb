//! `export-worker` Lambda entry point: build once, then serve SQS batches.

use export_worker::ExportWorker;
use lambda_glue::sqs::{Backoff, SqsRuntime};
use niaga_aws::files::Files;
use store::exports::PgExports;

/// Settings read at cold start.
#[derive(Debug)]
struct ExportConfig {
    bucket: String,
}

impl lambda_glue::env::FromEnv for ExportConfig {
    fn from_env(env: &lambda_glue::Env) -> Result<Self, lambda_glue::ConfigError> {
        Ok(ExportConfig {
            bucket: env.required("NIAGA_EXPORTS_BUCKET")?,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<ExportConfig>("export-worker").await;
    let rt = SqsRuntime::new(
        platform::NIAGA,
        "export-worker",
        Some(aws_sdk_sqs::Client::new(&deps.sdk)),
        Backoff::default(),
    );
    let worker = ExportWorker::new(
        PgExports::new(deps.db.clone()),
        Files::new(&deps.sdk, &deps.config.bucket),
    );
    lambda_glue::sqs::run(rt, worker).await
}
