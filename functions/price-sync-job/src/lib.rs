//! `price-sync-job`: nightly at 00:00 WIB, imports cost prices from the ERP's price feed (through the `erp`
//! anti-corruption layer) and applies every change atomically, one `price_sync_log` row per change
//! (`store::prices`).
//!
//! When the ERP is down the job fails (and the schedule tries again the next night); prices stay as they were.
//! The same feed twice changes nothing the second time. It must not hold SQL or depend on the AWS SDK.

use erp::ErpClient;
use serde_json::{json, Value};

/// Fetches the feed and applies it.
pub async fn run<E: ErpClient>(erp: &E, db: &store::Db) -> anyhow::Result<Value> {
    let feed = erp
        .cost_prices()
        .await
        .map_err(|e| anyhow::anyhow!("the ERP price feed: {e}"))?;
    let rows: Vec<(kernel::Sku, kernel::Money)> = feed.rows.iter().map(|r| (r.sku.clone(), r.cost)).collect();
    let run_id = uuid::Uuid::new_v4();
    let applied = store::prices::apply_cost_prices(db, run_id, &rows).await?;
    tracing::info!(
        changed = applied.changed.len(),
        unknown = applied.unknown,
        skipped = feed.skipped,
        "cost prices synced"
    );
    Ok(json!({
        "run_id": run_id,
        "as_of": feed.as_of,
        "feed_rows": feed.rows.len(),
        "changed": applied.changed.len(),
        "unknown_skus": applied.unknown,
        "skipped_rows": feed.skipped,
    }))
}
