//! Sellable stock, reservation arithmetic and the lock order.

use kernel::Sku;
use proptest::prelude::*;
use supply::{lock_order, ReserveError, StockLevel};

fn row(on_hand: u32, reserved: u32, buffer: u32) -> StockLevel {
    StockLevel {
        warehouse: "JKT".into(),
        sku: Sku::parse("SHM-00001").unwrap(),
        on_hand,
        reserved,
        buffer,
    }
}

fn sku_code() -> impl Strategy<Value = Sku> {
    "[A-C]{3}-[0-9]{1,2}".prop_map(|s| Sku::parse(&s).unwrap())
}

proptest! {
    #[test]
    fn sellable_is_on_hand_less_reserved_and_buffer_and_never_negative(
        on_hand in any::<u32>(),
        reserved in any::<u32>(),
        buffer in any::<u32>(),
    ) {
        let exact = i64::from(on_hand) - i64::from(reserved) - i64::from(buffer);
        prop_assert_eq!(i64::from(row(on_hand, reserved, buffer).sellable()), exact.max(0));
    }

    #[test]
    fn a_reservation_within_sellable_round_trips_through_release(
        on_hand in 0u32..100_000,
        reserved in 0u32..100_000,
        buffer in 0u32..1_000,
        pick in any::<prop::sample::Index>(),
    ) {
        let r = row(on_hand, reserved, buffer);
        let qty = pick.index(r.sellable() as usize + 1) as u32;
        let held = r.reserve(qty).unwrap();
        prop_assert_eq!(held.reserved, r.reserved + qty);
        prop_assert_eq!(held.sellable(), r.sellable() - qty);
        prop_assert_eq!((held.on_hand, held.buffer, &held.sku, &held.warehouse), (r.on_hand, r.buffer, &r.sku, &r.warehouse));
        prop_assert_eq!(held.release(qty).unwrap(), r);
    }

    #[test]
    fn a_reservation_beyond_sellable_is_refused_with_the_numbers(
        on_hand in 0u32..100_000,
        reserved in 0u32..100_000,
        buffer in 0u32..1_000,
        over in 1u32..1_000,
    ) {
        let r = row(on_hand, reserved, buffer);
        let qty = r.sellable() + over;
        prop_assert_eq!(
            r.reserve(qty),
            Err(ReserveError::Insufficient {
                sku: r.sku.clone(),
                warehouse: r.warehouse.clone(),
                requested: qty,
                sellable: r.sellable(),
            })
        );
    }

    #[test]
    fn releasing_more_than_is_reserved_is_refused(reserved in 0u32..100_000, over in 1u32..1_000) {
        let r = row(200_000, reserved, 0);
        prop_assert_eq!(
            r.release(reserved + over),
            Err(ReserveError::ReleaseExceedsReserved { sku: r.sku.clone(), warehouse: r.warehouse.clone() })
        );
    }

    #[test]
    fn lock_order_is_strictly_ascending_and_keeps_every_distinct_key(
        keys in prop::collection::vec((sku_code(), "[A-C]{1,2}"), 0..40),
    ) {
        let ordered = lock_order(keys.clone());
        prop_assert!(ordered.windows(2).all(|w| w[0] < w[1]));
        for k in &keys {
            prop_assert!(ordered.contains(k));
        }
        prop_assert!(ordered.iter().all(|k| keys.contains(k)));
    }
}

#[test]
fn buffer_stock_is_never_sellable() {
    let r = row(55, 0, 5);
    assert_eq!(r.sellable(), 50);
    assert!(r.reserve(50).is_ok());
    let e = r.reserve(51).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot reserve 51 of SHM-00001 at warehouse JKT: only 50 sellable"
    );
}

#[test]
fn releasing_frees_the_units_for_the_next_order() {
    let full = row(10, 0, 2).reserve(8).unwrap();
    assert_eq!(full.sellable(), 0);
    assert!(full.reserve(1).is_err());
    let freed = full.release(3).unwrap();
    assert_eq!((freed.reserved, freed.sellable()), (5, 3));
    assert!(freed.release(6).is_err());
}

#[test]
fn lock_order_sorts_by_sku_then_warehouse_and_drops_repeats() {
    let s = |x: &str| Sku::parse(x).unwrap();
    let got = lock_order([
        (s("BBB-1"), "JKT".to_string()),
        (s("AAA-1"), "SUB".to_string()),
        (s("BBB-1"), "BDG".to_string()),
        (s("AAA-1"), "SUB".to_string()),
        (s("AAA-1"), "BDG".to_string()),
    ]);
    assert_eq!(
        got,
        [
            (s("AAA-1"), "BDG".to_string()),
            (s("AAA-1"), "SUB".to_string()),
            (s("BBB-1"), "BDG".to_string()),
            (s("BBB-1"), "JKT".to_string()),
        ]
    );
    assert!(lock_order([]).is_empty());
}
