//! `notifications-worker` Lambda entry point: build once, then serve SQS batches.

use notifications_worker::{FileSender, LogSender, NotificationsWorker};
use platform::sqs::{Backoff, SqsRuntime};

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("notifications-worker").await;
    let rt = SqsRuntime::new(
        "notifications-worker",
        Some(aws_sdk_sqs::Client::new(&deps.sdk)),
        Backoff::default(),
    );
    let db = deps.db.clone();
    // `file:<path>` writes JSON lines (local runs); anything else logs.
    match std::env::var("NIAGA_NOTIFY_SENDER")
        .ok()
        .as_deref()
        .and_then(|s| s.strip_prefix("file:"))
    {
        Some(path) => platform::sqs::run(rt, NotificationsWorker::new(db, FileSender(path.into()))).await,
        None => platform::sqs::run(rt, NotificationsWorker::new(db, LogSender)).await,
    }
}
