//! Goods that moved in the ERP, the book of record: a shipment takes units out of a warehouse for an order, a
//! return brings them back into stock. How each moves Niaga's copy of the stock.
//!
//! Two numbers per (warehouse, SKU) row, and one rule each:
//! - **reserved** is what live orders hold and the ERP has not yet shipped. Checkout adds to it; a cancelled or
//!   expired unpaid order gives its units back; a shipment *consumes* what it shipped of an order's line
//!   ([`consumed`]). Nothing else touches it, so it is always the unshipped quantity of live orders.
//! - **on hand** is the ERP's count. The ERP numbers its movements (`seq`) and says, with each stock snapshot, up
//!   to which movement its count includes. A row remembers the movement its count includes; a movement applied
//!   later than that moves the count ([`on_hand_after`]); a movement the count already includes does not. A
//!   snapshot sets the count to the ERP's number, less what moved after it that Niaga already applied
//!   ([`on_hand_from_snapshot`]). So whatever order the feeds arrive in, every unit is counted once, and after a
//!   sync that has read every movement, on hand is exactly the ERP's count.
//!
//! On hand may fall below reserved (the ERP shipped goods whose delivery note has not been read yet, or sold them
//! elsewhere): sellable is then zero, as [`crate::StockLevel::sellable`] says, never negative.

use kernel::Sku;

/// Which way goods moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// Out of the warehouse to the customer.
    Shipment,
    /// Back into the warehouse's stock.
    Return,
}

impl MovementKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            MovementKind::Shipment => "shipment",
            MovementKind::Return => "return",
        }
    }
}

/// One shipment or return the ERP booked: its document number (unique in the ERP), its place in the ERP's
/// booking order, the order it is for, and what moved where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub document_no: String,
    pub kind: MovementKind,
    /// The ERP's movement number, from 1, in booking order.
    pub seq: u64,
    /// The Niaga order (the sales order's external reference), or `None` for goods the ERP moved for a sale it
    /// took elsewhere: those still change on hand, and consume no reservation.
    pub order_ref: Option<String>,
    pub lines: Vec<MovedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedLine {
    pub warehouse: String,
    pub sku: Sku,
    pub quantity: u32,
}

/// On hand after applying a movement of `quantity` units with number `movement_seq` to a row whose count includes
/// movements up to `row_seq`. A movement the count already includes changes nothing; otherwise a shipment takes the
/// units away (never below zero: the ERP cannot ship what it does not have, so zero means our copy was behind) and
/// a return adds them.
pub fn on_hand_after(on_hand: u32, row_seq: u64, movement_seq: u64, kind: MovementKind, quantity: u32) -> u32 {
    if movement_seq <= row_seq {
        return on_hand;
    }
    match kind {
        MovementKind::Shipment => on_hand.saturating_sub(quantity),
        MovementKind::Return => on_hand.saturating_add(quantity),
    }
}

/// On hand from a snapshot whose count `erp_on_hand` includes movements up to its own number, given what Niaga
/// has already applied of the movements after it: `shipped_after` units out, `returned_after` units back.
pub fn on_hand_from_snapshot(erp_on_hand: u32, shipped_after: u64, returned_after: u64) -> u32 {
    let n = i128::from(erp_on_hand) - i128::from(shipped_after) + i128::from(returned_after);
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Whether a snapshot that includes movements up to `snapshot_seq` may replace a row whose count includes
/// movements up to `row_seq`: never an older one, which would bring back goods already shipped.
pub const fn snapshot_is_current(snapshot_seq: u64, row_seq: u64) -> bool {
    snapshot_seq >= row_seq
}

/// How much of a line's reservation a shipment of `quantity` consumes: what it ships of the line's `open` (ordered,
/// not yet shipped) units. The ERP, the book of record, may ship more than Niaga thinks is open (a correction on
/// its side); the surplus consumes nothing, as nothing is reserved for it.
pub const fn consumed(open: u32, quantity: u32) -> u32 {
    if quantity < open {
        quantity
    } else {
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_movement_the_count_already_includes_changes_nothing() {
        assert_eq!(on_hand_after(10, 7, 7, MovementKind::Shipment, 4), 10);
        assert_eq!(on_hand_after(10, 7, 3, MovementKind::Return, 4), 10);
        assert_eq!(on_hand_after(10, 7, 8, MovementKind::Shipment, 4), 6);
        assert_eq!(on_hand_after(10, 7, 8, MovementKind::Return, 4), 14);
    }

    #[test]
    fn a_shipment_never_takes_on_hand_below_zero_and_a_shipment_consumes_at_most_what_is_open() {
        assert_eq!(on_hand_after(3, 0, 1, MovementKind::Shipment, 5), 0);
        assert_eq!(consumed(4, 3), 3);
        assert_eq!(consumed(4, 9), 4);
        assert_eq!(on_hand_from_snapshot(2, 5, 1), 0);
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_count() {
        assert!(snapshot_is_current(5, 5));
        assert!(snapshot_is_current(6, 5));
        assert!(!snapshot_is_current(4, 5));
    }

    proptest! {
        /// The ERP's count moves by every movement; Niaga applies the same movements and some snapshot, in any
        /// order. Once every movement is applied, on hand is the ERP's count, whichever snapshot came when.
        #[test]
        fn every_unit_is_counted_once_whatever_the_order_of_movements_and_snapshot(
            start in 0u32..50,
            moves in prop::collection::vec((any::<bool>(), 1u32..6), 0..12),
            snapshot_at in 0usize..13,
            applied_before in 0usize..13,
        ) {
            // The ERP's book: a count per movement number.
            let mut book = vec![start];
            let mut kinds = Vec::new();
            for (ship, q) in &moves {
                let last = *book.last().unwrap();
                let (kind, q) = if *ship && last >= *q {
                    (MovementKind::Shipment, *q)
                } else {
                    (MovementKind::Return, *q)
                };
                book.push(match kind { MovementKind::Shipment => last - q, MovementKind::Return => last + q });
                kinds.push((kind, q));
            }
            let snapshot_seq = snapshot_at.min(moves.len());
            let applied_before = applied_before.min(moves.len());
            // Niaga starts from the ERP's count before any movement, applies some movements, then the snapshot,
            // then the rest.
            let (mut on_hand, mut row_seq) = (start, 0u64);
            let apply = |on_hand: &mut u32, row_seq: u64, i: usize| {
                let (kind, q) = kinds[i];
                *on_hand = on_hand_after(*on_hand, row_seq, i as u64 + 1, kind, q);
            };
            for i in 0..applied_before {
                apply(&mut on_hand, row_seq, i);
            }
            if snapshot_is_current(snapshot_seq as u64, row_seq) {
                let after = |k: MovementKind| -> u64 {
                    kinds[..applied_before]
                        .iter()
                        .enumerate()
                        .filter(|(i, (kind, _))| *i as u64 + 1 > snapshot_seq as u64 && *kind == k)
                        .map(|(_, (_, q))| u64::from(*q))
                        .sum()
                };
                on_hand = on_hand_from_snapshot(
                    book[snapshot_seq],
                    after(MovementKind::Shipment),
                    after(MovementKind::Return),
                );
                row_seq = snapshot_seq as u64;
            }
            for i in applied_before..moves.len() {
                apply(&mut on_hand, row_seq, i);
            }
            prop_assert_eq!(on_hand, *book.last().unwrap());
        }
    }
}
