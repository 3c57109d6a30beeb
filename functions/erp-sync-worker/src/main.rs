//! `erp-sync-worker` Lambda entry point: build once, then serve SQS batches from the `erp-sync` queue.

use erp::HttpErp;
use erp_sync_worker::{EmfMetrics, ErpSyncConfig, ErpSyncWorker, Sleep};
use niaga_aws::ratelimit::RateLimiter;
use niaga_aws::versioned::VersionedItems;
use orders::Orders;
use store::orders::PgOrders;
use supply_sync::delivery::{ErpDelivery, SharedBreaker};

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<ErpSyncConfig>("erp-sync-worker").await;
    let erp = HttpErp::new(&deps.config.url, deps.config.timeout)
        .unwrap_or_else(|e| platform::init::refuse_to_start(deps.function, &format!("NIAGA_ERP_URL: {e}")));
    let env = deps.common.environment.clone();
    let worker = ErpSyncWorker::new(ErpDelivery {
        orders: Orders::new(PgOrders::new(deps.db.clone())),
        erp,
        breaker: SharedBreaker::new(VersionedItems::new(
            &deps.sdk,
            niaga_aws::table_physical_name(&env, "breaker-state"),
        )),
        permits: RateLimiter::new(&deps.sdk, niaga_aws::table_physical_name(&env, "rate-limits")),
        settings: deps.settings.clone(),
        metrics: EmfMetrics,
        pause: Sleep,
    });
    let rt = erp_sync_worker::runtime(Some(aws_sdk_sqs::Client::new(&deps.sdk)));
    lambda_glue::sqs::run(rt, worker).await
}
