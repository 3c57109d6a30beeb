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

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
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
    Cron(Box<Cron>),
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
            Kind::Cron(Box::new(Cron::parse(inner, expr)?))
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
            Kind::Cron(c) => c.next_after(t),
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

const MIN_YEAR: i32 = 1970;
const MAX_YEAR: i32 = 2199;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days_of_month: Option<Vec<DomItem>>,
    months: Vec<bool>,
    days_of_week: Option<Vec<DowItem>>,
    /// Index 0 is [`MIN_YEAR`].
    years: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DomItem {
    Days(Vec<bool>),
    Last,
    LastWeekday,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DowItem {
    /// Index is the AWS day number, 1 = SUN.
    Days(Vec<bool>),
    /// The last such weekday of the month (`6L`).
    Last(u32),
    /// The k-th such weekday of the month (`3#2`).
    Nth(u32, u32),
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTES: FieldSpec = FieldSpec {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: FieldSpec = FieldSpec {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
};
const DOM: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
};
const DOW: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &DAYS,
};
const YEAR: FieldSpec = FieldSpec {
    name: "year",
    min: MIN_YEAR as u32,
    max: MAX_YEAR as u32,
    names: &[],
};

impl FieldSpec {
    fn err(&self, value: &str, reason: impl Into<String>) -> CronError {
        CronError::Field {
            field: self.name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    fn number(&self, field_value: &str, token: &str) -> Result<u32, CronError> {
        let upper = token.to_ascii_uppercase();
        if let Some(i) = self.names.iter().position(|n| *n == upper) {
            return Ok(self.min + i as u32);
        }
        let n: u32 = token.parse().map_err(|_| {
            let names = if self.names.is_empty() {
                String::new()
            } else {
                format!(" or {}-{}", self.names[0], self.names[self.names.len() - 1])
            };
            self.err(field_value, format!("`{token}` is not a number{names}"))
        })?;
        if n < self.min || n > self.max {
            return Err(self.err(field_value, format!("{n} is outside {}-{}", self.min, self.max)));
        }
        Ok(n)
    }

    /// `*`, lists, ranges and steps into a membership vector indexed by `value - min`.
    fn set(&self, value: &str) -> Result<Vec<bool>, CronError> {
        let mut set = vec![false; (self.max - self.min + 1) as usize];
        for item in value.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s
                        .parse()
                        .map_err(|_| self.err(value, format!("step `{s}` is not a number")))?;
                    if step == 0 {
                        return Err(self.err(value, "a step must be at least 1"));
                    }
                    (r, Some(step))
                }
                None => (item, None),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.number(value, a)?, self.number(value, b)?);
                if a > b {
                    return Err(self.err(value, format!("range `{range}` runs backwards")));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(self.err(value, "empty list item"));
            } else {
                let a = self.number(value, range)?;
                // `a/n` means "from a, every n"; a plain `a` is just a.
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1) as usize;
            for v in (lo..=hi).step_by(step) {
                set[(v - self.min) as usize] = true;
            }
        }
        Ok(set)
    }
}

impl Cron {
    fn parse(inner: &str, expr: &str) -> Result<Self, CronError> {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(CronError::FieldCount {
                expr: expr.to_string(),
                found: fields.len(),
            });
        };
        let days_of_month = if dom == "?" { None } else { Some(parse_dom(dom)?) };
        let days_of_week = if dow == "?" { None } else { Some(parse_dow(dow)?) };
        if days_of_month.is_some() == days_of_week.is_some() {
            return Err(CronError::DayFields(expr.to_string()));
        }
        for (spec, value) in [(&MINUTES, minutes), (&HOURS, hours), (&MONTH, month), (&YEAR, year)] {
            if value == "?" {
                return Err(spec.err(value, "`?` is only allowed in day-of-month or day-of-week"));
            }
        }
        Ok(Cron {
            minutes: MINUTES.set(minutes)?,
            hours: HOURS.set(hours)?,
            days_of_month,
            months: MONTH.set(month)?,
            days_of_week,
            years: YEAR.set(year)?,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if let Some(items) = &self.days_of_month {
            let last = last_day_of_month(date.year(), date.month());
            return items.iter().any(|item| match item {
                DomItem::Days(set) => set[(date.day() - 1) as usize],
                DomItem::Last => date.day() == last,
                DomItem::LastWeekday => date.day() == nearest_weekday(date.year(), date.month(), last),
                DomItem::NearestWeekday(d) => {
                    *d <= last && date.day() == nearest_weekday(date.year(), date.month(), *d)
                }
            });
        }
        if let Some(items) = &self.days_of_week {
            let aws_dow = date.weekday().num_days_from_sunday() + 1;
            let last = last_day_of_month(date.year(), date.month());
            return items.iter().any(|item| match item {
                DowItem::Days(set) => set[(aws_dow - 1) as usize],
                DowItem::Last(d) => *d == aws_dow && date.day() + 7 > last,
                DowItem::Nth(d, k) => *d == aws_dow && (date.day() - 1) / 7 + 1 == *k,
            });
        }
        false
    }

    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Whole minutes only: the first candidate is the minute after t's minute.
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut date = start.date_naive();
        let mut from = (start.hour(), start.minute());
        loop {
            let year = date.year();
            if year > MAX_YEAR {
                return None;
            }
            if year < MIN_YEAR {
                date = NaiveDate::from_ymd_opt(MIN_YEAR, 1, 1)?;
                from = (0, 0);
                continue;
            }
            if !self.years[(year - MIN_YEAR) as usize] {
                date = NaiveDate::from_ymd_opt(year + 1, 1, 1)?;
                from = (0, 0);
                continue;
            }
            if !self.months[(date.month() - 1) as usize] {
                date = first_of_next_month(date)?;
                from = (0, 0);
                continue;
            }
            if self.day_matches(date) {
                if let Some((h, m)) = self.first_time_from(from) {
                    let time = NaiveTime::from_hms_opt(h, m, 0)?;
                    return Some(Utc.from_utc_datetime(&date.and_time(time)));
                }
            }
            date = date.succ_opt()?;
            from = (0, 0);
        }
    }

    fn first_time_from(&self, (h0, m0): (u32, u32)) -> Option<(u32, u32)> {
        for h in h0..24 {
            if !self.hours[h as usize] {
                continue;
            }
            let m_start = if h == h0 { m0 } else { 0 };
            if let Some(m) = (m_start..60).find(|m| self.minutes[*m as usize]) {
                return Some((h, m));
            }
        }
        None
    }
}

fn parse_dom(value: &str) -> Result<Vec<DomItem>, CronError> {
    let mut items = Vec::new();
    let mut plain = Vec::new();
    for item in value.split(',') {
        let upper = item.to_ascii_uppercase();
        if upper == "L" {
            items.push(DomItem::Last);
        } else if upper == "LW" {
            items.push(DomItem::LastWeekday);
        } else if let Some(day) = upper.strip_suffix('W') {
            items.push(DomItem::NearestWeekday(DOM.number(value, day)?));
        } else if upper.contains('L') || upper.contains('W') {
            return Err(DOM.err(value, format!("`{item}`: `L` and `W` stand alone (`L`, `LW`, `15W`)")));
        } else {
            plain.push(item);
        }
    }
    if !plain.is_empty() {
        items.push(DomItem::Days(DOM.set(&plain.join(","))?));
    }
    Ok(items)
}

fn parse_dow(value: &str) -> Result<Vec<DowItem>, CronError> {
    let mut items = Vec::new();
    let mut plain = Vec::new();
    for item in value.split(',') {
        let upper = item.to_ascii_uppercase();
        if upper == "L" {
            // Quartz: a lone L in day-of-week is the last day of the week, Saturday.
            plain.push("7".to_string());
        } else if let Some((day, nth)) = upper.split_once('#') {
            let day = DOW.number(value, day)?;
            let k: u32 = nth
                .parse()
                .map_err(|_| DOW.err(value, format!("`#{nth}` is not a number")))?;
            if !(1..=5).contains(&k) {
                return Err(DOW.err(value, format!("`#{k}`: a month has at most 5 of any weekday")));
            }
            items.push(DowItem::Nth(day, k));
        } else if let Some(day) = upper.strip_suffix('L') {
            items.push(DowItem::Last(DOW.number(value, day)?));
        } else {
            plain.push(item.to_string());
        }
    }
    if !plain.is_empty() {
        items.push(DowItem::Days(DOW.set(&plain.join(","))?));
    }
    Ok(items)
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    }
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(first_of_next_month)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// The weekday nearest to `day` within the same month (Quartz `W`).
fn nearest_weekday(year: i32, month: u32, day: u32) -> u32 {
    let last = last_day_of_month(year, month);
    let Some(date) = NaiveDate::from_ymd_opt(year, month, day.min(last)) else {
        return day;
    };
    match date.weekday() {
        Weekday::Sat if date.day() == 1 => 3,
        Weekday::Sat => date.day() - 1,
        Weekday::Sun if date.day() == last => date.day() - 2,
        Weekday::Sun => date.day() + 1,
        _ => date.day(),
    }
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
        assert!(err("cron(0/0 0 * * ? *)").contains("step"));
        assert!(err("cron(0 5-2 * * ? *)").contains("backwards"));
        assert!(err("rate(1 minutes)").contains("singular"));
        assert!(err("rate(5 minute)").contains("plural"));
        assert!(err("rate(0 minutes)").contains("positive"));
        assert!(err("rate(5 weeks)").contains("unit"));
        assert!(err("at(2024-01-01T00:00:00)").contains("neither"));
    }
}
