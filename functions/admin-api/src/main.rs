//! `admin-api` Lambda entry point: build once, then serve.

use admin_api::AdminApi;
use notifications::Blasts;
use orders::Orders;
use platform::auth::Authenticator;
use settings::Settings;
use store::blasts::PgBlasts;
use store::identity::PgIdentity;
use store::orders::PgOrders;
use store::settings::PgSettings;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("admin-api").await;
    let api = AdminApi::new(
        Settings::new(PgSettings::new(deps.db.clone()), deps.settings.clone()),
        Blasts::new(PgBlasts::new(deps.db.clone())),
        Orders::new(PgOrders::new(deps.db.clone())),
        Authenticator::new(deps.jwt.clone(), PgIdentity::new(deps.db.clone())),
    )
    .with_relay(deps.fast_path_relay().await);
    lambda_glue::http::run(deps.runtime(), api).await
}
