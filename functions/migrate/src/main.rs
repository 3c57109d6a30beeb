//! `migrate` entry point: a Lambda function under the Lambda runtime, a one-shot command elsewhere.

use migrate::MigrateConfig;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<MigrateConfig>("migrate").await;
    let deps = &deps;
    let schema = &store::migrate::PgSchema::new(deps.db.clone());
    lambda_glue::job::run(&platform::NIAGA, "migrate", |_event| {
        maintenance::migrate(schema, &deps.config.timeouts)
    })
    .await
}
