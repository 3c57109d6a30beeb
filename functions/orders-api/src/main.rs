//! `orders-api` Lambda entry point: build once, then serve.

use orders::Orders;
use orders_api::OrdersApi;
use platform::auth::Authenticator;
use store::identity::PgIdentity;
use store::orders::PgOrders;
use store::pricing::PgPricing;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("orders-api").await;
    let api = OrdersApi::new(
        Orders::new(PgOrders::new(deps.db.clone())),
        PgPricing::new(deps.db.clone()),
        Authenticator::new(deps.jwt.clone(), PgIdentity::new(deps.db.clone())).with_limits(std::sync::Arc::new(
            platform::limits::RateLimits::new(&deps.sdk, &deps.common.environment, deps.settings.clone()),
        )),
    )
    .with_relay(deps.fast_path_relay().await);
    lambda_glue::http::run(deps.runtime(), api).await
}
