//! `migrate` entry point: a Lambda function under the Lambda runtime, a one-shot command elsewhere.

use lambda_runtime::{service_fn, LambdaEvent};
use migrate::MigrateConfig;
use serde_json::Value;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<MigrateConfig>("migrate").await;
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        // One-shot mode: run once, exit non-zero on failure.
        return match migrate::run(&deps.db, &deps.config).await {
            Ok(report) => {
                println!("{report}");
                Ok(())
            }
            Err(e) => {
                eprintln!("migrate failed: {e:#}");
                std::process::exit(1);
            }
        };
    }
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        if platform::http::is_warmup_ping(&event.payload) {
            return Ok(serde_json::json!({ "warm": true, "function": "migrate" }));
        }
        migrate::run(&deps.db, &deps.config)
            .await
            .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
    }))
    .await
}
