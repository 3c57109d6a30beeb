//! `monthly-profit-job`: revenue, cost of goods and gross margin per partner for one month, into
//! `profit_reports`, through [`reports::ProfitReports`] (the rules are in `reports::profit`).
//!
//! Input: `{"month": "2026-10"}`; without it, the month before the one the event's `time` (or now) falls in, in
//! WIB, so the schedule that fires just after midnight WIB on the 1st reports the month that just ended. A run
//! recomputes its partners' rows rather than adding to them: a re-run, or a run over a month still in progress,
//! gives what one run over the final data gives.
//!
//! Sharded: as a Cloud Run job each task takes the partners with `id % CLOUD_RUN_TASK_COUNT =
//! CLOUD_RUN_TASK_INDEX`. It must not hold SQL, depend on the AWS SDK or name the adapters, which `main` wires in.

use chrono::NaiveDate;
use lambda_glue::job::Shard;
use reports::{ProfitLedger, ProfitReports};
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
    Ok(reports::profit::month_ended_before(at))
}

/// Recomputes the month for the shard's partners.
pub async fn run<L: ProfitLedger>(
    profit: &ProfitReports<L>,
    input: &Value,
    shard: Shard,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let month = month(input, now)?;
    let done = profit.recompute(month, shard.count, shard.index).await?;
    let rows = &done.partners;
    tracing::info!(%month, partners = rows.len(), shard = shard.index, of = shard.count, "profit month computed");
    Ok(json!({
        "month": month.format("%Y-%m").to_string(),
        "shard": { "index": shard.index, "count": shard.count },
        "partners": rows.len(),
        "partner_ids": rows.iter().map(|p| p.partner_id).collect::<Vec<_>>(),
        "revenue": done.revenue,
        "gross_margin": done.gross_margin,
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
