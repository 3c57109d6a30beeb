//! Ports the pricing engine needs filled; the database adapter implements them.
//!
//! They take `&self` and return `Send` futures so one adapter value can serve every request a warm Lambda handles.

use crate::{PpnSchedule, PricingPolicy};
use kernel::{Money, Sku, Tier};
use std::collections::BTreeMap;
use std::future::Future;

/// Tier price lists.
pub trait PriceLists: Send + Sync {
    /// MUST return the tier's list price for every requested SKU that is active and priced at that tier; absent SKUs
    /// are simply missing from the map (the engine then refuses them with [`QuoteError::NoPrice`](crate::QuoteError)).
    /// SKUs that were not requested SHOULD NOT be returned; the engine ignores them.
    fn list_prices(
        &self,
        tier: Tier,
        skus: &[Sku],
    ) -> impl Future<Output = anyhow::Result<BTreeMap<Sku, Money>>> + Send;
}

/// Pricing settings (loyalty multipliers and the minimum order), read from system_config.
pub trait PricingSettings: Send + Sync {
    /// MUST fail, rather than fall back to defaults, when a setting is missing or invalid: a silent default would
    /// change what partners pay.
    fn pricing_policy(&self) -> impl Future<Output = anyhow::Result<PricingPolicy>> + Send;
}

/// The PPN schedule, read from system_config.
pub trait TaxSettings: Send + Sync {
    /// MUST fail, rather than fall back to a default rate, when the schedule is missing or invalid: a silent
    /// default would put the wrong tax on invoices.
    fn ppn_schedule(&self) -> impl Future<Output = anyhow::Result<PpnSchedule>> + Send;
}
