//! `orders-api` Lambda entry point: build once, then serve.

use orders::Orders;
use orders_api::OrdersApi;
use platform::auth::Authenticator;
use store::identity::PgIdentity;
use store::orders::PgOrders;
use store::pricing::PgPricing;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("orders-api").await;
    let api = OrdersApi::new(
        Orders::new(PgOrders::new(deps.db.clone())),
        PgPricing::new(deps.db.clone()),
        Authenticator::new(deps.jwt.clone(), PgIdentity::new(deps.db.clone())),
    );
    platform::http::run(deps.runtime(), api).await
}
