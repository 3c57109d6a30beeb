//! The pricing engine: a tier's list prices and loyalty multiplier applied to a cart (rounding rule in the crate doc).

use kernel::{Money, Quantity, Sku, Tier};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Most lines one cart may have. A bound keeps a quote (and the order transaction behind it) small and predictable.
pub const MAX_LINES: usize = 100;

/// The multiplier that leaves a price unchanged.
const FULL_PRICE_BP: u32 = 10_000;
/// The deepest loyalty multiplier accepted: half price. A misplaced digit in system_config must not give stock away.
const DEEPEST_BP: u32 = 5_000;

/// One cart line as commercial sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Pricing settings, read from system_config by an adapter.
///
/// A value that exists is valid: every tier has a multiplier within `5_000..=10_000` basis points and the minimum
/// order is not negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingPolicy {
    /// Indexed by [`slot`], so every tier has a value by construction and lookups cannot fail.
    loyalty_bp: [u32; Tier::ALL.len()],
    minimum_order: Money,
}

/// Why a set of pricing settings was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("no loyalty multiplier is configured for tier {0}")]
    MissingTier(Tier),
    #[error(
        "the loyalty multiplier for tier {tier} is {bp} basis points; it must be from {DEEPEST_BP} to {FULL_PRICE_BP}"
    )]
    MultiplierOutOfRange { tier: Tier, bp: u32 },
    #[error("the minimum order total must not be negative")]
    NegativeMinimum,
}

/// Position of a tier in [`PricingPolicy::loyalty_bp`]. A `match` rather than a search of [`Tier::ALL`] so adding a
/// tier fails to compile here instead of panicking at run time.
const fn slot(tier: Tier) -> usize {
    match tier {
        Tier::Bronze => 0,
        Tier::Silver => 1,
        Tier::Gold => 2,
        Tier::Platinum => 3,
    }
}

impl PricingPolicy {
    /// `loyalty_bp`: multiplier per tier in basis points (10_000 = list price, 9_500 = 5% off). Every tier must be
    /// present; each value `5_000..=10_000` (a loyalty multiplier never raises a price and never more than halves it).
    /// `minimum_order` ≥ 0.
    ///
    /// Every value given is checked, and if a tier is given more than once the last value wins (the same as a map
    /// built from the pairs would).
    pub fn new(loyalty_bp: impl IntoIterator<Item = (Tier, u32)>, minimum_order: Money) -> Result<Self, PolicyError> {
        let mut given: [Option<u32>; Tier::ALL.len()] = [None; Tier::ALL.len()];
        for (tier, bp) in loyalty_bp {
            if !(DEEPEST_BP..=FULL_PRICE_BP).contains(&bp) {
                return Err(PolicyError::MultiplierOutOfRange { tier, bp });
            }
            given[slot(tier)] = Some(bp);
        }
        let mut bps = [FULL_PRICE_BP; Tier::ALL.len()];
        for tier in Tier::ALL {
            bps[slot(tier)] = given[slot(tier)].ok_or(PolicyError::MissingTier(tier))?;
        }
        if minimum_order < Money::ZERO {
            return Err(PolicyError::NegativeMinimum);
        }
        Ok(PricingPolicy {
            loyalty_bp: bps,
            minimum_order,
        })
    }

    /// The tier's loyalty multiplier in basis points.
    pub fn multiplier_bp(&self, tier: Tier) -> u32 {
        self.loyalty_bp[slot(tier)]
    }

    /// The smallest order total accepted.
    pub fn minimum_order(&self) -> Money {
        self.minimum_order
    }
}

/// One priced cart line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PricedLine {
    pub sku: Sku,
    pub quantity: Quantity,
    /// The tier's list price for one unit.
    pub list_price: Money,
    /// The price actually charged for one unit: the list price after the loyalty multiplier, rounded.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// A priced cart: what the partner would pay, and how that was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Quote {
    pub tier: Tier,
    pub multiplier_bp: u32,
    /// In the cart's order.
    pub lines: Vec<PricedLine>,
    pub list_total: Money,
    /// `list_total − total`; never negative, because a multiplier never exceeds 10 000 basis points.
    pub discount: Money,
    pub total: Money,
    /// The policy's minimum at the time of quoting, so [`Quote::check_minimum`] needs nothing else.
    pub minimum_order: Money,
}

/// An order below the minimum order total.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order total {total} is below the minimum order of {minimum}: {short_by} short")]
pub struct BelowMinimumOrder {
    pub total: Money,
    pub minimum: Money,
    /// `minimum − total`; always positive.
    pub short_by: Money,
}

impl Quote {
    /// Err when total < minimum_order; a total of exactly the minimum is accepted.
    pub fn check_minimum(&self) -> Result<(), BelowMinimumOrder> {
        if self.total >= self.minimum_order {
            return Ok(());
        }
        // total < minimum, so the difference is positive; saturating only matters for hand-built quotes with
        // extreme values, and keeps `short_by` positive even then.
        let short_by = Money::from_minor(self.minimum_order.minor().saturating_sub(self.total.minor()));
        Err(BelowMinimumOrder {
            total: self.total,
            minimum: self.minimum_order,
            short_by,
        })
    }
}

/// Why a cart could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error("a cart may have at most {max} lines")]
    TooManyLines { max: usize },
    #[error("SKU {0} appears on more than one cart line")]
    DuplicateSku(Sku),
    /// Not sold at this tier, inactive or unknown.
    #[error("SKU {0} has no price at this tier")]
    NoPrice(Sku),
    #[error("the order total is too large to compute")]
    Overflow,
}

/// The pricing engine. Rounding rule in the crate doc: `unit_price` = `list_price` scaled by the tier's multiplier,
/// rounded half away from zero to a whole rupiah; `line_total` = `unit_price` × `quantity` (no further rounding);
/// `total` = Σ `line_total`; `list_total` = Σ `list_price` × `quantity`; `discount` = `list_total` − `total`. Lines
/// keep the cart's order.
///
/// A negative list price is treated as no price ([`QuoteError::NoPrice`]): it can only come from a broken price
/// list, and selling at it would pay the partner to take the goods.
///
/// Structural errors (empty cart, too many lines, a SKU on two lines) are reported before any price is looked up,
/// so the answer does not depend on what the price list happens to contain.
pub fn quote(
    tier: Tier,
    cart: &[CartLine],
    list_prices: &BTreeMap<Sku, Money>,
    policy: &PricingPolicy,
) -> Result<Quote, QuoteError> {
    if cart.is_empty() {
        return Err(QuoteError::EmptyCart);
    }
    if cart.len() > MAX_LINES {
        return Err(QuoteError::TooManyLines { max: MAX_LINES });
    }
    let mut seen = BTreeSet::new();
    for line in cart {
        if !seen.insert(&line.sku) {
            return Err(QuoteError::DuplicateSku(line.sku.clone()));
        }
    }

    let multiplier_bp = policy.multiplier_bp(tier);
    let overflow = |_| QuoteError::Overflow;
    let mut lines = Vec::with_capacity(cart.len());
    let mut list_total = Money::ZERO;
    let mut total = Money::ZERO;
    for line in cart {
        let list_price = list_prices
            .get(&line.sku)
            .copied()
            .filter(|p| *p >= Money::ZERO)
            .ok_or_else(|| QuoteError::NoPrice(line.sku.clone()))?;
        let unit_price = list_price.scale_basis_points(multiplier_bp).map_err(overflow)?;
        let line_total = unit_price.times(line.quantity.get()).map_err(overflow)?;
        let line_list = list_price.times(line.quantity.get()).map_err(overflow)?;
        list_total = list_total.checked_add(line_list).map_err(overflow)?;
        total = total.checked_add(line_total).map_err(overflow)?;
        lines.push(PricedLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
            list_price,
            unit_price,
            line_total,
        });
    }
    // Both totals are sums of non-negative terms and each unit price is at most its list price, so this neither
    // overflows nor goes negative; checked anyway so a future rule change cannot make it wrap.
    let discount = list_total.checked_sub(total).map_err(overflow)?;

    Ok(Quote {
        tier,
        multiplier_bp,
        lines,
        list_total,
        discount,
        total,
        minimum_order: policy.minimum_order(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tier_has_its_own_slot() {
        let mut slots: Vec<usize> = Tier::ALL.iter().map(|t| slot(*t)).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots, (0..Tier::ALL.len()).collect::<Vec<_>>());
    }
}
