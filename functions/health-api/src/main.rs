//! `health-api` Lambda entry point.

use health_api::HealthApi;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("health-api").await;
    let api = HealthApi::new(
        deps.db.clone(),
        deps.common.environment.clone(),
        deps.common.build.clone(),
    );
    lambda_glue::http::run(deps.runtime(), api).await
}
