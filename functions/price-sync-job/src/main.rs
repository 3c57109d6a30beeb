//! `price-sync-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

use erp::HttpErp;
use std::time::Duration;
use store::prices::PgCostPrices;

/// Settings read at cold start.
#[derive(Debug)]
struct PriceSyncConfig {
    erp_url: String,
    erp_timeout: Duration,
}

impl platform::config::FromEnv for PriceSyncConfig {
    fn from_env(env: &platform::Env) -> Result<Self, platform::ConfigError> {
        Ok(PriceSyncConfig {
            erp_url: env.required("NIAGA_ERP_URL")?,
            erp_timeout: Duration::from_millis(env.int_in("NIAGA_ERP_TIMEOUT_MS", 30_000, 100..=120_000)?),
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<PriceSyncConfig>("price-sync-job").await;
    let erp = match HttpErp::new(&deps.config.erp_url, deps.config.erp_timeout) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("price-sync-job: refusing to start: NIAGA_ERP_URL: {e}");
            std::process::exit(1);
        }
    };
    let (erp, book) = (&erp, &PgCostPrices::new(deps.db.clone()));
    platform::job::run("price-sync-job", |_input| async move {
        supply_sync::prices::sync_cost_prices(erp, book).await
    })
    .await
}
