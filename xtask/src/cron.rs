//! EventBridge schedule expressions, `cron(...)` and `rate(...)`, evaluated in UTC like EventBridge does.
//!
//! This module owns parsing (with errors that name the offending field) and "when does it fire next"; the
//! gateway's schedule loop is its only runtime user.
//!
//! AWS cron has six fields: minutes, hours, day-of-month, month, day-of-week, year. Day-of-week counts
//! 1 = SUN … 7 = SAT (not the Unix 0 = SUN), and exactly one of day-of-month / day-of-week must be `?`.
//! Supported: `*`, `?`, lists `a,b`, ranges `a-b`, steps `a/n`, `*/n`, `a-b/n`, month names `JAN`-`DEC`, day
//! names `SUN`-`SAT`, `L` / `LW` / `nW` in day-of-month, and `nL` (last such weekday) / `n#k` (k-th such
//! weekday) in day-of-week.
//!
//! The calendar arithmetic is the `croner` crate's, configured for Quartz-style weekdays (1 = SUN) with a required
//! year field. Three small translations bridge what it reads differently: a seconds field of `0` is put first,
//! a single-number step `a/n` (which croner refuses) becomes `a-<max>/n`, and a lone `L` in day-of-week (Quartz's
//! Saturday) becomes `7`. What EventBridge demands and croner does not check is checked here: six fields, exactly
//! one `?` day field, years within 1970-2199.

use chrono::{DateTime, Datelike, Duration, Utc};
use croner::parser::{CronParser, Seconds, Year};
use std::fmt;

/// Why an expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("`{0}` is neither `cron(...)` nor `rate(...)`")]
    Syntax(String),
    #[error("cron expression `{expr}` has {found} fields; EventBridge cron needs 6: minutes hours day-of-month month day-of-week year")]
    FieldCount { expr: String, found: usize },
    #[error("cron {field} field `{value}`: {reason}")]
    Field {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("cron expression `{0}`: exactly one of day-of-month and day-of-week must be `?`")]
    DayFields(String),
    #[error("cron expression `{expr}`: {reason}")]
    Invalid { expr: String, reason: String },
    #[error("rate expression `{expr}`: {reason}")]
    Rate { expr: String, reason: String },
}

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expression: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Cron(Box<croner::Cron>),
    Rate {
        every: Duration,
        anchor: Option<DateTime<Utc>>,
    },
}

impl Schedule {
    /// Parses `cron(...)` or `rate(...)`.
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        let expr = expression.trim();
        let kind = if let Some(inner) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
            Kind::Cron(Box::new(parse_cron(inner, expr)?))
        } else if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            Kind::Rate {
                every: parse_rate(inner, expr)?,
                anchor: None,
            }
        } else {
            return Err(CronError::Syntax(expr.to_string()));
        };
        Ok(Schedule {
            expression: expr.to_string(),
            kind,
        })
    }

    /// For `rate(...)`: fire at `anchor + k * period` (k ≥ 1) instead of `period` after whatever time
    /// [`Schedule::next_after`] is given. No effect on `cron(...)`.
    pub fn rate_anchor(mut self, anchor: DateTime<Utc>) -> Self {
        if let Kind::Rate { anchor: a, .. } = &mut self.kind {
            *a = Some(anchor);
        }
        self
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The period of a `rate(...)` schedule.
    pub fn rate_period(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Rate { every, .. } => Some(*every),
            Kind::Cron(_) => None,
        }
    }

    /// The first fire time strictly after `t`; `None` when the expression never fires again (cron years end
    /// at 2199).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(c) => cron_next_after(c, t),
            Kind::Rate { every, anchor: None } => t.checked_add_signed(*every),
            Kind::Rate {
                every,
                anchor: Some(anchor),
            } => {
                if t < *anchor {
                    return anchor.checked_add_signed(*every);
                }
                let period_ms = every.num_milliseconds();
                let elapsed_ms = (t - *anchor).num_milliseconds();
                let k = elapsed_ms / period_ms + 1;
                anchor.checked_add_signed(Duration::milliseconds(k.checked_mul(period_ms)?))
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl std::str::FromStr for Schedule {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

fn parse_rate(inner: &str, expr: &str) -> Result<Duration, CronError> {
    let err = |reason: String| CronError::Rate {
        expr: expr.to_string(),
        reason,
    };
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err(err("expected `rate(value unit)`, for example `rate(5 minutes)`".into()));
    };
    let n: i64 = value
        .parse()
        .map_err(|_| err(format!("value `{value}` is not a positive whole number")))?;
    if n <= 0 {
        return Err(err(format!("value `{value}` must be positive")));
    }
    let (singular, plural, unit_len) = match unit {
        "minute" | "minutes" => ("minute", "minutes", Duration::minutes(1)),
        "hour" | "hours" => ("hour", "hours", Duration::hours(1)),
        "day" | "days" => ("day", "days", Duration::days(1)),
        _ => return Err(err(format!("unit `{unit}` must be minute(s), hour(s) or day(s)"))),
    };
    if n == 1 && unit != singular {
        return Err(err(format!("a value of 1 takes the singular unit `{singular}`")));
    }
    if n > 1 && unit != plural {
        return Err(err(format!("a value above 1 takes the plural unit `{plural}`")));
    }
    i32::try_from(n)
        .ok()
        .and_then(|n| unit_len.checked_mul(n))
        .ok_or_else(|| err("value is too large".into()))
}

const MIN_YEAR: u32 = 1970;
const MAX_YEAR: i32 = 2199;

/// Each field's name and largest value, in EventBridge's order.
const FIELDS: [(&str, u32); 6] = [
    ("minutes", 59),
    ("hours", 23),
    ("day-of-month", 31),
    ("month", 12),
    ("day-of-week", 7),
    ("year", MAX_YEAR as u32),
];

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .build()
}

fn field_error(i: usize, value: &str, reason: impl Into<String>) -> CronError {
    CronError::Field {
        field: FIELDS[i].0,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// One EventBridge field as croner reads it: `a/n` → `a-<max>/n`, and in day-of-week a lone `L` → `7`.
fn translate(i: usize, value: &str) -> String {
    let max = FIELDS[i].1;
    value
        .split(',')
        .map(|item| match item.split_once('/') {
            Some((start, step)) if start != "*" && !start.contains('-') => format!("{start}-{max}/{step}"),
            _ if i == 4 && item.eq_ignore_ascii_case("L") => "7".to_string(),
            _ => item.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// EventBridge's years, 1970-2199, which croner does not bound.
fn check_years(value: &str) -> Result<(), CronError> {
    for item in value.split(',') {
        let range = item.split('/').next().unwrap_or(item);
        for n in range.split('-').filter(|n| *n != "*") {
            let year: u32 = n
                .parse()
                .map_err(|_| field_error(5, value, format!("`{n}` is not a number")))?;
            if !(MIN_YEAR..=MAX_YEAR as u32).contains(&year) {
                return Err(field_error(
                    5,
                    value,
                    format!("{year} is outside {MIN_YEAR}-{MAX_YEAR}"),
                ));
            }
        }
    }
    Ok(())
}

fn parse_cron(inner: &str, expr: &str) -> Result<croner::Cron, CronError> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(CronError::FieldCount {
            expr: expr.to_string(),
            found: fields.len(),
        });
    }
    for (i, value) in fields.iter().enumerate() {
        if *value == "?" && i != 2 && i != 4 {
            return Err(field_error(
                i,
                value,
                "`?` is only allowed in day-of-month or day-of-week",
            ));
        }
    }
    if (fields[2] == "?") == (fields[4] == "?") {
        return Err(CronError::DayFields(expr.to_string()));
    }
    for (i, value) in fields.iter().enumerate() {
        if value.split(',').any(str::is_empty) {
            return Err(field_error(i, value, "empty list item"));
        }
    }
    check_years(fields[5])?;
    let pattern = |fields: &[&str]| {
        let translated: Vec<String> = fields.iter().enumerate().map(|(i, v)| translate(i, v)).collect();
        format!("0 {}", translated.join(" "))
    };
    parser().parse(&pattern(&fields)).map_err(|whole| {
        // croner's errors do not say which field is wrong: find the first one that fails on its own.
        (0..6)
            .find_map(|i| {
                let mut alone = ["0", "0", "?", "*", "*", "*"];
                if i == 2 {
                    alone[4] = "?";
                }
                alone[i] = fields[i];
                let err = parser().parse(&pattern(&alone)).err()?;
                Some(field_error(i, fields[i], err.to_string()))
            })
            .unwrap_or_else(|| CronError::Invalid {
                expr: expr.to_string(),
                reason: whole.to_string(),
            })
    })
}

/// The first whole minute strictly after `t` that `cron` matches, within EventBridge's years.
fn cron_next_after(cron: &croner::Cron, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&t, false)
        .ok()
        .filter(|next| next.year() <= MAX_YEAR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str) -> String {
        Schedule::parse(expr)
            .unwrap()
            .next_after(at(after))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn the_warmup_expression_fires_from_midnight_to_eleven_fifty_five_but_not_at_noon() {
        let warmup = "cron(0/5 0-11 ? * * *)";
        assert_eq!(next(warmup, "2024-03-10T23:59:59Z"), "2024-03-11T00:00:00+00:00");
        assert_eq!(next(warmup, "2024-03-11T00:00:00Z"), "2024-03-11T00:05:00+00:00");
        assert_eq!(next(warmup, "2024-03-11T11:50:00Z"), "2024-03-11T11:55:00+00:00");
        assert_eq!(next(warmup, "2024-03-11T11:55:00Z"), "2024-03-12T00:00:00+00:00");
        assert_eq!(next(warmup, "2024-03-11T12:00:00Z"), "2024-03-12T00:00:00+00:00");
        assert_eq!(next(warmup, "2024-03-11T07:02:30Z"), "2024-03-11T07:05:00+00:00");
    }

    #[test]
    fn the_last_day_of_the_month_crosses_into_february() {
        let l = "cron(0 17 L * ? *)";
        assert_eq!(next(l, "2024-01-31T17:00:00Z"), "2024-02-29T17:00:00+00:00");
        assert_eq!(next(l, "2023-01-31T17:00:00Z"), "2023-02-28T17:00:00+00:00");
        assert_eq!(next(l, "2023-01-31T16:59:00Z"), "2023-01-31T17:00:00+00:00");
        assert_eq!(next(l, "2023-12-31T17:00:00Z"), "2024-01-31T17:00:00+00:00");
    }

    #[test]
    fn day_of_week_counts_sunday_as_one() {
        // 2024-03-09 is a Saturday.
        assert_eq!(
            next("cron(0 9 ? * 1 *)", "2024-03-09T10:00:00Z"),
            "2024-03-10T09:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 9 ? * SUN *)", "2024-03-09T10:00:00Z"),
            "2024-03-10T09:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 9 ? * 7 *)", "2024-03-09T08:00:00Z"),
            "2024-03-09T09:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", "2024-03-09T10:00:00Z"),
            "2024-03-11T09:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 9 ? * 2-6 *)", "2024-03-15T10:00:00Z"),
            "2024-03-18T09:00:00+00:00"
        );
        // Second Tuesday of April 2024 is the 9th; last Friday of March 2024 is the 29th.
        assert_eq!(
            next("cron(30 8 ? * 3#2 *)", "2024-04-01T00:00:00Z"),
            "2024-04-09T08:30:00+00:00"
        );
        assert_eq!(
            next("cron(0 0 ? * 6L *)", "2024-03-01T00:00:00Z"),
            "2024-03-29T00:00:00+00:00"
        );
        // A lone `L` in day-of-week is Quartz's last day of the week, Saturday (2024-03-09).
        assert_eq!(
            next("cron(0 0 ? * L *)", "2024-03-05T00:00:00Z"),
            "2024-03-09T00:00:00+00:00"
        );
    }

    #[test]
    fn months_years_lists_and_steps_combine() {
        assert_eq!(
            next("cron(15 10 1 JAN,JUL ? *)", "2024-02-01T00:00:00Z"),
            "2024-07-01T10:15:00+00:00"
        );
        assert_eq!(
            next("cron(0 */6 * * ? 2030)", "2024-02-01T00:00:00Z"),
            "2030-01-01T00:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 */6 * * ? *)", "2024-02-01T06:00:00Z"),
            "2024-02-01T12:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z"),
            "2028-02-29T00:00:00+00:00"
        );
        assert_eq!(
            next("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z"),
            "2024-06-14T00:00:00+00:00"
        );
        assert_eq!(
            Schedule::parse("cron(0 0 1 1 ? 2020)")
                .unwrap()
                .next_after(at("2024-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn rate_fires_every_period_from_its_anchor() {
        let anchor = at("2024-01-01T00:00:00Z");
        let every5 = Schedule::parse("rate(5 minutes)").unwrap().rate_anchor(anchor);
        assert_eq!(every5.next_after(anchor).unwrap(), at("2024-01-01T00:05:00Z"));
        assert_eq!(
            every5.next_after(at("2024-01-01T00:07:00Z")).unwrap(),
            at("2024-01-01T00:10:00Z")
        );
        assert_eq!(
            every5.next_after(at("2024-01-01T00:10:00Z")).unwrap(),
            at("2024-01-01T00:15:00Z")
        );
        let unanchored = Schedule::parse("rate(1 hour)").unwrap();
        assert_eq!(
            unanchored.next_after(at("2024-01-01T00:07:00Z")).unwrap(),
            at("2024-01-01T01:07:00Z")
        );
        assert_eq!(
            Schedule::parse("rate(1 day)").unwrap().rate_period(),
            Some(Duration::days(1))
        );
    }

    #[test]
    fn bad_expressions_are_rejected_naming_what_is_wrong() {
        let err = |e: &str| Schedule::parse(e).unwrap_err().to_string();
        assert!(
            err("cron(60 * * * ? *)").contains("minutes field"),
            "{}",
            err("cron(60 * * * ? *)")
        );
        assert!(err("cron(0 24 * * ? *)").contains("hours field"));
        assert!(err("cron(0 0 32 * ? *)").contains("day-of-month field"));
        assert!(err("cron(0 0 ? FOO * *)").contains("month field"));
        assert!(err("cron(0 0 ? * 0 *)").contains("day-of-week field"));
        assert!(err("cron(0 0 ? * * 1969)").contains("year field"));
        assert!(err("cron(0 0 * * * *)").contains("exactly one of day-of-month and day-of-week"));
        assert!(err("cron(0 0 ? * ? *)").contains("exactly one of day-of-month and day-of-week"));
        assert!(err("cron(0 0 * * ?)").contains("has 5 fields"));
        assert!(err("cron(0/0 0 * * ? *)").to_lowercase().contains("step"));
        assert!(err("cron(0 5-2 * * ? *)").contains("hours field `5-2`"));
        assert!(err("cron(1,,2 0 * * ? *)").contains("empty list item"));
        assert!(err("rate(1 minutes)").contains("singular"));
        assert!(err("rate(5 minute)").contains("plural"));
        assert!(err("rate(0 minutes)").contains("positive"));
        assert!(err("rate(5 weeks)").contains("unit"));
        assert!(err("at(2024-01-01T00:00:00)").contains("neither"));
    }
}
