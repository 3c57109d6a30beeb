//! `monthly-profit-job`: revenue, cost of goods and gross margin per partner for one month, into
//! `profit_reports` (the rules are in `store::profit`).
//!
//! Input: `{"month": "2026-10"}`; without it, the month before the one the event's `time` (or now) falls in, in
//! WIB, so the schedule that fires just after midnight WIB on the 1st reports the month that just ended. A run
//! recomputes its partners' rows rather than adding to them: a re-run, or a run over a month still in progress,
//! gives what one run over the final data gives.
//!
//! Sharded: as a Cloud Run job each task takes the partners with `id % CLOUD_RUN_TASK_COUNT =
//! CLOUD_RUN_TASK_INDEX`. It must not hold SQL or depend on the AWS SDK.

use chrono::{Datelike, NaiveDate};
use platform::job::Shard;
use serde_json::{json, Value};

/// The month (its first day) a run reports.
pub fn month(input: &Value, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<NaiveDate> {
    if let Some(m) = input.get("month") {
        let s = m
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("`month` must be a string like \"2026-10\""))?;
        return NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("`month` must be YYYY-MM, not `{s}`"));
    }
    let at = input
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(now, |t| t.with_timezone(&chrono::Utc));
    let wib = (at + chrono::Duration::hours(7)).date_naive();
    let this_month = NaiveDate::from_ymd_opt(wib.year(), wib.month(), 1).unwrap_or(wib);
    Ok(this_month - chrono::Months::new(1))
}

/// Recomputes the month for the shard's partners.
pub async fn run(
    db: &store::Db,
    input: &Value,
    shard: Shard,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let month = month(input, now)?;
    let rows = store::profit::recompute_month(db, month, shard.count, shard.index).await?;
    let (revenue, margin): (i64, i64) = rows
        .iter()
        .fold((0, 0), |(r, m), p| (r + p.revenue, m + p.gross_margin));
    tracing::info!(%month, partners = rows.len(), shard = shard.index, of = shard.count, "profit month computed");
    Ok(json!({
        "month": month.format("%Y-%m").to_string(),
        "shard": { "index": shard.index, "count": shard.count },
        "partners": rows.len(),
        "partner_ids": rows.iter().map(|p| p.partner_id).collect::<Vec<_>>(),
        "revenue": revenue,
        "gross_margin": margin,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_month_is_the_one_that_just_ended_in_wib() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 17:05 UTC on 30 November is 00:05 WIB on 1 December: November just ended.
        assert_eq!(month(&json!({}), at("2026-11-30T17:05:00Z")).unwrap(), d("2026-11-01"));
        // 16:55 UTC on 30 November is still 30 November in WIB: October is the last whole month.
        assert_eq!(month(&json!({}), at("2026-11-30T16:55:00Z")).unwrap(), d("2026-10-01"));
        // The scheduled event's own time wins over the clock, across a year boundary.
        assert_eq!(
            month(&json!({"time": "2026-12-31T17:00:00Z"}), at("2027-03-01T00:00:00Z")).unwrap(),
            d("2026-12-01")
        );
        assert_eq!(
            month(&json!({"month": "2026-02"}), at("2026-11-30T17:05:00Z")).unwrap(),
            d("2026-02-01")
        );
        assert!(month(&json!({"month": "2026-13"}), at("2026-11-30T17:05:00Z")).is_err());
    }
}
