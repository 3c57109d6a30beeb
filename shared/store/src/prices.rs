//! Cost prices from the ERP's feed (price-sync-job): every change applied in one transaction with a log row per
//! change, so a run either changes all it found or nothing, and a second run of the same feed changes nothing.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use kernel::{Money, Sku};
use supply_sync::{CostPriceBook, PriceSync};
use tokio_postgres::types::Type;
use uuid::Uuid;

/// The cost price book in `products`, with `price_sync_log`.
#[derive(Debug, Clone)]
pub struct PgCostPrices {
    db: Db,
}

impl PgCostPrices {
    pub fn new(db: Db) -> Self {
        PgCostPrices { db }
    }
}

impl CostPriceBook for PgCostPrices {
    async fn apply_cost_prices(&self, run_id: Uuid, feed: &[(Sku, Money)]) -> anyhow::Result<PriceSync> {
        apply_cost_prices(&self.db, run_id, feed).await
    }
}

/// Applies the feed (SKU, cost) and logs each change under `run_id`.
async fn apply_cost_prices(db: &Db, run_id: Uuid, feed: &[(Sku, Money)]) -> anyhow::Result<PriceSync> {
    let skus: Vec<&str> = feed.iter().map(|(s, _)| s.as_str()).collect();
    let costs: Vec<i64> = feed.iter().map(|(_, c)| c.minor()).collect();
    let mut client = db.write_client().await?;
    let tx = client.transaction().await.map_err(|e| anyhow!(describe(&e)))?;
    let known: i64 = tx
        .query_typed_one(
            "SELECT count(*) FROM products WHERE sku = ANY($1)",
            &[(&skus, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?
        .get(0);
    let rows = tx
        .query_typed(
            "WITH feed AS (SELECT * FROM unnest($2::text[], $3::int8[]) AS f (sku, cost)),
             changed AS (
                 SELECT p.sku, p.cost_price AS old_cost, f.cost AS new_cost
                 FROM products p JOIN feed f ON f.sku = p.sku
                 WHERE p.cost_price <> f.cost
                 FOR UPDATE OF p
             ),
             updated AS (
                 UPDATE products p SET cost_price = c.new_cost, updated_at = now()
                 FROM changed c WHERE p.sku = c.sku
                 RETURNING p.sku
             )
             INSERT INTO price_sync_log (run_id, sku, old_cost, new_cost)
             SELECT $1, c.sku, c.old_cost, c.new_cost FROM changed c JOIN updated u ON u.sku = c.sku
             RETURNING sku, old_cost, new_cost",
            &[
                (&run_id, Type::UUID),
                (&skus, Type::TEXT_ARRAY),
                (&costs, Type::INT8_ARRAY),
            ],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
    tx.commit().await.map_err(|e| anyhow!(describe(&e)))?;
    Ok(PriceSync {
        changed: rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect(),
        unknown: feed.len().saturating_sub(usize::try_from(known).unwrap_or(0)),
    })
}
