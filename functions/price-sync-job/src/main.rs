//! `price-sync-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

use erp::HttpErp;
use store::prices::PgCostPrices;

/// The ERP, with 30 s per call: the whole price list, once a night.
type PriceSyncConfig = platform::config::ErpConfig<30_000>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<PriceSyncConfig>("price-sync-job").await;
    let erp = match HttpErp::new(&deps.config.url, deps.config.timeout) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("price-sync-job: refusing to start: NIAGA_ERP_URL: {e}");
            std::process::exit(1);
        }
    };
    let (erp, book) = (&erp, &PgCostPrices::new(deps.db.clone()));
    lambda_glue::job::run(&platform::NIAGA, "price-sync-job", |_input| async move {
        supply_sync::prices::sync_cost_prices(erp, book).await
    })
    .await
}
