//! `auth-api` Lambda entry point: build once, then serve.

use auth_api::AuthApi;
use store::identity::PgIdentity;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("auth-api").await;
    let limits = platform::limits::RateLimits::new(&deps.sdk, &deps.common.environment, deps.settings.clone());
    let api = AuthApi::new(PgIdentity::new(deps.db.clone()), deps.jwt.clone()).with_limits(limits);
    lambda_glue::http::run(deps.runtime(), api).await
}
