//! `catalog-api` Lambda entry point: build once, then serve.

use catalog_api::CatalogApi;
use store::catalog::PgCatalog;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("catalog-api").await;
    let limits = platform::limits::RateLimits::new(&deps.sdk, &deps.common.environment, deps.settings.clone());
    let api = CatalogApi::new(PgCatalog::new(deps.db.clone())).with_limits(limits);
    lambda_glue::http::run(deps.runtime(), api).await
}
