//! Configuration as data (seed 004 §4.3): business settings live in `system_config`, each key with a schema that
//! says its type and allowed range. This crate owns the schema and the check a new value must pass; the admin API
//! turns a broken rule into a 422 that names it.
//!
//! A schema is stored next to its key as JSON:
//! `{"type": "integer", "minimum": 1, "maximum": 1440, "unit": "minutes", "description": "..."}`; types are
//! `integer` and `boolean` (every setting so far is one of those; money is integer rupiah).
//!
//! Domain crate: no dependencies on other Niaga crates, and it must not depend on I/O crates.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A key's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Integer,
    Boolean,
}

/// What a key's values must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    #[serde(rename = "type")]
    pub kind: SettingType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("must be {expected}")]
    Type { expected: &'static str },
    #[error("must be at least {minimum}")]
    Minimum { minimum: i64 },
    #[error("must be at most {maximum}")]
    Maximum { maximum: i64 },
}

impl RuleError {
    /// The schema keyword of the broken rule (`type`, `minimum`, `maximum`).
    pub fn rule(&self) -> &'static str {
        match self {
            RuleError::Type { .. } => "type",
            RuleError::Minimum { .. } => "minimum",
            RuleError::Maximum { .. } => "maximum",
        }
    }
}

impl Schema {
    /// Parses a stored schema.
    pub fn parse(v: &Value) -> Result<Schema, String> {
        let s: Schema = serde_json::from_value(v.clone()).map_err(|e| format!("not a setting schema: {e}"))?;
        if let (Some(lo), Some(hi)) = (s.minimum, s.maximum) {
            if lo > hi {
                return Err(format!("minimum {lo} is above maximum {hi}"));
            }
        }
        Ok(s)
    }

    /// Checks `value` against the schema.
    pub fn check(&self, value: &Value) -> Result<(), RuleError> {
        match self.kind {
            SettingType::Boolean => value.as_bool().map(|_| ()).ok_or(RuleError::Type {
                expected: "true or false",
            }),
            SettingType::Integer => {
                let n = value.as_i64().ok_or(RuleError::Type {
                    expected: "a whole number",
                })?;
                if let Some(minimum) = self.minimum.filter(|m| n < *m) {
                    return Err(RuleError::Minimum { minimum });
                }
                if let Some(maximum) = self.maximum.filter(|m| n > *m) {
                    return Err(RuleError::Maximum { maximum });
                }
                Ok(())
            }
        }
    }
}

/// Whether `key` is a well-formed setting name: lowercase dotted words (`pricing.minimum_order_total`).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key.split('.').count() >= 2
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn range(lo: i64, hi: i64) -> Schema {
        Schema::parse(&json!({"type": "integer", "minimum": lo, "maximum": hi})).unwrap()
    }

    #[test]
    fn values_outside_the_range_or_of_the_wrong_type_name_the_rule() {
        let s = range(1, 1440);
        assert_eq!(s.check(&json!(15)), Ok(()));
        assert_eq!(s.check(&json!(0)).unwrap_err().rule(), "minimum");
        assert_eq!(s.check(&json!(1441)).unwrap_err().rule(), "maximum");
        assert_eq!(s.check(&json!("15")).unwrap_err().rule(), "type");
        assert_eq!(s.check(&json!(1.5)).unwrap_err().rule(), "type");
        let b = Schema::parse(&json!({"type": "boolean"})).unwrap();
        assert_eq!(b.check(&json!(true)), Ok(()));
        assert_eq!(b.check(&json!(1)).unwrap_err().rule(), "type");
    }

    #[test]
    fn a_schema_with_an_empty_range_is_refused() {
        assert!(Schema::parse(&json!({"type": "integer", "minimum": 5, "maximum": 1})).is_err());
        assert!(Schema::parse(&json!({"type": "text"})).is_err());
    }

    #[test]
    fn keys_are_lowercase_dotted_words() {
        assert!(valid_key("pricing.loyalty_multiplier_bp.gold"));
        assert!(!valid_key("pricing"));
        assert!(!valid_key("Pricing.x"));
        assert!(!valid_key("a..b"));
        assert!(!valid_key("a.b; DROP TABLE"));
    }

    proptest! {
        #[test]
        fn an_integer_passes_exactly_when_it_is_in_range(lo in -1000i64..1000, span in 0i64..1000, n in -3000i64..3000) {
            let s = range(lo, lo + span);
            prop_assert_eq!(s.check(&json!(n)).is_ok(), n >= lo && n <= lo + span);
        }
    }
}
