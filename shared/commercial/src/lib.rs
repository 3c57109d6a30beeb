//! Commercial domain: what a partner pays and whether they may place the order. It owns the pricing engine (tier
//! list prices, the per-tier loyalty multiplier, the minimum order total), PPN (VAT) on a sale, the credit-limit
//! rule, payment terms, and the ports a store implements to feed them.
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
//! - PPN, once per invoice (one order), on `total` (the harga jual after every discount), with a [`PpnRate`]
//!   of tariff `t` basis points on a DPP share `n/d` of the price (PMK 131/2024: 1 200 bp on 11/12):
//!   - `ppn` = ⌊`total` × `n` × `t` ÷ (`d` × 10 000)⌋: rounded **down** to a whole rupiah (the tax office's rule for
//!     PPN), computed from the exact DPP, never from a rounded one. At 12 % on 11/12 this is exactly
//!     ⌊`total` × 11 ÷ 100⌋.
//!   - `dpp` = ⌊`total` × `n` ÷ `d`⌋: the DPP nilai lain has fractions of a rupiah (the law says 11/12 and says
//!     nothing about rounding it); Niaga shows and stores it rounded down, and the tax is not taken from that
//!     rounded figure. So `ppn` is at most one rupiah above ⌊`dpp` × `t` ÷ 10 000⌋, and never above the exact tax.
//!   - `total_incl_tax` = `total` + `ppn`: what the partner owes, what the gateway collects and what counts
//!     against credit.
//!
//!   Rounding once per invoice rather than per line never collects less than per-line rounding would, and at
//!   most one rupiah more per invoice less than the exact tax.
//!
//! No floating point is involved anywhere; an overflow is an error ([`QuoteError::Overflow`],
//! [`TaxError::Overflow`]), never a wrap.
//!
//! # Layout
//!
//! - `pricing`: [`PricingPolicy`] (loyalty multipliers and the minimum order), [`quote`] turning a cart and a tier's
//!   list prices into a [`Quote`], and [`Quote::check_minimum`].
//! - `tax`: [`PpnRate`], [`Ppn`] (the tax on one invoice) and [`PpnSchedule`] (which rate is in force on a day).
//! - `credit`: [`CreditPosition`], the seed-004 rule "limit minus ERP debt minus open unpaid orders", and
//!   [`PaymentTerms`].
//! - `ports`: [`PriceLists`], [`PricingSettings`] and [`TaxSettings`], implemented by the database adapter.

mod credit;
mod ports;
mod pricing;
mod tax;

pub use credit::{CreditLimitExceeded, CreditPosition, PaymentTerms, TermsError};
pub use ports::{PriceLists, PricingSettings, TaxSettings};
pub use pricing::{
    quote, BelowMinimumOrder, CartLine, PolicyError, PricedLine, PricingPolicy, Quote, QuoteError, MAX_LINES,
};
pub use tax::{tax_day, Ppn, PpnRate, PpnSchedule, RateError, TaxError};
