//! `order-expiry-job` entry point: a Lambda function under the Lambda runtime, a one-shot command elsewhere.

use lambda_runtime::{service_fn, LambdaEvent};
use orders::Orders;
use serde_json::Value;
use store::orders::PgOrders;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("order-expiry-job").await;
    let orders = Orders::new(PgOrders::new(deps.db.clone()));
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return match order_expiry_job::run(&orders, chrono::Utc::now()).await {
            Ok(report) => {
                println!("{report}");
                Ok(())
            }
            Err(e) => {
                eprintln!("order-expiry-job failed: {e:#}");
                std::process::exit(1);
            }
        };
    }
    let orders = &orders;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        if platform::http::is_warmup_ping(&event.payload) {
            return Ok(serde_json::json!({ "warm": true, "function": "order-expiry-job" }));
        }
        order_expiry_job::run(orders, order_expiry_job::as_of(&event.payload))
            .await
            .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
    }))
    .await
}
