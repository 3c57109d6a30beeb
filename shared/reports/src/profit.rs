//! The monthly profit report (seed 000): revenue, cost of goods and gross margin per partner for one month.
//!
//! A month's figures come from the orders placed in it that were sold: paid (`paid`, `sent_to_erp`,
//! `partly_shipped`, `fulfilled`), or confirmed on payment terms (`confirmed`); cancelled and expired orders never
//! count. Revenue never includes PPN: the month's tax base (`dpp`) and output tax (`ppn`) are reported beside it, as
//! each order was invoiced. Returns recorded in the month (by `returned_at`) take their refund off revenue and their
//! goods, at the cost the line was sold at, off cost of goods. Month boundaries are in WIB (Asia/Jakarta, UTC+7),
//! the distributor's business day. The [`ProfitLedger`] computes the figures by these rules.

use crate::ports::ProfitLedger;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// One partner's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerMonth {
    pub partner_id: i64,
    pub orders: i64,
    pub revenue: i64,
    pub cost_of_goods: i64,
    pub gross_margin: i64,
    pub returns: i64,
    /// The month's PPN base and output tax, as its orders were invoiced.
    pub dpp: i64,
    pub ppn: i64,
}

/// The month (its first day) a run at `at` reports when none is named: the one before the month `at` falls in, in
/// WIB, so a run just after midnight WIB on the 1st reports the month that just ended.
pub fn month_ended_before(at: DateTime<Utc>) -> NaiveDate {
    let wib = (at + chrono::Duration::hours(7)).date_naive();
    let this_month = NaiveDate::from_ymd_opt(wib.year(), wib.month(), 1).unwrap_or(wib);
    this_month - chrono::Months::new(1)
}

/// What one recomputation wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthRecomputed {
    pub month: NaiveDate,
    /// The rows written, by partner.
    pub partners: Vec<PartnerMonth>,
    /// Σ revenue over `partners`.
    pub revenue: i64,
    /// Σ gross margin over `partners`.
    pub gross_margin: i64,
}

/// The profit report over its ledger.
#[derive(Debug)]
pub struct ProfitReports<L> {
    ledger: L,
}

impl<L: ProfitLedger> ProfitReports<L> {
    pub fn new(ledger: L) -> Self {
        ProfitReports { ledger }
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// Recomputes `month` for the shard of partners with `id % count = index`, replacing their rows.
    pub async fn recompute(&self, month: NaiveDate, count: u32, index: u32) -> anyhow::Result<MonthRecomputed> {
        let partners = self.ledger.recompute_month(month, count, index).await?;
        let (revenue, gross_margin): (i64, i64) = partners
            .iter()
            .fold((0, 0), |(r, m), p| (r + p.revenue, m + p.gross_margin));
        Ok(MonthRecomputed {
            month,
            partners,
            revenue,
            gross_margin,
        })
    }
}
