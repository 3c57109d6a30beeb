//! Stock-keeping units: `ABC-12345` style codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A SKU: 3 to 32 characters of ASCII upper-case letters, digits and `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkuError {
    #[error("a SKU has 3 to 32 characters")]
    Length,
    #[error("a SKU may contain only A-Z, 0-9 and '-', and must start with a letter or digit")]
    Characters,
}

impl Sku {
    /// Parses a SKU; lower-case input is accepted and upper-cased.
    pub fn parse(raw: &str) -> Result<Self, SkuError> {
        let s = raw.trim().to_ascii_uppercase();
        if !(3..=32).contains(&s.len()) {
            return Err(SkuError::Length);
        }
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        let ok_start = s.bytes().next().is_some_and(|b| b != b'-');
        if !ok_chars || !ok_start {
            return Err(SkuError::Characters);
        }
        Ok(Sku(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = SkuError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower case is accepted in requests and upper-cased, so the pattern allows both.
impl schemars::JsonSchema for Sku {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sku".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{2,31}$",
            "examples": ["SHM-00001"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lower_case_is_accepted_and_normalised() {
        assert_eq!(Sku::parse("abc-001").unwrap().as_str(), "ABC-001");
    }

    #[test]
    fn sql_metacharacters_are_refused() {
        assert_eq!(Sku::parse("A'; DROP TABLE products;--"), Err(SkuError::Characters));
    }

    #[test]
    fn too_short_and_too_long_are_refused() {
        assert_eq!(Sku::parse("AB"), Err(SkuError::Length));
        assert_eq!(Sku::parse(&"A".repeat(33)), Err(SkuError::Length));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_accepted_values_round_trip(s in ".{0,40}") {
            if let Ok(sku) = Sku::parse(&s) {
                prop_assert_eq!(Sku::parse(sku.as_str()).unwrap(), sku);
            }
        }
    }
}
