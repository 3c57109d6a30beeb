//! `notifications-worker` driven by the sample SQS batch in `events/notifications-worker/`, against real
//! PostgreSQL: partial batch failures, a poison message, and no notification sent twice.

use lambda_glue::sqs::{dispatch, Backoff, SqsRuntime};
use notifications_worker::{FileSender, NotificationsWorker};
use testkit::{event, fresh_db, Template};

mod support;

#[tokio::test]
async fn order_events_notify_once_and_a_poison_message_alone_fails() {
    let db = fresh_db(Template::Empty).await;
    let file = std::env::temp_dir().join(format!("niaga-notify-{}.jsonl", db.name));
    let worker = NotificationsWorker::new(support::notifier(&db.db(), FileSender(file.clone())));
    // No SQS client: backoff is skipped, the batch response is what is under test.
    let rt = SqsRuntime::new(platform::NIAGA, "notifications-worker", None, Backoff::default());
    let batch = event("notifications-worker/order-events-with-poison.json");

    let first = dispatch(&rt, &worker, batch.clone()).await;
    assert_eq!(
        first["batchItemFailures"],
        serde_json::json!([{ "itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da" }])
    );
    let sent = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = sent.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{sent}");
    assert_eq!(lines[0]["kind"], "order_received");
    assert_eq!(lines[1]["kind"], "payment_received");
    assert_eq!(lines[0]["recipient"], "partner:1");

    // The whole batch again (a worker killed before SQS deleted it): nothing is sent twice.
    let second = dispatch(&rt, &worker, batch).await;
    assert_eq!(second["batchItemFailures"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_warm_up_ping_does_no_work() {
    let db = fresh_db(Template::Empty).await;
    let worker = NotificationsWorker::new(support::notifier(
        &db.db(),
        FileSender(std::env::temp_dir().join("niaga-never-written.jsonl")),
    ));
    let rt = SqsRuntime::new(platform::NIAGA, "notifications-worker", None, Backoff::default());
    let r = dispatch(&rt, &worker, event("warmup.json")).await;
    assert_eq!(r["warm"], true);
}
