//! `catalog-api` Lambda entry point: build once, then serve.

use catalog_api::CatalogApi;
use store::catalog::PgCatalog;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("catalog-api").await;
    let api = CatalogApi::new(PgCatalog::new(deps.db.clone()));
    platform::http::run(deps.runtime(), api).await
}
