//! The pricing engine's arithmetic and refusals, checked against an independent computation.

use commercial::{quote, BelowMinimumOrder, CartLine, PolicyError, PricingPolicy, Quote, QuoteError, MAX_LINES};
use kernel::{Money, Quantity, Sku, Tier};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn sku(n: u32) -> Sku {
    Sku::parse(&format!("SKU-{n:05}")).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(i64::from(n)).unwrap()
}

/// A policy with the same multiplier for every tier.
fn flat_policy(bp: u32, minimum: i64) -> PricingPolicy {
    PricingPolicy::new(Tier::ALL.map(|t| (t, bp)), Money::from_minor(minimum)).unwrap()
}

/// The seeded system_config values.
fn seeded_policy() -> PricingPolicy {
    PricingPolicy::new(
        [
            (Tier::Bronze, 10_000),
            (Tier::Silver, 9_750),
            (Tier::Gold, 9_500),
            (Tier::Platinum, 9_250),
        ],
        Money::from_minor(500_000),
    )
    .unwrap()
}

/// Half away from zero, computed without kernel::Money, for non-negative amounts.
fn expected_unit_price(list: i64, bp: u32) -> i64 {
    let exact = i128::from(list) * i128::from(bp);
    i64::try_from((exact + 5_000) / 10_000).unwrap()
}

/// A cart of distinct SKUs in a random order, with a list price for each.
fn cart_and_prices() -> impl Strategy<Value = (Vec<CartLine>, BTreeMap<Sku, Money>)> {
    prop::collection::btree_set(0u32..100_000, 1..=30)
        .prop_map(|ids| ids.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
        .prop_flat_map(|ids| {
            let n = ids.len();
            (
                Just(ids),
                prop::collection::vec(1u32..=Quantity::MAX, n),
                prop::collection::vec(0i64..=1_000_000_000, n),
            )
        })
        .prop_map(|(ids, qtys, prices)| {
            let cart = ids
                .iter()
                .zip(&qtys)
                .map(|(id, q)| CartLine {
                    sku: sku(*id),
                    quantity: qty(*q),
                })
                .collect();
            let list = ids
                .iter()
                .zip(&prices)
                .map(|(id, p)| (sku(*id), Money::from_minor(*p)))
                .collect();
            (cart, list)
        })
}

fn any_tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

fn any_policy() -> impl Strategy<Value = PricingPolicy> {
    (prop::array::uniform4(5_000u32..=10_000), 0i64..=10_000_000)
        .prop_map(|(bps, min)| PricingPolicy::new(Tier::ALL.into_iter().zip(bps), Money::from_minor(min)).unwrap())
}

proptest! {
    #[test]
    fn a_quote_adds_up_and_every_unit_price_follows_the_rounding_rule(
        (cart, prices) in cart_and_prices(),
        tier in any_tier(),
        policy in any_policy(),
    ) {
        let q = quote(tier, &cart, &prices, &policy).unwrap();
        let bp = policy.multiplier_bp(tier);
        prop_assert_eq!(q.tier, tier);
        prop_assert_eq!(q.multiplier_bp, bp);
        prop_assert_eq!(q.minimum_order, policy.minimum_order());
        prop_assert_eq!(q.lines.len(), cart.len());

        let mut total: i128 = 0;
        let mut list_total: i128 = 0;
        for (line, cart_line) in q.lines.iter().zip(&cart) {
            // Lines keep the cart's order.
            prop_assert_eq!(&line.sku, &cart_line.sku);
            prop_assert_eq!(line.quantity, cart_line.quantity);
            let list = prices[&line.sku].minor();
            prop_assert_eq!(line.list_price.minor(), list);
            prop_assert_eq!(line.unit_price.minor(), expected_unit_price(list, bp));
            prop_assert_eq!(
                i128::from(line.line_total.minor()),
                i128::from(line.unit_price.minor()) * i128::from(line.quantity.get())
            );
            prop_assert!(line.unit_price >= Money::ZERO && line.unit_price <= line.list_price);
            prop_assert!(line.line_total >= Money::ZERO);
            total += i128::from(line.line_total.minor());
            list_total += i128::from(list) * i128::from(line.quantity.get());
        }
        prop_assert_eq!(i128::from(q.total.minor()), total);
        prop_assert_eq!(i128::from(q.list_total.minor()), list_total);
        prop_assert_eq!(i128::from(q.discount.minor()), list_total - total);
        prop_assert!(q.discount >= Money::ZERO);
        prop_assert!(q.total >= Money::ZERO);
    }

    #[test]
    fn raising_one_line_quantity_never_lowers_the_total(
        (cart, prices) in cart_and_prices(),
        tier in any_tier(),
        policy in any_policy(),
        pick in any::<prop::sample::Index>(),
        extra in 0u32..Quantity::MAX,
    ) {
        let before = quote(tier, &cart, &prices, &policy).unwrap();
        let mut bigger = cart.clone();
        let i = pick.index(bigger.len());
        bigger[i].quantity = qty((bigger[i].quantity.get() + extra).min(Quantity::MAX));
        let after = quote(tier, &bigger, &prices, &policy).unwrap();
        prop_assert!(after.total >= before.total);
        prop_assert!(after.list_total >= before.list_total);
    }

    #[test]
    fn a_full_price_multiplier_charges_the_list_total((cart, prices) in cart_and_prices(), tier in any_tier()) {
        let q = quote(tier, &cart, &prices, &flat_policy(10_000, 0)).unwrap();
        prop_assert_eq!(q.total, q.list_total);
        prop_assert_eq!(q.discount, Money::ZERO);
        for line in &q.lines {
            prop_assert_eq!(line.unit_price, line.list_price);
        }
    }

    #[test]
    fn a_deeper_multiplier_never_charges_more(
        (cart, prices) in cart_and_prices(),
        a in 5_000u32..=10_000,
        b in 5_000u32..=10_000,
    ) {
        let (deep, shallow) = if a <= b { (a, b) } else { (b, a) };
        let cheap = quote(Tier::Gold, &cart, &prices, &flat_policy(deep, 0)).unwrap();
        let dear = quote(Tier::Gold, &cart, &prices, &flat_policy(shallow, 0)).unwrap();
        prop_assert!(cheap.total <= dear.total);
    }

    #[test]
    fn the_minimum_check_refuses_exactly_the_totals_below_the_minimum(
        (cart, prices) in cart_and_prices(),
        offset in -1_000i64..=1_000,
    ) {
        // Minimums close to the total, on both sides of it, so both outcomes and the boundary are exercised.
        let priced = quote(Tier::Silver, &cart, &prices, &flat_policy(9_750, 0)).unwrap();
        let minimum = (priced.total.minor() + offset).max(0);
        let q = Quote { minimum_order: Money::from_minor(minimum), ..priced };
        match q.check_minimum() {
            Ok(()) => prop_assert!(q.total.minor() >= minimum),
            Err(e) => {
                prop_assert!(q.total.minor() < minimum);
                prop_assert_eq!(e.total, q.total);
                prop_assert_eq!(e.minimum.minor(), minimum);
                prop_assert_eq!(e.short_by.minor(), minimum - q.total.minor());
                prop_assert!(e.short_by > Money::ZERO);
            }
        }
    }
}

#[test]
fn half_a_rupiah_rounds_up_and_the_line_total_is_not_rounded_again() {
    let cart = [CartLine {
        sku: sku(1),
        quantity: qty(3),
    }];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(50))]);
    // 50 × 0.95 = 47.5 → 48 per unit; 3 units are 144, not round(142.5).
    let q = quote(Tier::Gold, &cart, &prices, &seeded_policy()).unwrap();
    assert_eq!(q.lines[0].unit_price, Money::from_minor(48));
    assert_eq!(q.lines[0].line_total, Money::from_minor(144));
    assert_eq!(q.list_total, Money::from_minor(150));
    assert_eq!(q.discount, Money::from_minor(6));
}

#[test]
fn each_tier_is_priced_with_its_own_multiplier() {
    let cart = [CartLine {
        sku: sku(1),
        quantity: qty(2),
    }];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(1_000_000))]);
    let totals: Vec<i64> = Tier::ALL
        .iter()
        .map(|t| quote(*t, &cart, &prices, &seeded_policy()).unwrap().total.minor())
        .collect();
    assert_eq!(totals, [2_000_000, 1_950_000, 1_900_000, 1_850_000]);
}

#[test]
fn an_empty_cart_is_refused() {
    assert_eq!(
        quote(Tier::Bronze, &[], &BTreeMap::new(), &seeded_policy()),
        Err(QuoteError::EmptyCart)
    );
}

#[test]
fn a_sku_on_two_lines_is_refused_and_named() {
    let cart = [
        CartLine {
            sku: sku(1),
            quantity: qty(1),
        },
        CartLine {
            sku: sku(2),
            quantity: qty(1),
        },
        CartLine {
            sku: sku(1),
            quantity: qty(4),
        },
    ];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(10)), (sku(2), Money::from_minor(10))]);
    let err = quote(Tier::Bronze, &cart, &prices, &seeded_policy()).unwrap_err();
    assert_eq!(err, QuoteError::DuplicateSku(sku(1)));
    assert!(err.to_string().contains("SKU-00001"), "{err}");
}

#[test]
fn a_sku_without_a_price_is_refused_and_named() {
    let cart = [
        CartLine {
            sku: sku(1),
            quantity: qty(1),
        },
        CartLine {
            sku: sku(2),
            quantity: qty(1),
        },
    ];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(10))]);
    let err = quote(Tier::Platinum, &cart, &prices, &seeded_policy()).unwrap_err();
    assert_eq!(err, QuoteError::NoPrice(sku(2)));
    assert!(err.to_string().contains("SKU-00002"), "{err}");
}

#[test]
fn a_negative_list_price_counts_as_no_price() {
    let cart = [CartLine {
        sku: sku(1),
        quantity: qty(1),
    }];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(-1))]);
    assert_eq!(
        quote(Tier::Bronze, &cart, &prices, &seeded_policy()),
        Err(QuoteError::NoPrice(sku(1)))
    );
}

#[test]
fn more_than_a_hundred_lines_are_refused_and_a_hundred_are_not() {
    let cart: Vec<CartLine> = (0..=MAX_LINES as u32)
        .map(|i| CartLine {
            sku: sku(i),
            quantity: qty(1),
        })
        .collect();
    let prices: BTreeMap<Sku, Money> = cart.iter().map(|l| (l.sku.clone(), Money::from_minor(1_000))).collect();
    assert_eq!(MAX_LINES, 100);
    assert_eq!(
        quote(Tier::Bronze, &cart, &prices, &seeded_policy()),
        Err(QuoteError::TooManyLines { max: 100 })
    );
    let q = quote(Tier::Bronze, &cart[..MAX_LINES], &prices, &seeded_policy()).unwrap();
    assert_eq!(q.lines.len(), 100);
}

#[test]
fn an_astronomical_total_is_an_overflow_not_a_wrap() {
    let cart = [CartLine {
        sku: sku(1),
        quantity: qty(Quantity::MAX),
    }];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(i64::MAX / 1_000))]);
    assert_eq!(
        quote(Tier::Bronze, &cart, &prices, &seeded_policy()),
        Err(QuoteError::Overflow)
    );
}

fn quote_with_total(total: i64, minimum: i64) -> Quote {
    let cart = [CartLine {
        sku: sku(1),
        quantity: qty(1),
    }];
    let prices = BTreeMap::from([(sku(1), Money::from_minor(total))]);
    quote(Tier::Bronze, &cart, &prices, &flat_policy(10_000, minimum)).unwrap()
}

#[test]
fn a_total_below_the_minimum_is_refused_with_the_shortfall() {
    let err = quote_with_total(499_000, 500_000).check_minimum().unwrap_err();
    assert_eq!(
        err,
        BelowMinimumOrder {
            total: Money::from_minor(499_000),
            minimum: Money::from_minor(500_000),
            short_by: Money::from_minor(1_000),
        }
    );
    assert_eq!(
        err.to_string(),
        "order total Rp 499.000 is below the minimum order of Rp 500.000: Rp 1.000 short"
    );
}

#[test]
fn a_total_of_exactly_the_minimum_is_accepted() {
    assert_eq!(quote_with_total(500_000, 500_000).check_minimum(), Ok(()));
}

#[test]
fn a_policy_missing_a_tier_is_refused() {
    let three = [(Tier::Bronze, 10_000), (Tier::Silver, 9_750), (Tier::Platinum, 9_250)];
    assert_eq!(
        PricingPolicy::new(three, Money::ZERO),
        Err(PolicyError::MissingTier(Tier::Gold))
    );
    assert_eq!(
        PricingPolicy::new([], Money::ZERO),
        Err(PolicyError::MissingTier(Tier::Bronze))
    );
}

#[test]
fn multipliers_outside_half_to_full_price_are_refused() {
    for bad in [0, 4_999, 10_001, 20_000] {
        let bps = Tier::ALL.map(|t| (t, if t == Tier::Silver { bad } else { 9_000 }));
        assert_eq!(
            PricingPolicy::new(bps, Money::ZERO),
            Err(PolicyError::MultiplierOutOfRange {
                tier: Tier::Silver,
                bp: bad
            })
        );
    }
    for edge in [5_000, 10_000] {
        let p = PricingPolicy::new(Tier::ALL.map(|t| (t, edge)), Money::ZERO).unwrap();
        assert!(Tier::ALL.iter().all(|t| p.multiplier_bp(*t) == edge));
    }
}

#[test]
fn a_negative_minimum_order_is_refused() {
    assert_eq!(
        PricingPolicy::new(Tier::ALL.map(|t| (t, 10_000)), Money::from_minor(-1)),
        Err(PolicyError::NegativeMinimum)
    );
}

#[test]
fn the_seeded_settings_make_a_valid_policy() {
    let p = seeded_policy();
    assert_eq!(p.multiplier_bp(Tier::Bronze), 10_000);
    assert_eq!(p.multiplier_bp(Tier::Silver), 9_750);
    assert_eq!(p.multiplier_bp(Tier::Gold), 9_500);
    assert_eq!(p.multiplier_bp(Tier::Platinum), 9_250);
    assert_eq!(p.minimum_order(), Money::from_minor(500_000));
}
