//! `export-worker` fed the sample batch in `events/export-worker/`: a malformed request and a request for an export
//! this database does not have are both poison, never retried.

use export_worker::ExportWorker;
use lambda_glue::sqs::{MessageError, MessageHandler};
use niaga_aws::files::Files;
use store::exports::PgExports;
use testkit::{fresh_db, Template};

#[tokio::test]
async fn malformed_and_unknown_export_requests_are_poison() {
    let db = fresh_db(Template::Empty).await;
    let worker = ExportWorker::new(
        PgExports::new(db.db()),
        Files::new(&testkit::aws_config_for("export-worker").await, "unused"),
    );
    let batch = testkit::event("export-worker/export-requested-with-poison.json");
    let messages = lambda_glue::sqs::messages(&batch);
    assert_eq!(messages.len(), 2);
    for m in messages {
        assert!(
            matches!(worker.handle(&m).await, Err(MessageError::Poison(_))),
            "{}",
            m.body
        );
    }
}
