//! `stock-sync-job` entry point: a scheduled Lambda function, or a one-shot sync outside the Lambda runtime.

use erp::HttpErp;
use store::erp_sync::PgErpSync;
use store::settings::PgSettings;

/// The ERP, with 10 s per call: a feed every few minutes.
type SyncConfig = platform::config::ErpConfig<10_000>;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<SyncConfig>("stock-sync-job").await;
    let erp = HttpErp::new(&deps.config.url, deps.config.timeout)
        .unwrap_or_else(|e| platform::init::refuse_to_start(deps.function, &format!("NIAGA_ERP_URL: {e}")));
    let (erp, sync, settings) = (
        &erp,
        &PgErpSync::new(deps.db.clone()),
        &PgSettings::new(deps.db.clone()),
    );
    lambda_glue::job::run(&platform::NIAGA, "stock-sync-job", |event| async move {
        let force = stock_sync_job::forced(&event);
        supply_sync::stock::sync_stock(erp, sync, settings, force, chrono::Utc::now()).await
    })
    .await
}
