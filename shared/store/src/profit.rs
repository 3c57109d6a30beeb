//! The monthly profit report in Postgres ([`reports::ProfitLedger`]): the rules `reports::profit` states, as one
//! query over the month's orders and returns.
//!
//! A run recomputes the month for its partners and replaces their rows in one transaction, so a re-run or a
//! partial month never adds to what is there.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use chrono::NaiveDate;
use reports::{PartnerMonth, ProfitLedger};
use tokio_postgres::types::Type;

const COMPUTE: &str = "
WITH bounds AS (
    SELECT ($1::date::timestamp AT TIME ZONE 'Asia/Jakarta') AS lo,
           (($1::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Jakarta') AS hi
), scope AS (
    SELECT id FROM partners WHERE id % $2 = $3
), sold AS (
    SELECT o.id, o.placed_at, o.partner_id, o.dpp, o.ppn FROM orders o, bounds b
    WHERE o.placed_at >= b.lo AND o.placed_at < b.hi
      AND o.status IN ('paid', 'confirmed', 'sent_to_erp', 'partly_shipped', 'fulfilled')
      AND o.partner_id IN (SELECT id FROM scope)
), sales AS (
    SELECT o.partner_id, count(DISTINCT o.id) AS orders,
           sum(l.quantity::int8 * l.unit_price) AS revenue, sum(l.quantity::int8 * l.unit_cost) AS cogs
    FROM sold o JOIN order_lines l ON l.order_id = o.id AND l.placed_at = o.placed_at
    GROUP BY o.partner_id
), taxed AS (
    SELECT partner_id, sum(dpp) AS dpp, sum(ppn) AS ppn FROM sold GROUP BY partner_id
), back AS (
    SELECT o.partner_id, sum(r.refund) AS refunds,
           sum(r.quantity::int8 * coalesce((SELECT max(l.unit_cost) FROM order_lines l
                                            WHERE l.order_id = r.order_id AND l.placed_at = r.placed_at
                                              AND l.sku = r.sku), 0)) AS cogs_back
    FROM order_returns r JOIN orders o ON o.id = r.order_id AND o.placed_at = r.placed_at, bounds b
    WHERE r.returned_at >= b.lo AND r.returned_at < b.hi
      AND o.partner_id IN (SELECT id FROM scope)
    GROUP BY o.partner_id
)
SELECT p.id,
       coalesce(s.orders, 0)::int8,
       (coalesce(s.revenue, 0) - coalesce(k.refunds, 0))::int8,
       (coalesce(s.cogs, 0) - coalesce(k.cogs_back, 0))::int8,
       coalesce(k.refunds, 0)::int8,
       coalesce(t.dpp, 0)::int8,
       coalesce(t.ppn, 0)::int8
FROM scope p LEFT JOIN sales s ON s.partner_id = p.id LEFT JOIN back k ON k.partner_id = p.id
     LEFT JOIN taxed t ON t.partner_id = p.id
WHERE s.partner_id IS NOT NULL OR k.partner_id IS NOT NULL
ORDER BY p.id";

/// The profit report table (writer pool).
#[derive(Debug, Clone)]
pub struct PgProfit {
    db: Db,
}

impl PgProfit {
    pub fn new(db: Db) -> Self {
        PgProfit { db }
    }
}

impl ProfitLedger for PgProfit {
    async fn recompute_month(&self, month: NaiveDate, count: u32, index: u32) -> anyhow::Result<Vec<PartnerMonth>> {
        let (count, index) = (i64::from(count), i64::from(index));
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(|e| anyhow!(describe(&e)))?;
        let rows = tx
            .query_typed(
                COMPUTE,
                &[(&month, Type::DATE), (&count, Type::INT8), (&index, Type::INT8)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        let months: Vec<PartnerMonth> = rows
            .iter()
            .map(|r| {
                let (revenue, cogs): (i64, i64) = (r.get(2), r.get(3));
                PartnerMonth {
                    partner_id: r.get(0),
                    orders: r.get(1),
                    revenue,
                    cost_of_goods: cogs,
                    gross_margin: revenue - cogs,
                    returns: r.get(4),
                    dpp: r.get(5),
                    ppn: r.get(6),
                }
            })
            .collect();
        tx.execute_typed(
            "DELETE FROM profit_reports WHERE month = $1 AND partner_id % $2 = $3",
            &[(&month, Type::DATE), (&count, Type::INT8), (&index, Type::INT8)],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
        let ids: Vec<i64> = months.iter().map(|m| m.partner_id).collect();
        let orders: Vec<i32> = months
            .iter()
            .map(|m| i32::try_from(m.orders).unwrap_or(i32::MAX))
            .collect();
        let revenue: Vec<i64> = months.iter().map(|m| m.revenue).collect();
        let cogs: Vec<i64> = months.iter().map(|m| m.cost_of_goods).collect();
        let margin: Vec<i64> = months.iter().map(|m| m.gross_margin).collect();
        let returns: Vec<i64> = months.iter().map(|m| m.returns).collect();
        let dpp: Vec<i64> = months.iter().map(|m| m.dpp).collect();
        let ppn: Vec<i64> = months.iter().map(|m| m.ppn).collect();
        tx.execute_typed(
            "INSERT INTO profit_reports (month, partner_id, orders, revenue, cost_of_goods, gross_margin, returns, dpp,
                                     ppn)
         SELECT $1, * FROM unnest($2::int8[], $3::int4[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
                                  $8::int8[], $9::int8[])",
            &[
                (&month, Type::DATE),
                (&ids, Type::INT8_ARRAY),
                (&orders, Type::INT4_ARRAY),
                (&revenue, Type::INT8_ARRAY),
                (&cogs, Type::INT8_ARRAY),
                (&margin, Type::INT8_ARRAY),
                (&returns, Type::INT8_ARRAY),
                (&dpp, Type::INT8_ARRAY),
                (&ppn, Type::INT8_ARRAY),
            ],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
        tx.commit().await.map_err(|e| anyhow!(describe(&e)))?;
        Ok(months)
    }

    async fn report(&self, month: NaiveDate) -> anyhow::Result<Vec<PartnerMonth>> {
        let client = self.db.read_client().await?;
        let rows = client
        .query_typed(
            "SELECT partner_id, orders::int8, revenue, cost_of_goods, gross_margin, returns, dpp, ppn FROM profit_reports
             WHERE month = $1 ORDER BY partner_id",
            &[(&month, Type::DATE)],
        )
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
        Ok(rows
            .iter()
            .map(|r| PartnerMonth {
                partner_id: r.get(0),
                orders: r.get(1),
                revenue: r.get(2),
                cost_of_goods: r.get(3),
                gross_margin: r.get(4),
                returns: r.get(5),
                dpp: r.get(6),
                ppn: r.get(7),
            })
            .collect())
    }
}
