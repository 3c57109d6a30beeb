//! What the ERP's feeds mean to Niaga, in Niaga's types: stock on hand, the movements of goods for Niaga's orders
//! (shipments and returns), receivable balances and cost prices.

use chrono::{DateTime, Utc};
use kernel::{Money, Sku};

/// A feed as of one time. Rows the ERP sent that did not translate (a bad SKU, a negative quantity, an amount that
/// is not one) are left out and counted in `skipped`, and each was logged: one bad row must not hold back the
/// rest, but a sync should watch the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<T> {
    /// The ERP's `Per`: when its numbers were true.
    pub as_of: DateTime<Utc>,
    /// The ERP's `Urutan`: the last movement it had booked. Stock numbers include every movement up to it, and a
    /// movement feed holds nothing after it. `None` when the ERP did not say.
    pub seq: Option<u64>,
    pub rows: Vec<T>,
    pub skipped: usize,
}

/// A shipment or return the ERP booked, in supply's terms: the ERP is where goods move, supply says what that does
/// to Niaga's stock.
pub type ErpMovement = supply::movements::Movement;
pub use supply::movements::{MovedLine, MovementKind};

/// Physical stock the ERP counts at one warehouse. It knows nothing of Niaga's reservations or buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpStock {
    pub warehouse: String,
    pub sku: Sku,
    pub on_hand: u32,
}

/// What a partner owes, per the ERP's receivables. Negative when the partner holds a credit (overpaid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpBalance {
    pub partner_id: i64,
    pub outstanding: Money,
}

/// What one unit of a SKU cost, per the ERP; never negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpCostPrice {
    pub sku: Sku,
    pub cost: Money,
}
