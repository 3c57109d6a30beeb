//! `price-sync-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

use erp::HttpErp;
use store::prices::PgCostPrices;

/// The ERP, with 30 s per call: the whole price list, once a night.
type PriceSyncConfig = platform::config::ErpConfig<30_000>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<PriceSyncConfig>("price-sync-job").await;
    let erp = HttpErp::new(&deps.config.url, deps.config.timeout)
        .unwrap_or_else(|e| platform::init::refuse_to_start(deps.function, &format!("NIAGA_ERP_URL: {e}")));
    let (erp, book) = (&erp, &PgCostPrices::new(deps.db.clone()));
    lambda_glue::job::run(&platform::NIAGA, "price-sync-job", |_input| async move {
        supply_sync::prices::sync_cost_prices(erp, book).await
    })
    .await
}
