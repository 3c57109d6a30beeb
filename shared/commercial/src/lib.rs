//! Commercial domain: what a partner pays and whether they may place the order. It owns the pricing engine (tier
//! list prices, the per-tier loyalty multiplier, the minimum order total), the credit-limit rule, and the ports a
//! store implements to feed them.
//!
//! Every rule that decides money lives here, as pure functions over values, so it can be tested exhaustively and no
//! adapter can re-derive a price on its own.
//!
//! This crate owns no I/O. It must not depend on tokio, the AWS SDK, Lambda crates, PostgreSQL or HTTP types, nor on
//! the supply-chain crate (`supply`): an order service composes the two, and neither needs to know the other.
//!
//! # Rounding
//!
//! Written down once, here; everything below follows it:
//!
//! - `unit_price` = `list_price` × the tier's multiplier in basis points ÷ 10 000, rounded half away from zero to a
//!   whole rupiah ([`Money::scale_basis_points`](kernel::Money::scale_basis_points), the house rule). Rounding
//!   happens once per unit, so every line of an invoice is reproducible from its unit price.
//! - `line_total` = `unit_price` × `quantity`, exactly; no further rounding.
//! - `total` = Σ `line_total`; `list_total` = Σ `list_price` × `quantity`; `discount` = `list_total` − `total`.
//!
//! No floating point is involved anywhere; an overflow is an error ([`QuoteError::Overflow`]), never a wrap.
//!
//! # Layout
//!
//! - `pricing`: [`PricingPolicy`] (loyalty multipliers and the minimum order), [`quote`] turning a cart and a tier's
//!   list prices into a [`Quote`], and [`Quote::check_minimum`].
//! - `credit`: [`CreditPosition`], the seed-004 rule "limit minus ERP debt minus open unpaid orders".
//! - `ports`: [`PriceLists`] and [`PricingSettings`], implemented by the database adapter.

mod credit;
mod ports;
mod pricing;

pub use credit::{CreditLimitExceeded, CreditPosition};
pub use ports::{PriceLists, PricingSettings};
pub use pricing::{
    quote, BelowMinimumOrder, CartLine, PolicyError, PricedLine, PricingPolicy, Quote, QuoteError, MAX_LINES,
};
