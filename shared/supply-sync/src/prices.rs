//! Cost prices from the ERP's price feed: every change applied atomically, one log row per change. When the ERP
//! is down the sync fails and prices stay as they were; the same feed twice changes nothing the second time.

use crate::{CostPriceBook, ErpClient};
use serde_json::{json, Value};

/// Fetches the feed and applies it.
pub async fn sync_cost_prices(erp: &impl ErpClient, book: &impl CostPriceBook) -> anyhow::Result<Value> {
    let feed = erp
        .cost_prices()
        .await
        .map_err(|e| anyhow::anyhow!("the ERP price feed: {e}"))?;
    let rows: Vec<(kernel::Sku, kernel::Money)> = feed.rows.iter().map(|r| (r.sku.clone(), r.cost)).collect();
    let run_id = uuid::Uuid::new_v4();
    let applied = book.apply_cost_prices(run_id, &rows).await?;
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
