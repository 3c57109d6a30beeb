//! `stock-sync-job` entry point: a scheduled Lambda function, or a one-shot sync outside the Lambda runtime.

use erp::HttpErp;
use std::time::Duration;
use store::config::PgSettings;
use store::erp_sync::PgErpSync;

/// Settings read at cold start.
#[derive(Debug)]
struct SyncConfig {
    erp_url: String,
    erp_timeout: Duration,
}

impl platform::config::FromEnv for SyncConfig {
    fn from_env(env: &platform::Env) -> Result<Self, platform::ConfigError> {
        Ok(SyncConfig {
            erp_url: env.required("NIAGA_ERP_URL")?,
            erp_timeout: Duration::from_millis(env.int_in("NIAGA_ERP_TIMEOUT_MS", 10_000, 100..=60_000)?),
        })
    }
}

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<SyncConfig>("stock-sync-job").await;
    let erp = match HttpErp::new(&deps.config.erp_url, deps.config.erp_timeout) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("stock-sync-job: refusing to start: NIAGA_ERP_URL: {e}");
            std::process::exit(1);
        }
    };
    let (erp, sync, settings) = (
        &erp,
        &PgErpSync::new(deps.db.clone()),
        &PgSettings::new(deps.db.clone()),
    );
    platform::job::run("stock-sync-job", |event| async move {
        let force = stock_sync_job::forced(&event);
        supply_sync::stock::sync_stock(erp, sync, settings, force, chrono::Utc::now()).await
    })
    .await
}
