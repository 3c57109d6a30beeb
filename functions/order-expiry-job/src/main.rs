//! `order-expiry-job` entry point: a Lambda function under the Lambda runtime, a one-shot command elsewhere.

use orders::Orders;
use store::orders::PgOrders;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("order-expiry-job").await;
    let orders = &Orders::new(PgOrders::new(deps.db.clone()));
    let relay = &deps.fast_path_relay().await;
    lambda_glue::job::run(&platform::NIAGA, "order-expiry-job", |event| async move {
        let report = order_expiry_job::run(orders, order_expiry_job::as_of(&event)).await?;
        // Publish the expiries now rather than at the next sweep.
        if let Some(r) = relay {
            r.sweep(order_expiry_job::MAX_BATCHES).await?;
        }
        Ok(report)
    })
    .await
}
