//! Order quantities.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A quantity of one SKU on one order line: at least 1 and at most [`Quantity::MAX`].
///
/// The cap keeps line totals far from overflow and stops a typo (or a fuzzer) from reserving a warehouse's
/// whole stock in one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be a whole number from 1 to {max}", max = Quantity::MAX)]
pub struct QuantityError;

impl Quantity {
    pub const MAX: u32 = 10_000;

    pub fn new(n: i64) -> Result<Self, QuantityError> {
        if (1..=i64::from(Self::MAX)).contains(&n) {
            Ok(Quantity(n as u32))
        } else {
            Err(QuantityError)
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Whole;
        impl serde::de::Visitor<'_> for Whole {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number from 1 to {}", Quantity::MAX)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Quantity, E> {
                Quantity::new(n).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Quantity, E> {
                Quantity::new(i64::try_from(n).unwrap_or(i64::MAX)).map_err(E::custom)
            }
        }
        d.deserialize_i64(Whole)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": Quantity::MAX })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_negative_and_enormous_quantities_are_refused() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-1).is_err());
        assert!(Quantity::new(i64::from(Quantity::MAX) + 1).is_err());
        assert_eq!(Quantity::new(1).unwrap().get(), 1);
        assert_eq!(Quantity::new(10_000).unwrap().get(), 10_000);
    }

    #[test]
    fn deserialising_applies_the_same_rule() {
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("1.5").is_err());
        assert!(serde_json::from_str::<Quantity>(r#""7""#).is_err());
        assert!(serde_json::from_str::<Quantity>("18446744073709551615").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("7").unwrap().get(), 7);
    }
}
