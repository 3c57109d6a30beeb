//! `health-api` Lambda entry point.

use health_api::HealthApi;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("health-api").await;
    let api = HealthApi::new(
        deps.db.clone(),
        deps.common.environment.clone(),
        deps.common.build.clone(),
    );
    platform::http::run(deps.runtime(), api).await
}
