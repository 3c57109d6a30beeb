//! PPN from the law (PMK 131/2024, world-facts §8): 12 % on a DPP of 11/12 of the selling price, rounded down to a
//! whole rupiah, checked against independent computations rather than the module's own arithmetic.

use chrono::{NaiveDate, TimeZone, Utc};
use commercial::{tax_day, PpnRate, PpnSchedule, RateError, TaxError};
use kernel::Money;
use proptest::prelude::*;

fn rp(n: i64) -> Money {
    Money::from_minor(n)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Prices up to a thousand trillion rupiah: far beyond any order, well inside i64.
fn price() -> impl Strategy<Value = i64> {
    0i64..=1_000_000_000_000_000
}

fn any_rate() -> impl Strategy<Value = PpnRate> {
    (0u32..=10_000, 1u32..=1_000)
        .prop_flat_map(|(t, den)| (Just(t), 1u32..=den, Just(den)))
        .prop_map(|(t, num, den)| PpnRate::new(t, num, den).unwrap())
}

proptest! {
    #[test]
    fn at_twelve_percent_on_eleven_twelfths_the_tax_is_eleven_percent_rounded_down(p in price()) {
        let tax = PpnRate::PMK_131_2024.on(rp(p)).unwrap();
        prop_assert_eq!(tax.ppn.minor(), p * 11 / 100);
        prop_assert!(i128::from(tax.ppn.minor()) * 100 <= i128::from(p) * 11, "never above 11 % of the price");
        prop_assert_eq!(tax.ppn_tariff_bp, 1_200);
        prop_assert_eq!((tax.dpp_numerator, tax.dpp_denominator), (11, 12));
    }

    #[test]
    fn the_dpp_nilai_lain_is_eleven_twelfths_of_the_price_rounded_down(p in price()) {
        let tax = PpnRate::PMK_131_2024.on(rp(p)).unwrap();
        // 12 × DPP ≤ 11 × price < 12 × (DPP + 1)
        let (dpp, p) = (i128::from(tax.dpp.minor()), i128::from(p));
        prop_assert!(12 * dpp <= 11 * p && 11 * p < 12 * (dpp + 1));
    }

    #[test]
    fn the_tax_is_the_exact_tax_rounded_down_for_any_rate(p in price(), rate in any_rate()) {
        let tax = rate.on(rp(p)).unwrap();
        let (num, den) = rate.dpp_share();
        let exact_times = i128::from(p) * i128::from(num) * i128::from(rate.tariff_bp()); // × 1 / (den × 10 000)
        let scale = i128::from(den) * 10_000;
        let ppn = i128::from(tax.ppn.minor());
        prop_assert!(ppn * scale <= exact_times, "never above the exact tax");
        prop_assert!(exact_times < (ppn + 1) * scale, "less than a rupiah below it");
        prop_assert!(tax.ppn >= Money::ZERO && tax.ppn <= tax.dpp && tax.dpp <= rp(p));
        prop_assert_eq!(tax.total_incl_tax.minor(), p + tax.ppn.minor());
    }

    #[test]
    fn the_tax_is_at_most_a_rupiah_above_the_tariff_on_the_rounded_dpp(p in price(), rate in any_rate()) {
        let tax = rate.on(rp(p)).unwrap();
        let on_shown_dpp = i128::from(tax.dpp.minor()) * i128::from(rate.tariff_bp()) / 10_000;
        let diff = i128::from(tax.ppn.minor()) - on_shown_dpp;
        prop_assert!((0..=1).contains(&diff), "ppn {} vs {} on the DPP shown", tax.ppn, on_shown_dpp);
    }

    #[test]
    fn a_dearer_order_never_carries_less_tax(a in price(), b in price(), rate in any_rate()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (lo, hi) = (rate.on(rp(lo)).unwrap(), rate.on(rp(hi)).unwrap());
        prop_assert!(lo.ppn <= hi.ppn && lo.dpp <= hi.dpp && lo.total_incl_tax <= hi.total_incl_tax);
    }

    #[test]
    fn rounding_once_per_order_never_collects_less_than_rounding_per_line(
        lines in prop::collection::vec(0i64..=10_000_000_000, 1..=100),
        rate in any_rate(),
    ) {
        let whole = rate.on(rp(lines.iter().sum())).unwrap().ppn.minor();
        let per_line: i64 = lines.iter().map(|l| rate.on(rp(*l)).unwrap().ppn.minor()).sum();
        prop_assert!(whole >= per_line);
        prop_assert!(whole - per_line < lines.len() as i64, "each line loses less than a rupiah");
    }

    #[test]
    fn a_rate_change_takes_effect_on_its_day_in_wib(offset_days in -400i64..=400, secs in 0i64..86_400) {
        let schedule = PpnSchedule::new(vec![
            (day(2022, 4, 1), PpnRate::new(1_100, 1, 1).unwrap()),
            (day(2025, 1, 1), PpnRate::PMK_131_2024),
        ])
        .unwrap();
        // Midnight WIB on 1 January 2025 is 17:00 UTC on 31 December 2024.
        let change = Utc.with_ymd_and_hms(2024, 12, 31, 17, 0, 0).unwrap();
        let at = change + chrono::Duration::days(offset_days) + chrono::Duration::seconds(secs);
        let rate = schedule.rate_at(at).unwrap();
        if at >= change {
            prop_assert_eq!(rate, PpnRate::PMK_131_2024);
        } else {
            prop_assert_eq!(rate.tariff_bp(), 1_100);
            prop_assert_eq!(rate.dpp_share(), (1, 1));
        }
    }
}

#[test]
fn an_invoice_of_one_million_two_hundred_fifty_thousand_rupiah() {
    // 1 250 000 × 11/12 = 1 145 833.33…; 12 % of the exact DPP = 137 500.
    let tax = PpnRate::PMK_131_2024.on(rp(1_250_000)).unwrap();
    assert_eq!(tax.dpp, rp(1_145_833));
    assert_eq!(tax.ppn, rp(137_500));
    assert_eq!(tax.total_incl_tax, rp(1_387_500));
    assert!(tax.is_dpp_nilai_lain());
}

#[test]
fn a_fraction_of_a_rupiah_of_tax_is_dropped_not_rounded_up() {
    // 99 × 11 % = 10.89 → 10; the DPP 90.75 → 90.
    let tax = PpnRate::PMK_131_2024.on(rp(99)).unwrap();
    assert_eq!((tax.dpp, tax.ppn), (rp(90), rp(10)));
    // 100 × 11/12 = 91.67 → DPP 91, whose 12 % (10.92) would round down to 10; the tax on the exact DPP is 11.
    let tax = PpnRate::PMK_131_2024.on(rp(100)).unwrap();
    assert_eq!((tax.dpp, tax.ppn), (rp(91), rp(11)));
    assert_eq!(PpnRate::PMK_131_2024.on(Money::ZERO).unwrap().ppn, Money::ZERO);
}

#[test]
fn the_old_regime_taxes_the_whole_price_at_eleven_percent() {
    let tax = PpnRate::new(1_100, 1, 1).unwrap().on(rp(1_250_000)).unwrap();
    assert_eq!((tax.dpp, tax.ppn), (rp(1_250_000), rp(137_500)));
    assert!(!tax.is_dpp_nilai_lain());
}

#[test]
fn a_negative_price_and_an_overflowing_total_are_errors_not_wraps() {
    assert_eq!(PpnRate::PMK_131_2024.on(rp(-1)), Err(TaxError::NegativePrice));
    assert_eq!(PpnRate::PMK_131_2024.on(rp(i64::MAX)), Err(TaxError::Overflow));
}

#[test]
fn rates_outside_the_law_s_shape_are_refused() {
    assert_eq!(PpnRate::new(10_001, 1, 1), Err(RateError::TariffOutOfRange(10_001)));
    assert_eq!(PpnRate::new(1_200, 0, 12), Err(RateError::DppShare(0, 12)));
    assert_eq!(PpnRate::new(1_200, 13, 12), Err(RateError::DppShare(13, 12)));
    assert_eq!(PpnRate::new(1_200, 1, 1_001), Err(RateError::DppShare(1, 1_001)));
    assert_eq!(PpnRate::new(1_200, 11, 12), Ok(PpnRate::PMK_131_2024));
}

#[test]
fn a_schedule_needs_a_rate_and_increasing_days_and_has_no_rate_before_its_first() {
    let r = PpnRate::PMK_131_2024;
    assert_eq!(PpnSchedule::new(vec![]), Err(RateError::EmptySchedule));
    assert_eq!(
        PpnSchedule::new(vec![(day(2025, 1, 1), r), (day(2025, 1, 1), r)]),
        Err(RateError::DatesOutOfOrder(day(2025, 1, 1)))
    );
    let s = PpnSchedule::new(vec![(day(2025, 1, 1), r)]).unwrap();
    assert_eq!(s.rate_on(day(2024, 12, 31)), Err(TaxError::NoRate(day(2024, 12, 31))));
    assert_eq!(s.rate_on(day(2030, 6, 1)), Ok(r));
}

#[test]
fn the_tax_day_is_the_wib_calendar_day() {
    assert_eq!(
        tax_day(Utc.with_ymd_and_hms(2024, 12, 31, 16, 59, 59).unwrap()),
        day(2024, 12, 31)
    );
    assert_eq!(
        tax_day(Utc.with_ymd_and_hms(2024, 12, 31, 17, 0, 0).unwrap()),
        day(2025, 1, 1)
    );
}
