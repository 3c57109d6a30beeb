//! Inventory rows: sellable stock, reservation arithmetic and the lock order.

use kernel::Sku;
use std::collections::BTreeSet;

/// One inventory row. Sellable = on_hand − reserved − buffer (never below zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    pub warehouse: String,
    pub sku: Sku,
    pub on_hand: u32,
    /// Held by placed orders that have not shipped yet.
    pub reserved: u32,
    /// Safety stock that is never sold: it absorbs ERP sync lag and miscounts.
    pub buffer: u32,
}

/// Why a reservation change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    #[error("cannot reserve {requested} of {sku} at warehouse {warehouse}: only {sellable} sellable")]
    Insufficient {
        sku: Sku,
        warehouse: String,
        requested: u32,
        sellable: u32,
    },
    #[error("cannot release more of {sku} at warehouse {warehouse} than is reserved")]
    ReleaseExceedsReserved { sku: Sku, warehouse: String },
}

impl StockLevel {
    /// `on_hand − reserved − buffer`, or 0 when reservations and buffer already use up everything on hand (an ERP
    /// sync can lower `on_hand` below what was reserved).
    pub fn sellable(&self) -> u32 {
        self.on_hand.saturating_sub(self.reserved).saturating_sub(self.buffer)
    }

    /// A copy with `qty` more reserved, or Err if that would exceed sellable.
    pub fn reserve(&self, qty: u32) -> Result<StockLevel, ReserveError> {
        let sellable = self.sellable();
        let insufficient = || ReserveError::Insufficient {
            sku: self.sku.clone(),
            warehouse: self.warehouse.clone(),
            requested: qty,
            sellable,
        };
        if qty > sellable {
            return Err(insufficient());
        }
        // qty ≤ sellable ≤ on_hand − reserved, so this cannot overflow; checked so it could never wrap regardless.
        let reserved = self.reserved.checked_add(qty).ok_or_else(insufficient)?;
        Ok(StockLevel {
            reserved,
            ..self.clone()
        })
    }

    /// A copy with `qty` less reserved. Releasing more than is reserved is an error, not a clamp to zero: it means
    /// the caller's bookkeeping is wrong, and clamping would hide that.
    pub fn release(&self, qty: u32) -> Result<StockLevel, ReserveError> {
        let reserved = self
            .reserved
            .checked_sub(qty)
            .ok_or_else(|| ReserveError::ReleaseExceedsReserved {
                sku: self.sku.clone(),
                warehouse: self.warehouse.clone(),
            })?;
        Ok(StockLevel {
            reserved,
            ..self.clone()
        })
    }
}

/// The order in which a transaction must lock inventory rows so concurrent orders never deadlock: (sku, warehouse)
/// ascending. Returns the keys sorted and deduplicated.
///
/// Two transactions that lock in the same global order can wait for each other but never in a cycle. SKU first
/// matches the order of [`RoutePlan::allocations`](crate::RoutePlan).
pub fn lock_order(keys: impl IntoIterator<Item = (Sku, String)>) -> Vec<(Sku, String)> {
    keys.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(on_hand: u32, reserved: u32, buffer: u32) -> StockLevel {
        StockLevel {
            warehouse: "JKT".into(),
            sku: Sku::parse("SHM-00001").unwrap(),
            on_hand,
            reserved,
            buffer,
        }
    }

    #[test]
    fn reserving_nothing_changes_nothing() {
        let r = row(10, 2, 1);
        assert_eq!(r.reserve(0), Ok(r.clone()));
        assert_eq!(r.release(0), Ok(r));
    }

    #[test]
    fn a_row_whose_reservations_exceed_on_hand_sells_nothing() {
        assert_eq!(row(5, 8, 0).sellable(), 0);
        assert_eq!(row(u32::MAX, 0, u32::MAX).sellable(), 0);
    }
}
