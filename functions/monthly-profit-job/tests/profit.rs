//! `monthly-profit-job` against real PostgreSQL: a hand-computed October, cancellations and returns included,
//! recomputed (not added to) on a re-run, and the same whether run whole or as two shards.

use lambda_glue::job::Shard;
use reports::{PartnerMonth, ProfitLedger, ProfitReports};
use serde_json::json;
use store::profit::PgProfit;
use testkit::{fresh_db, Template, TestDb};

/// The use case over the database's profit ledger.
fn profit(db: &TestDb) -> ProfitReports<PgProfit> {
    ProfitReports::new(PgProfit::new(db.db()))
}

/// Orders for partners 1 and 2 around October 2026 in WIB, with hand-computable totals.
async fn october(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "INSERT INTO orders (id, placed_at, partner_id, status, total, payment_due_at, placed_by) VALUES
               -- partner 1: paid on 1 Oct 00:30 WIB (30 Sep in UTC): counts for October
               ('00000000-0000-0000-0000-000000000001', '2026-09-30T17:30:00Z', 1, 'paid', 0, now(), 't'),
               -- partner 1: sent to the ERP mid-month
               ('00000000-0000-0000-0000-000000000002', '2026-10-15T03:00:00Z', 1, 'sent_to_erp', 0, now(), 't'),
               -- partner 1: cancelled and expired orders never count
               ('00000000-0000-0000-0000-000000000003', '2026-10-16T03:00:00Z', 1, 'cancelled', 0, now(), 't'),
               ('00000000-0000-0000-0000-000000000004', '2026-10-17T03:00:00Z', 1, 'expired', 0, now(), 't'),
               -- partner 1: 1 Nov 00:30 WIB (31 Oct in UTC): November's
               ('00000000-0000-0000-0000-000000000005', '2026-10-31T17:30:00Z', 1, 'paid', 0, now(), 't'),
               -- partner 2: fulfilled
               ('00000000-0000-0000-0000-000000000006', '2026-10-20T03:00:00Z', 2, 'fulfilled', 0, now(), 't'),
               -- partner 3: only an unpaid order: no row
               ('00000000-0000-0000-0000-000000000007', '2026-10-20T03:00:00Z', 3, 'pending_payment', 0, now(), 't');
             INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, unit_cost)
             SELECT o.id, o.placed_at, l.n, l.sku, (SELECT min(code) FROM warehouses), l.q, l.price, l.cost
             FROM orders o JOIN (VALUES
               ('00000000-0000-0000-0000-000000000001'::uuid, 1, 'SHM-00001', 10, 12000, 8000),
               ('00000000-0000-0000-0000-000000000001'::uuid, 2, 'CND-00002', 5, 20000, 15000),
               ('00000000-0000-0000-0000-000000000002'::uuid, 1, 'SHM-00001', 3, 12000, 9000),
               ('00000000-0000-0000-0000-000000000003'::uuid, 1, 'SHM-00001', 100, 12000, 8000),
               ('00000000-0000-0000-0000-000000000004'::uuid, 1, 'SHM-00001', 100, 12000, 8000),
               ('00000000-0000-0000-0000-000000000005'::uuid, 1, 'SHM-00001', 100, 12000, 8000),
               ('00000000-0000-0000-0000-000000000006'::uuid, 1, 'HCL-00003', 7, 30000, 21000),
               ('00000000-0000-0000-0000-000000000007'::uuid, 1, 'HCL-00003', 7, 30000, 21000)
             ) AS l (id, n, sku, q, price, cost) ON l.id = o.id;
             -- partner 1 returns 2 shampoos from order 1 in October (refund 24,000; goods back at cost 8,000 each)
             INSERT INTO order_returns (order_id, placed_at, sku, quantity, refund, erp_return_no, returned_at)
             VALUES ('00000000-0000-0000-0000-000000000001', '2026-09-30T17:30:00Z', 'SHM-00001', 2, 24000, 'RT-1',
                     '2026-10-20T03:00:00Z');",
        )
        .await
        .unwrap();
}

fn expected() -> Vec<PartnerMonth> {
    // Partner 1: revenue 10×12,000 + 5×20,000 + 3×12,000 − 24,000 = 232,000;
    //            cost 10×8,000 + 5×15,000 + 3×9,000 − 2×8,000 = 166,000.
    // Partner 2: revenue 7×30,000 = 210,000; cost 7×21,000 = 147,000.
    vec![
        PartnerMonth {
            partner_id: 1,
            orders: 2,
            revenue: 232_000,
            cost_of_goods: 166_000,
            gross_margin: 66_000,
            returns: 24_000,
            dpp: 0,
            ppn: 0,
        },
        PartnerMonth {
            partner_id: 2,
            orders: 1,
            revenue: 210_000,
            cost_of_goods: 147_000,
            gross_margin: 63_000,
            returns: 0,
            dpp: 0,
            ppn: 0,
        },
    ]
}

#[tokio::test]
async fn october_matches_the_hand_computed_month_and_a_rerun_or_two_shards_give_the_same() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    maintenance::Housekeeping::ensure_partitions(
        &store::maintenance::PgHousekeeping::new(db.db()),
        chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        3,
    )
    .await
    .unwrap();
    october(&client).await;
    let oct = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let input = json!({"month": "2026-10"});
    let now = chrono::Utc::now();

    monthly_profit_job::run(&profit(&db), &input, Shard::ALL, now)
        .await
        .unwrap();
    assert_eq!(PgProfit::new(db.db()).report(oct).await.unwrap(), expected());
    monthly_profit_job::run(&profit(&db), &input, Shard::ALL, now)
        .await
        .unwrap();
    assert_eq!(
        PgProfit::new(db.db()).report(oct).await.unwrap(),
        expected(),
        "a re-run recomputes"
    );

    // A late return lands in October: the re-run reflects it rather than adding the month again.
    client
        .execute(
            "INSERT INTO order_returns (order_id, placed_at, sku, quantity, refund, erp_return_no, returned_at)
             VALUES ('00000000-0000-0000-0000-000000000006', '2026-10-20T03:00:00Z', 'HCL-00003', 1, 30000, 'RT-2',
                     '2026-10-31T10:00:00Z')",
            &[],
        )
        .await
        .unwrap();
    client.execute("DELETE FROM profit_reports", &[]).await.unwrap();
    for index in 0..2 {
        monthly_profit_job::run(&profit(&db), &input, Shard { index, count: 2 }, now)
            .await
            .unwrap();
    }
    let mut want = expected();
    want[1].revenue -= 30_000;
    want[1].cost_of_goods -= 21_000;
    want[1].gross_margin -= 9_000;
    want[1].returns = 30_000;
    assert_eq!(
        PgProfit::new(db.db()).report(oct).await.unwrap(),
        want,
        "two shards cover every partner once"
    );
}

#[test]
fn the_sample_scheduled_event_reports_the_month_that_just_ended() {
    let ev = testkit::event("monthly-profit-job/scheduled-event.json");
    let month = monthly_profit_job::month(&ev, chrono::Utc::now()).unwrap();
    assert_eq!(
        month,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        "fired 00:05 WIB on 1 December"
    );
    let rerun = testkit::event("monthly-profit-job/rerun-october.json");
    assert_eq!(
        monthly_profit_job::month(&rerun, chrono::Utc::now()).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
    );
}

#[tokio::test]
async fn the_months_ppn_is_reported_beside_revenue_and_a_confirmed_terms_order_is_a_sale() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    maintenance::Housekeeping::ensure_partitions(
        &store::maintenance::PgHousekeeping::new(db.db()),
        chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        3,
    )
    .await
    .unwrap();
    // Three orders of 1 250 000 at 12 % on 11/12 (DPP 1 145 833, PPN 137 500): one paid, one confirmed on 30-day
    // terms, one still awaiting payment (not a sale).
    client
        .batch_execute(
            "INSERT INTO orders (id, placed_at, partner_id, status, total, payment_due_at, placed_by, ppn_tariff_bp,
                                 ppn_dpp_numerator, ppn_dpp_denominator, dpp, ppn, payment_terms_days) VALUES
               ('00000000-0000-0000-0000-000000000011', '2026-10-10T03:00:00Z', 1, 'paid', 1250000, now(), 't',
                1200, 11, 12, 1145833, 137500, NULL),
               ('00000000-0000-0000-0000-000000000012', '2026-10-11T03:00:00Z', 1, 'confirmed', 1250000, now(), 't',
                1200, 11, 12, 1145833, 137500, 30),
               ('00000000-0000-0000-0000-000000000013', '2026-10-12T03:00:00Z', 1, 'pending_payment', 1250000, now(),
                't', 1200, 11, 12, 1145833, 137500, NULL);
             INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, unit_cost)
             SELECT id, placed_at, 1, 'SHM-00001', (SELECT min(code) FROM warehouses), 10, 125000, 100000 FROM orders;",
        )
        .await
        .unwrap();
    monthly_profit_job::run(
        &profit(&db),
        &json!({"month": "2026-10"}),
        Shard::ALL,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let oct = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    assert_eq!(
        PgProfit::new(db.db()).report(oct).await.unwrap(),
        vec![PartnerMonth {
            partner_id: 1,
            orders: 2,
            revenue: 2_500_000,
            cost_of_goods: 2_000_000,
            gross_margin: 500_000,
            returns: 0,
            dpp: 2_291_666,
            ppn: 275_000,
        }]
    );
}
