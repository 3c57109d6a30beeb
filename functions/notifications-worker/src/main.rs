//! `notifications-worker` Lambda entry point: build once, then serve SQS batches.

use lambda_glue::sqs::{Backoff, SqsRuntime};
use notifications::{Notifier, Sender};
use notifications_worker::{FileSender, LogSender, NotificationsWorker};
use store::blasts::PgBlasts;
use store::notifications::PgNotificationLog;
use store::settings::PgSettings;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("notifications-worker").await;
    let rt = SqsRuntime::new(
        platform::NIAGA,
        "notifications-worker",
        Some(aws_sdk_sqs::Client::new(&deps.sdk)),
        Backoff::default(),
    );
    let db = &deps.db;
    // `file:<path>` writes JSON lines (local runs); anything else logs.
    match std::env::var("NIAGA_NOTIFY_SENDER")
        .ok()
        .as_deref()
        .and_then(|s| s.strip_prefix("file:"))
    {
        Some(path) => lambda_glue::sqs::run(rt, worker(db, FileSender(path.into()))).await,
        None => lambda_glue::sqs::run(rt, worker(db, LogSender)).await,
    }
}

/// The worker over PostgreSQL and `sender`.
fn worker<S: Sender>(db: &store::Db, sender: S) -> NotificationsWorker<PgNotificationLog, PgBlasts, S, PgSettings> {
    NotificationsWorker::new(Notifier::new(
        PgNotificationLog::new(db.clone()),
        PgBlasts::new(db.clone()),
        sender,
        PgSettings::new(db.clone()),
    ))
}
