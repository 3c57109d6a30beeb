//! Configuration as data (seed 004 §4.3): business settings live in `system_config`, each key with a schema that
//! says its type and allowed range. This crate owns the schema, the check a new value must pass, and the use cases that
//! read and change settings; the admin API turns a broken rule into a 422 that names it.
//!
//! A schema is stored next to its key as JSON:
//! `{"type": "integer", "minimum": 1, "maximum": 1440, "unit": "minutes", "description": "..."}`; types are
//! `integer`, `boolean` and `schedule` (money is integer rupiah).
//!
//! A `schedule` is a setting that changes on a date without anyone touching it then: its value is a list of
//! entries, each in force from its `from` day (`YYYY-MM-DD`, the WIB calendar day) until the next entry's, with
//! integer members named and bounded by the schema's `fields`:
//! `{"type": "schedule", "fields": {"tariff_bp": {"minimum": 0, "maximum": 10000}}}` takes
//! `[{"from": "2022-04-01", "tariff_bp": 1100}, {"from": "2025-01-01", "tariff_bp": 1200}]`. Days must increase.
//!
//! # Layout
//! - this module: the schema and the check a value must pass.
//! - [`ports`]: [`SettingsSource`], the port every use case reads its settings through; [`SettingsStore`], the
//!   settings with their versions and audit trail; [`SettingsPublisher`], the cache a change is written through
//!   to. `store` implements the first two over `system_config`, the Lambda wiring the first and last over its
//!   two-layer cache.
//! - [`service`]: the use cases: list, read, change under optimistic concurrency, history.
//!
//! Application crate: no dependencies on other Niaga crates, and it must not depend on I/O crates (PostgreSQL,
//! the AWS SDK, Lambda crates, HTTP types).

pub mod ports;
pub mod service;

pub use ports::{Change, Setting, SettingsPublisher, SettingsSource, SettingsStore, Updated};
pub use service::{ChangeSetting, ChangeSettingError, ReadSettingError, Settings, HISTORY_LIMIT};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Most entries a schedule may hold.
pub const MAX_SCHEDULE_ENTRIES: usize = 100;

/// A key's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Integer,
    Boolean,
    Schedule,
}

/// The bounds of one integer member of a schedule entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
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
    /// A schedule's entry members besides `from`, each an integer within its bounds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldRange>,
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
    #[error("must hold 1 to {max} entries")]
    Entries { max: usize },
    #[error("must be a day after the previous entry's")]
    Order,
    /// A rule broken by a member of the value (`[1].tariff_bp`) rather than by the value itself.
    #[error("{rule}")]
    At { path: String, rule: Box<RuleError> },
}

impl RuleError {
    /// The schema keyword of the broken rule (`type`, `minimum`, `maximum`).
    pub fn rule(&self) -> &'static str {
        match self {
            RuleError::Type { .. } => "type",
            RuleError::Minimum { .. } => "minimum",
            RuleError::Maximum { .. } => "maximum",
            RuleError::Entries { .. } => "entries",
            RuleError::Order => "order",
            RuleError::At { rule, .. } => rule.rule(),
        }
    }

    /// Where in the value the rule was broken: empty for the value itself, else a member path (`[1].from`).
    pub fn path(&self) -> &str {
        match self {
            RuleError::At { path, .. } => path,
            _ => "",
        }
    }

    fn at(self, path: String) -> RuleError {
        RuleError::At {
            path,
            rule: Box::new(self),
        }
    }
}

fn check_int(n: &Value, minimum: Option<i64>, maximum: Option<i64>) -> Result<(), RuleError> {
    let n = n.as_i64().ok_or(RuleError::Type {
        expected: "a whole number",
    })?;
    if let Some(minimum) = minimum.filter(|m| n < *m) {
        return Err(RuleError::Minimum { minimum });
    }
    if let Some(maximum) = maximum.filter(|m| n > *m) {
        return Err(RuleError::Maximum { maximum });
    }
    Ok(())
}

/// `YYYY-MM-DD`, a real calendar day.
pub fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    (s.len() == 10)
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
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
        for (name, f) in &s.fields {
            if let (Some(lo), Some(hi)) = (f.minimum, f.maximum) {
                if lo > hi {
                    return Err(format!("`{name}`: minimum {lo} is above maximum {hi}"));
                }
            }
        }
        if (s.kind == SettingType::Schedule) == s.fields.is_empty() || s.fields.contains_key("from") {
            return Err("a schedule, and only a schedule, names its entries' integer `fields` (never `from`)".into());
        }
        Ok(s)
    }

    /// Checks `value` against the schema.
    pub fn check(&self, value: &Value) -> Result<(), RuleError> {
        match self.kind {
            SettingType::Boolean => value.as_bool().map(|_| ()).ok_or(RuleError::Type {
                expected: "true or false",
            }),
            SettingType::Integer => check_int(value, self.minimum, self.maximum),
            SettingType::Schedule => self.check_schedule(value),
        }
    }

    fn check_schedule(&self, value: &Value) -> Result<(), RuleError> {
        let entries = value.as_array().ok_or(RuleError::Type {
            expected: "a list of dated entries",
        })?;
        if entries.is_empty() || entries.len() > MAX_SCHEDULE_ENTRIES {
            return Err(RuleError::Entries {
                max: MAX_SCHEDULE_ENTRIES,
            });
        }
        let mut previous = None;
        for (i, entry) in entries.iter().enumerate() {
            let entry = entry.as_object().ok_or_else(|| {
                RuleError::Type {
                    expected: "an object with `from` and the schedule's fields",
                }
                .at(format!("[{i}]"))
            })?;
            if let Some(unknown) = entry.keys().find(|k| *k != "from" && !self.fields.contains_key(*k)) {
                return Err(RuleError::Type {
                    expected: "absent: it is not a field of this schedule",
                }
                .at(format!("[{i}].{unknown}")));
            }
            let day = entry
                .get("from")
                .and_then(Value::as_str)
                .and_then(parse_day)
                .ok_or_else(|| {
                    RuleError::Type {
                        expected: "a day as YYYY-MM-DD",
                    }
                    .at(format!("[{i}].from"))
                })?;
            if previous.is_some_and(|p| day <= p) {
                return Err(RuleError::Order.at(format!("[{i}].from")));
            }
            previous = Some(day);
            for (name, range) in &self.fields {
                let n = entry.get(name).unwrap_or(&Value::Null);
                check_int(n, range.minimum, range.maximum).map_err(|e| e.at(format!("[{i}].{name}")))?;
            }
        }
        Ok(())
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

    fn ppn_like() -> Schema {
        Schema::parse(&json!({"type": "schedule", "fields": {
            "tariff_bp": {"minimum": 0, "maximum": 10000}, "dpp_twelfths": {"minimum": 1, "maximum": 12}}}))
        .unwrap()
    }

    #[test]
    fn a_schedule_takes_dated_entries_in_increasing_order_with_every_field_in_range() {
        let s = ppn_like();
        let ok = json!([{"from": "2022-04-01", "tariff_bp": 1100, "dpp_twelfths": 12},
                        {"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11}]);
        assert_eq!(s.check(&ok), Ok(()));
        let broken = |v: Value| {
            let e = s.check(&v).unwrap_err();
            (e.rule(), e.path().to_string())
        };
        assert_eq!(broken(json!([])), ("entries", "".into()));
        assert_eq!(broken(json!(1200)), ("type", "".into()));
        assert_eq!(
            broken(json!([{"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 13}])),
            ("maximum", "[0].dpp_twelfths".into())
        );
        assert_eq!(
            broken(json!([{"from": "2025-01-01", "tariff_bp": 1200}])),
            ("type", "[0].dpp_twelfths".into())
        );
        assert_eq!(
            broken(json!([{"from": "2025-02-30", "tariff_bp": 1200, "dpp_twelfths": 11}])),
            ("type", "[0].from".into())
        );
        assert_eq!(
            broken(json!([{"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11, "note": 1}])),
            ("type", "[0].note".into())
        );
        assert_eq!(
            broken(json!([{"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11},
                          {"from": "2025-01-01", "tariff_bp": 1100, "dpp_twelfths": 12}])),
            ("order", "[1].from".into())
        );
    }

    #[test]
    fn only_a_schedule_has_fields() {
        assert!(Schema::parse(&json!({"type": "schedule"})).is_err());
        assert!(Schema::parse(&json!({"type": "integer", "fields": {"a": {}}})).is_err());
        assert!(Schema::parse(&json!({"type": "schedule", "fields": {"from": {}}})).is_err());
    }

    proptest! {
        #[test]
        fn an_integer_passes_exactly_when_it_is_in_range(lo in -1000i64..1000, span in 0i64..1000, n in -3000i64..3000) {
            let s = range(lo, lo + span);
            prop_assert_eq!(s.check(&json!(n)).is_ok(), n >= lo && n <= lo + span);
        }
    }
}
