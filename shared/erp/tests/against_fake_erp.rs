//! `HttpErp` against the fake ERP over real HTTP: the wire format both sides agree on, and how each way the ERP
//! can fail reaches the caller.

use chrono::{TimeZone, Utc};
use commercial::PpnRate;
use erp::HttpErp;
use fake_erp::{BalanceRow, CostPriceRow, FakeErp, StockRow};
use kernel::{Money, Sku, Tier};
use orders::{Order, OrderLine, OrderStatus};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use supply_sync::{ErpBalance, ErpClient, ErpCostPrice, ErpError, ErpStock};
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn fake() -> FakeErp {
    FakeErp::start(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap()
}

fn client(erp: &FakeErp, timeout: Duration) -> HttpErp {
    HttpErp::new(&erp.url(), timeout).unwrap()
}

fn line(sku: &str, warehouse: &str, quantity: u32, unit_price: i64) -> OrderLine {
    let unit_price = Money::from_minor(unit_price);
    OrderLine {
        sku: Sku::parse(sku).unwrap(),
        warehouse: warehouse.into(),
        quantity,
        list_price: unit_price,
        unit_price,
        line_total: unit_price.times(quantity).unwrap(),
        shipped: 0,
        returned: 0,
    }
}

/// A paid order of 12 × 94 000 + 1 × 122 000 = 1 250 000, placed 28/11/2026 10:15:07 WIB.
fn order() -> Order {
    let placed_at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 15, 7).unwrap();
    Order {
        id: Uuid::new_v4(),
        status: OrderStatus::Paid,
        partner_id: 17,
        tier: Tier::Silver,
        placed_by: "partner:17".into(),
        placed_by_agent: None,
        placed_at,
        payment_due_at: placed_at + chrono::Duration::hours(24),
        paid_at: Some(placed_at + chrono::Duration::minutes(5)),
        lines: vec![
            line("SHM-00001", "JKT-CKR", 12, 94_000),
            line("SHM-00002", "SBY-RKT", 1, 122_000),
        ],
        list_total: Money::from_minor(1_250_000),
        discount: Money::ZERO,
        total: Money::from_minor(1_250_000),
        tax: PpnRate::PMK_131_2024.on(Money::from_minor(1_250_000)).unwrap(),
        currency: kernel::Currency::Idr,
        payment_terms_days: None,
        promised_sla_hours: 48,
        erp_order_no: None,
    }
}

#[tokio::test]
async fn a_new_order_is_received_and_sending_it_again_is_recognised_as_already_received() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let order = order();

    let first = erp.send_order(&order).await.unwrap();
    assert!(!first.already_received);
    assert!(first.erp_order_no.starts_with("SO-"), "{}", first.erp_order_no);

    let again = erp.send_order(&order).await.unwrap();
    assert!(again.already_received);
    assert_eq!(again.erp_order_no, first.erp_order_no);
    assert_eq!(fake.received_count(false), 2);
    assert_eq!(fake.received_count(true), 1);
}

#[tokio::test]
async fn the_erp_receives_the_order_in_its_own_terms_dated_in_wib() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let order = order();
    erp.send_order(&order).await.unwrap();

    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].no_ref, order.id.to_string());
    assert_eq!(
        received[0].document,
        json!({
            "NoRef": order.id.to_string(),
            "KodePelanggan": "17",
            "TglPesan": "28/11/2026 10:15:07",
            "Total": "1250000.00",
            "Pajak": [
                {"Jenis": "PPN", "KodeTransaksi": "04", "Dpp": "1145833.00", "Tarif": "12.00", "Nilai": "137500.00"}
            ],
            "TotalBayar": "1387500.00",
            "Detail": [
                {"KodeBarang": "SHM-00001", "KodeGudang": "JKT-CKR", "Qty": 12, "Harga": "94000.00"},
                {"KodeBarang": "SHM-00002", "KodeGudang": "SBY-RKT", "Qty": 1, "Harga": "122000.00"}
            ]
        })
    );
}

#[tokio::test]
async fn a_terms_order_reaches_the_erp_with_its_days_and_the_erp_checks_its_tax_line() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let mut order = order();
    order.status = OrderStatus::Confirmed;
    order.paid_at = None;
    order.payment_terms_days = Some(30);
    // 12 % on 11/12 of 1 250 001: the exact tax is 137 500.11, so the ERP expects 137 500.
    order.lines[1] = line("SHM-00002", "SBY-RKT", 1, 122_001);
    order.total = Money::from_minor(1_250_001);
    order.tax = PpnRate::PMK_131_2024.on(order.total).unwrap();
    assert_eq!(order.tax.ppn, Money::from_minor(137_500));
    assert!(!erp.send_order(&order).await.unwrap().already_received);
    let doc = &fake.received()[0].document;
    assert_eq!(doc["TerminHari"], 30);
    assert_eq!(doc["TotalBayar"], "1387501.00");
    assert_eq!(doc["Pajak"][0]["Dpp"], "1145834.00");
}

#[tokio::test]
async fn an_outage_is_unavailable_and_retryable_and_the_order_can_be_sent_once_it_is_over() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let order = order();
    fake.switches().set_outage(true);

    let err = erp.send_order(&order).await.unwrap_err();
    assert!(matches!(err, ErpError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(matches!(erp.stock().await, Err(ErpError::Unavailable(_))));
    assert_eq!(fake.received_count(false), 0);

    fake.switches().set_outage(false);
    assert!(!erp.send_order(&order).await.unwrap().already_received);
}

#[tokio::test]
async fn a_server_error_is_unavailable_and_retryable() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    fake.switches().set_error_rate(1.0).unwrap();
    let err = erp.send_order(&order()).await.unwrap_err();
    assert!(
        matches!(err, ErpError::Unavailable(ref m) if m.contains("500")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(matches!(erp.balances().await, Err(ErpError::Unavailable(_))));
}

#[tokio::test]
async fn an_order_the_erp_refuses_is_rejected_with_its_reason_and_not_retryable() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let mut wrong_total = order();
    wrong_total.total = Money::from_minor(1_250_001);
    let mut no_lines = order();
    no_lines.lines.clear();

    // PPN rounded up instead of down (the ERP recomputes it from the price), and a total due that leaves it out.
    let mut rounded_up = order();
    rounded_up.tax.ppn = Money::from_minor(137_501);
    rounded_up.tax.total_incl_tax = Money::from_minor(1_387_501);
    let mut untaxed_total = order();
    untaxed_total.tax.total_incl_tax = untaxed_total.total;

    for bad in [wrong_total, no_lines, rounded_up, untaxed_total] {
        let err = erp.send_order(&bad).await.unwrap_err();
        assert!(matches!(err, ErpError::Rejected(ref m) if m.contains("422")), "{err:?}");
        assert!(!err.is_retryable());
    }
    assert_eq!(fake.received_count(false), 0);
}

#[tokio::test]
async fn a_reply_not_in_the_documented_shape_is_malformed_and_retryable() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    fake.set_stock(vec![StockRow::new("JKT-CKR", "SHM-00001", 120)]);
    fake.switches().set_malformed(true);

    let err = erp.send_order(&order()).await.unwrap_err();
    assert!(matches!(err, ErpError::Malformed(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(matches!(erp.stock().await, Err(ErpError::Malformed(_))));
    assert!(matches!(erp.balances().await, Err(ErpError::Malformed(_))));
    assert!(matches!(erp.cost_prices().await, Err(ErpError::Malformed(_))));
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable_and_the_retry_finds_the_order_already_received() {
    let fake = fake().await;
    let erp = client(&fake, Duration::from_millis(300));
    let order = order();
    fake.switches().set_slow(Duration::from_secs(3));

    let err = erp.send_order(&order).await.unwrap_err();
    assert!(
        matches!(err, ErpError::Unavailable(ref m) if m.contains("timed out")),
        "{err:?}"
    );
    assert!(err.is_retryable());

    // The ERP took it before stalling; the resend must not make a second order.
    fake.switches().set_slow(Duration::ZERO);
    let retry = erp.send_order(&order).await.unwrap();
    assert!(retry.already_received);
    assert_eq!(fake.received_count(true), 1);
}

#[tokio::test]
async fn an_erp_that_is_not_listening_is_unavailable() {
    let fake = fake().await;
    let url = fake.url();
    fake.stop().await;
    let erp = HttpErp::new(&url, TIMEOUT).unwrap();
    let err = erp.send_order(&order()).await.unwrap_err();
    assert!(matches!(err, ErpError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn stock_translates_to_niaga_types_and_a_bad_row_is_skipped_and_counted() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    fake.set_as_of("28/11/2026 10:00:00");
    fake.set_stock(vec![
        StockRow::new("JKT-CKR", "SHM-00001", 120),
        StockRow::new("SBY-RKT", "shm-00002", 0),
        StockRow::new("JKT-CKR", "SHM 00003", 7),
        StockRow::new("JKT-CKR", "SHM-00004", -2),
    ]);

    let snap = erp.stock().await.unwrap();
    assert_eq!(snap.as_of, Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap());
    assert_eq!(
        snap.rows,
        vec![
            ErpStock {
                warehouse: "JKT-CKR".into(),
                sku: Sku::parse("SHM-00001").unwrap(),
                on_hand: 120
            },
            ErpStock {
                warehouse: "SBY-RKT".into(),
                sku: Sku::parse("SHM-00002").unwrap(),
                on_hand: 0
            },
        ]
    );
    assert_eq!(snap.skipped, 2);
}

#[tokio::test]
async fn balances_translate_to_partner_ids_and_money_and_a_bad_row_is_skipped_and_counted() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    fake.set_as_of("01/12/2026 00:30:00");
    fake.set_balances(vec![
        BalanceRow::new("17", "2500000.00"),
        BalanceRow::new("18", "-150000.00"),
        BalanceRow::new("19", "2.500.000,00"),
    ]);

    let snap = erp.balances().await.unwrap();
    // Half past midnight in Jakarta is still the previous evening in UTC.
    assert_eq!(snap.as_of, Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 0).unwrap());
    assert_eq!(
        snap.rows,
        vec![
            ErpBalance {
                partner_id: 17,
                outstanding: Money::from_minor(2_500_000)
            },
            ErpBalance {
                partner_id: 18,
                outstanding: Money::from_minor(-150_000)
            },
        ]
    );
    assert_eq!(snap.skipped, 1);
}

#[tokio::test]
async fn cost_prices_translate_and_a_fraction_of_a_rupiah_is_skipped_and_counted() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    fake.set_as_of("28/11/2026 10:00:00");
    fake.set_cost_prices(vec![
        CostPriceRow::new("SHM-00001", "80000.00"),
        CostPriceRow::new("SHM-00002", "80000.50"),
    ]);

    let snap = erp.cost_prices().await.unwrap();
    assert_eq!(
        snap.rows,
        vec![ErpCostPrice {
            sku: Sku::parse("SHM-00001").unwrap(),
            cost: Money::from_minor(80_000)
        }]
    );
    assert_eq!(snap.skipped, 1);
}

#[tokio::test]
async fn a_feed_with_the_clock_as_of_time_is_dated_within_seconds_of_now() {
    let fake = fake().await;
    let erp = client(&fake, TIMEOUT);
    let snap = erp.stock().await.unwrap();
    let drift = (Utc::now() - snap.as_of).num_seconds().abs();
    assert!(drift <= 5, "as_of {} is {drift}s from now", snap.as_of);
    assert!(snap.rows.is_empty());
}

/// `ErpClient` is usable as a generic bound by a sync job (and its futures are `Send`, so they can be spawned).
#[tokio::test]
async fn the_port_works_behind_a_generic_bound_on_a_spawned_task() {
    async fn sync_stock<E: ErpClient + 'static>(erp: std::sync::Arc<E>) -> usize {
        tokio::spawn(async move { erp.stock().await.map(|s| s.rows.len()).unwrap_or(0) })
            .await
            .unwrap()
    }
    let fake = fake().await;
    fake.set_stock(vec![StockRow::new("JKT-CKR", "SHM-00001", 1)]);
    assert_eq!(sync_stock(std::sync::Arc::new(client(&fake, TIMEOUT))).await, 1);
}

#[tokio::test]
async fn shipments_and_returns_come_through_the_movement_feed_in_booking_order_and_stock_says_which_it_includes() {
    let fake = fake().await;
    fake.set_stock(vec![
        fake_erp::StockRow::new("JKT-CKR", "SHM-00001", 40),
        fake_erp::StockRow::new("SBY-RKT", "SHM-00002", 5),
    ]);
    let erp = client(&fake, TIMEOUT);
    let order = order();
    erp.send_order(&order).await.unwrap();
    let no_ref = order.id.to_string();

    let before = erp.stock().await.unwrap();
    assert_eq!(before.seq, Some(0), "no movement booked yet");
    fake.ship(
        &no_ref,
        Some(vec![fake_erp::MovementLine::new("JKT-CKR", "SHM-00001", 5)]),
    )
    .unwrap();
    fake.ship(&no_ref, None).unwrap();
    fake.receive_return(&no_ref, vec![fake_erp::MovementLine::new("SBY-RKT", "SHM-00002", 1)])
        .unwrap();

    let feed = erp.movements(0).await.unwrap();
    assert_eq!(feed.seq, Some(3));
    type Seen = (u64, supply_sync::MovementKind, Vec<(String, String, u32)>);
    let seen: Vec<Seen> = feed
        .rows
        .iter()
        .map(|m| {
            assert_eq!(m.order_ref.as_deref(), Some(no_ref.as_str()));
            let lines = m
                .lines
                .iter()
                .map(|l| (l.warehouse.clone(), l.sku.to_string(), l.quantity))
                .collect();
            (m.seq, m.kind, lines)
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                supply_sync::MovementKind::Shipment,
                vec![("JKT-CKR".into(), "SHM-00001".into(), 5)]
            ),
            (
                2,
                supply_sync::MovementKind::Shipment,
                vec![
                    ("JKT-CKR".into(), "SHM-00001".into(), 7),
                    ("SBY-RKT".into(), "SHM-00002".into(), 1)
                ]
            ),
            (
                3,
                supply_sync::MovementKind::Return,
                vec![("SBY-RKT".into(), "SHM-00002".into(), 1)]
            ),
        ]
    );
    assert_eq!(
        erp.movements(2).await.unwrap().rows.len(),
        1,
        "only what came after the cursor"
    );
    let after = erp.stock().await.unwrap();
    assert_eq!(after.seq, Some(3));
    let counts: Vec<u32> = after.rows.iter().map(|r| r.on_hand).collect();
    assert_eq!(counts, [28, 5], "40 - 12 shipped; 5 - 1 shipped + 1 returned");

    // The ERP refuses what it cannot book, and nothing moves.
    assert!(fake.ship(&no_ref, None).is_err(), "nothing left to ship");
    assert!(fake
        .receive_return(&no_ref, vec![fake_erp::MovementLine::new("SBY-RKT", "SHM-00002", 2)])
        .is_err());
    assert_eq!(fake.movements().len(), 3);
}
