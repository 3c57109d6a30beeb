//! Amounts as the ERP writes them: decimal strings with two decimals (`"1250000.00"`), to and from [`Money`].
//!
//! Rupiah have no minor unit in circulation, so the decimals are always `00`. Reading is strict about the value
//! and a little lenient about the form:
//! - a non-zero fraction is refused, not rounded: it means an amount was computed somewhere we do not know about,
//!   and a rupiah lost to rounding is a reconciliation difference later;
//! - at most two decimals: `"1.000"` is refused because in Indonesian notation it means one thousand, and reading
//!   it as one rupiah would be off by a factor of a thousand (likewise `"1.250.000,00"` is refused outright);
//! - surrounding whitespace (padded legacy columns) is ignored; `"12"` and `"12.0"` are read as twelve.
//!
//! Never through a float: digits go straight to `i64`.

use kernel::Money;

/// Why an ERP amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not an amount like \"1250000.00\"")]
    NotAnAmount(String),
    #[error("`{0}` has a fraction of a rupiah")]
    Fraction(String),
    #[error("`{0}` is negative where an amount must not be")]
    Negative(String),
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// An amount that may be negative (a receivable balance can be: a partner who overpaid holds a credit).
pub fn parse_amount(text: &str) -> Result<Money, AmountError> {
    let trimmed = text.trim();
    let bad = || AmountError::NotAnAmount(text.to_string());
    let (whole, fraction) = match trimmed.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (trimmed, None),
    };
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if let Some(f) = fraction {
        if !(1..=2).contains(&f.len()) || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if f.bytes().any(|b| b != b'0') {
            return Err(AmountError::Fraction(text.to_string()));
        }
    }
    // `whole` is an optional '-' and ASCII digits, so the only way this fails is overflow.
    whole
        .parse::<i64>()
        .map(Money::from_minor)
        .map_err(|_| AmountError::Overflow(text.to_string()))
}

/// An amount that must not be negative: prices and order totals.
pub fn parse_non_negative(text: &str) -> Result<Money, AmountError> {
    let m = parse_amount(text)?;
    if m < Money::ZERO {
        return Err(AmountError::Negative(text.to_string()));
    }
    Ok(m)
}

/// `Money` as the ERP writes it: `"1250000.00"`, `"-1500.00"`.
pub fn format_amount(m: Money) -> String {
    format!("{}.00", m.minor())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rp(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn the_documented_form_reads_as_whole_rupiah() {
        assert_eq!(parse_amount("1250000.00"), Ok(rp(1_250_000)));
        assert_eq!(parse_amount("0.00"), Ok(rp(0)));
        assert_eq!(parse_amount("-1500.00"), Ok(rp(-1_500)));
    }

    #[test]
    fn padding_and_missing_decimals_are_tolerated() {
        assert_eq!(parse_amount("  80000.00 "), Ok(rp(80_000)));
        assert_eq!(parse_amount("80000"), Ok(rp(80_000)));
        assert_eq!(parse_amount("80000.0"), Ok(rp(80_000)));
    }

    #[test]
    fn a_fraction_of_a_rupiah_is_refused_not_rounded() {
        assert_eq!(
            parse_amount("1250000.50"),
            Err(AmountError::Fraction("1250000.50".into()))
        );
        assert_eq!(parse_amount("0.01"), Err(AmountError::Fraction("0.01".into())));
    }

    #[test]
    fn indonesian_thousands_separators_are_refused_rather_than_misread() {
        for text in ["1.000", "1.250.000", "1.250.000,00", "1,250,000.00", "1250000,00"] {
            assert_eq!(parse_amount(text), Err(AmountError::NotAnAmount(text.into())), "{text}");
        }
    }

    #[test]
    fn things_that_are_not_amounts_are_refused() {
        for text in [
            "", " ", "-", ".00", "12.", "+12.00", "1e6", "abc", "12.00.00", "--1.00", "Rp 1.000",
        ] {
            assert_eq!(
                parse_amount(text),
                Err(AmountError::NotAnAmount(text.into())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn an_amount_beyond_i64_is_an_overflow_and_i64_min_is_not() {
        assert_eq!(
            parse_amount("9223372036854775808.00"),
            Err(AmountError::Overflow("9223372036854775808.00".into()))
        );
        assert_eq!(parse_amount("-9223372036854775808.00"), Ok(rp(i64::MIN)));
    }

    #[test]
    fn a_negative_price_is_refused() {
        assert_eq!(parse_non_negative("-1.00"), Err(AmountError::Negative("-1.00".into())));
        assert_eq!(parse_non_negative("-0.00"), Ok(rp(0)));
    }

    #[test]
    fn formatting_writes_two_decimals() {
        assert_eq!(format_amount(rp(1_250_000)), "1250000.00");
        assert_eq!(format_amount(rp(0)), "0.00");
        assert_eq!(format_amount(rp(-1_500)), "-1500.00");
    }

    proptest! {
        #[test]
        fn every_amount_round_trips_through_the_erp_format(minor in any::<i64>()) {
            prop_assert_eq!(parse_amount(&format_amount(rp(minor))), Ok(rp(minor)));
        }

        #[test]
        fn every_non_negative_amount_round_trips_as_a_price(minor in 0i64..=i64::MAX) {
            prop_assert_eq!(parse_non_negative(&format_amount(rp(minor))), Ok(rp(minor)));
        }

        #[test]
        fn reading_never_panics_and_what_it_accepts_formats_back_to_the_same_value(text in "[-+ .,0-9a-z]{0,24}") {
            if let Ok(m) = parse_amount(&text) {
                prop_assert_eq!(parse_amount(&format_amount(m)), Ok(m));
            }
        }

        #[test]
        fn any_non_zero_fraction_is_refused(whole in 0i64..1_000_000_000_000, cents in 1u32..100) {
            let text = format!("{whole}.{cents:02}");
            prop_assert_eq!(parse_amount(&text), Err(AmountError::Fraction(text.clone())));
        }
    }
}
