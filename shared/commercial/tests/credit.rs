//! The credit-limit rule: limit minus ERP debt minus open unpaid orders.

use commercial::{CreditLimitExceeded, CreditPosition};
use kernel::Money;
use proptest::prelude::*;

fn position(limit: i64, erp_debt: i64, open_unpaid: i64) -> CreditPosition {
    CreditPosition {
        limit: Money::from_minor(limit),
        erp_debt: Money::from_minor(erp_debt),
        open_unpaid: Money::from_minor(open_unpaid),
    }
}

/// Amounts as the database allows them: non-negative, and far from i64's limits.
fn realistic() -> impl Strategy<Value = CreditPosition> {
    (
        0i64..=1_000_000_000_000,
        0i64..=1_000_000_000_000,
        0i64..=1_000_000_000_000,
    )
        .prop_map(|(l, d, o)| position(l, d, o))
}

proptest! {
    #[test]
    fn an_order_is_accepted_exactly_when_it_fits_the_available_credit(
        p in realistic(),
        total in 0i64..=3_000_000_000_000,
    ) {
        let available = p.limit.minor() - p.erp_debt.minor() - p.open_unpaid.minor();
        prop_assert_eq!(p.available().minor(), available);
        match p.check(Money::from_minor(total)) {
            Ok(()) => prop_assert!(total <= available),
            Err(e) => {
                prop_assert!(total > available);
                prop_assert!(e.short_by > Money::ZERO);
                prop_assert_eq!(e.short_by.minor(), total - available);
                prop_assert_eq!(
                    e,
                    CreditLimitExceeded {
                        limit: p.limit,
                        erp_debt: p.erp_debt,
                        open_unpaid: p.open_unpaid,
                        available: Money::from_minor(available),
                        order_total: Money::from_minor(total),
                        short_by: Money::from_minor(total - available),
                    }
                );
            }
        }
    }

    #[test]
    fn the_decision_is_exact_over_the_whole_money_range(
        l in any::<i64>(),
        d in any::<i64>(),
        o in any::<i64>(),
        total in any::<i64>(),
    ) {
        let p = position(l, d, o);
        let exact = i128::from(l) - i128::from(d) - i128::from(o);
        let accepted = p.check(Money::from_minor(total)).is_ok();
        prop_assert_eq!(accepted, i128::from(total) <= exact);
        if let Err(e) = p.check(Money::from_minor(total)) {
            prop_assert!(e.short_by > Money::ZERO);
        }
    }

    #[test]
    fn once_a_total_is_refused_every_larger_total_is_refused_too(
        p in realistic(),
        total in 0i64..=3_000_000_000_000,
        more in 0i64..=1_000_000_000_000,
    ) {
        if p.check(Money::from_minor(total)).is_err() {
            let larger = p.check(Money::from_minor(total + more));
            prop_assert!(larger.is_err());
            prop_assert!(larger.unwrap_err().short_by.minor() >= p.check(Money::from_minor(total)).unwrap_err().short_by.minor());
        }
    }

    #[test]
    fn a_negative_available_refuses_every_positive_total(
        limit in 0i64..=1_000_000_000,
        over in 1i64..=1_000_000_000,
        split in 0i64..=100,
        total in 1i64..=1_000_000_000_000,
    ) {
        // Debt and open orders together exceed the limit by `over`, shared between them in some proportion.
        let owed = limit + over;
        let debt = owed * split / 100;
        let p = position(limit, debt, owed - debt);
        prop_assert!(p.available() < Money::ZERO);
        let e = p.check(Money::from_minor(total)).unwrap_err();
        prop_assert_eq!(e.short_by.minor(), total + over);
    }
}

#[test]
fn open_unpaid_orders_count_against_the_limit_before_the_erp_knows_them() {
    let p = position(10_000_000, 6_000_000, 3_000_000);
    assert_eq!(p.available(), Money::from_minor(1_000_000));
    assert_eq!(p.check(Money::from_minor(1_000_000)), Ok(()));
    let e = p.check(Money::from_minor(1_250_000)).unwrap_err();
    assert_eq!(e.short_by, Money::from_minor(250_000));
    assert_eq!(
        e.to_string(),
        "order total Rp 1.250.000 exceeds available credit Rp 1.000.000 by Rp 250.000"
    );
}

#[test]
fn debt_that_grew_past_the_limit_leaves_a_negative_available() {
    let p = position(5_000_000, 5_500_000, 0);
    assert_eq!(p.available(), Money::from_minor(-500_000));
    assert_eq!(
        p.check(Money::from_minor(1)).unwrap_err().short_by,
        Money::from_minor(500_001)
    );
}
