//! Commercial's ports over PostgreSQL for read-only pricing and PPN (`POST /quotes`), from the reader pool.

use crate::orders::{read_checkout_settings, read_list_prices};
use crate::pool::Db;
use commercial::{PpnSchedule, PriceLists, PricingPolicy, PricingSettings, TaxSettings};
use kernel::{Money, Sku, Tier};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct PgPricing {
    db: Db,
}

impl PgPricing {
    pub fn new(db: Db) -> Self {
        PgPricing { db }
    }
}

impl PriceLists for PgPricing {
    async fn list_prices(&self, tier: Tier, skus: &[Sku]) -> anyhow::Result<BTreeMap<Sku, Money>> {
        let client = self.db.read_client().await?;
        read_list_prices(&client, tier, skus).await
    }
}

impl PricingSettings for PgPricing {
    async fn pricing_policy(&self) -> anyhow::Result<PricingPolicy> {
        let client = self.db.read_client().await?;
        Ok(read_checkout_settings(&client).await?.pricing)
    }
}

impl TaxSettings for PgPricing {
    async fn ppn_schedule(&self) -> anyhow::Result<PpnSchedule> {
        let client = self.db.read_client().await?;
        Ok(read_checkout_settings(&client).await?.ppn)
    }
}
