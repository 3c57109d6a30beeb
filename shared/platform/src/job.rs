//! The entry point of a job function (scheduled or invoked by hand): under the Lambda runtime it serves events,
//! answering the warm-up ping without working; anywhere else (a shell, a container, a Cloud Run job) it runs once
//! with an empty event, prints its report and exits non-zero on failure.

use serde_json::{json, Value};
use std::future::Future;

/// Runs `work` per event, or once when the process is not under the Lambda runtime.
pub async fn run<F, Fut>(function: &'static str, work: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = anyhow::Result<Value>>,
{
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return match work(json!({})).await {
            Ok(report) => {
                println!("{report}");
                Ok(())
            }
            Err(e) => {
                tracing::error!(function, error = format!("{e:#}"), "job failed");
                eprintln!("{function} failed: {e:#}");
                std::process::exit(1);
            }
        };
    }
    let work = &work;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            if crate::http::is_warmup_ping(&event.payload) {
                return Ok(json!({ "warm": true, "function": function }));
            }
            work(event.payload)
                .await
                .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
        },
    ))
    .await
}
