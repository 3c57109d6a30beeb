//! Money as integer minor units of Indonesian rupiah.
//!
//! Rupiah has no minor unit in circulation, so one minor unit is one rupiah. Amounts are `i64`, which holds
//! 9.2 × 10^18 rupiah: far beyond any order. Arithmetic is checked; an overflow is an error, never a wrap.
//!
//! Rounding rule, written down once: where a computation produces a fraction of a rupiah (a multiplier in
//! basis points, for example), the result rounds half away from zero to a whole rupiah.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of rupiah. May be negative (refunds, adjustments); prices are checked non-negative where parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// An amount in whole rupiah.
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// A price: a non-negative amount.
    pub fn price(minor: i64) -> Result<Self, MoneyError> {
        if minor < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Money(minor))
        }
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0.checked_add(other.0).map(Money).ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0.checked_sub(other.0).map(Money).ok_or(MoneyError::Overflow)
    }

    /// `self × quantity`.
    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(i64::from(quantity))
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × bp / 10 000`, rounded half away from zero (the house rounding rule).
    pub fn scale_basis_points(self, bp: u32) -> Result<Money, MoneyError> {
        let product = i128::from(self.0) * i128::from(bp);
        let q = product / 10_000;
        let r = product % 10_000;
        let rounded = if r.abs() * 2 >= 10_000 { q + product.signum() } else { q };
        i64::try_from(rounded).map(Money).map_err(|_| MoneyError::Overflow)
    }
}

impl fmt::Display for Money {
    /// `Rp 1.250.000` style grouping, as Indonesian invoices print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}Rp {grouped}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_groups_thousands_with_dots() {
        assert_eq!(Money::from_minor(1_250_000).to_string(), "Rp 1.250.000");
        assert_eq!(Money::from_minor(-999).to_string(), "-Rp 999");
    }

    #[test]
    fn scaling_rounds_half_away_from_zero() {
        assert_eq!(
            Money::from_minor(5).scale_basis_points(5_000).unwrap(),
            Money::from_minor(3)
        );
        assert_eq!(
            Money::from_minor(-5).scale_basis_points(5_000).unwrap(),
            Money::from_minor(-3)
        );
        assert_eq!(
            Money::from_minor(4).scale_basis_points(5_000).unwrap(),
            Money::from_minor(2)
        );
    }

    #[test]
    fn a_negative_price_is_refused() {
        assert_eq!(Money::price(-1), Err(MoneyError::Negative));
    }

    proptest! {
        #[test]
        fn scaling_stays_within_half_a_rupiah_of_the_exact_value(minor in 0i64..1_000_000_000_000, bp in 0u32..100_000) {
            let got = Money::from_minor(minor).scale_basis_points(bp).unwrap().minor();
            let exact_times_10k = i128::from(minor) * i128::from(bp);
            let diff = (i128::from(got) * 10_000 - exact_times_10k).abs();
            prop_assert!(diff <= 5_000);
        }

        #[test]
        fn scaling_is_monotone_in_the_amount(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000, bp in 0u32..50_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(Money::from_minor(lo).scale_basis_points(bp).unwrap() <= Money::from_minor(hi).scale_basis_points(bp).unwrap());
        }
    }
}

impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "description": "An amount in whole rupiah (IDR has no minor unit in use); never a float.",
        })
    }
}

/// The currency of every amount Niaga handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Currency {
    #[serde(rename = "IDR")]
    Idr,
}
