//! `outbox-relay` entry point: a scheduled Lambda function, or a one-shot sweep outside the Lambda runtime.

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("outbox-relay").await;
    let relay = match deps.outbox_relay().await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "the outbox queues cannot be resolved; refusing to start"
            );
            eprintln!("outbox-relay: refusing to start: {e:#}");
            std::process::exit(1);
        }
    };
    let relay = &relay;
    let orders = &orders::Orders::new(store::orders::PgOrders::new(deps.db.clone()));
    // Read from PostgreSQL each run: a minute apart, the shared config cache would save nothing.
    let settings = &platform::settings::SettingsCache::with_table(deps.db.clone(), None);
    lambda_glue::job::run(&platform::NIAGA, "outbox-relay", |_event| {
        outbox_relay::run(relay, orders, settings)
    })
    .await
}
