//! `stock-sync-job` against real PostgreSQL and the fake ERP: synced copies update in one go, only when due, and
//! stand unchanged (with the failure recorded) while the ERP is down; on hand is the ERP's count, told honestly.

use erp::HttpErp;
use fake_erp::{BalanceRow, FakeErp, StockRow};
use std::time::Duration;
use store::erp_sync::PgErpSync;
use supply_sync::SyncLedger;
use testkit::{fresh_db, Template};

#[tokio::test]
async fn stock_and_debt_sync_when_due_tell_on_hand_honestly_and_stand_through_an_outage() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    // One row with more reserved than the ERP will report.
    client
        .batch_execute(
            "UPDATE inventory SET on_hand = 40, reserved = 10 WHERE warehouse_code = 'SUB-RKT' AND sku = 'SHM-00001';",
        )
        .await
        .unwrap();
    let erp = FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    erp.set_stock(vec![
        StockRow::new("SUB-RKT", "SHM-00001", 3),
        StockRow::new("MDN-KIM", "SHM-00001", 77),
        StockRow::new("MDN-KIM", "not a sku!", 5),
    ]);
    erp.set_balances(vec![
        BalanceRow::new("1", "2500000.00"),
        BalanceRow::new("2", "-100.00"),
    ]);
    let client_erp = HttpErp::new(&erp.url(), Duration::from_secs(2)).unwrap();
    let sync = PgErpSync::new(db.db());
    let now = chrono::Utc::now();

    let report = supply_sync::stock::sync_stock(
        &client_erp,
        &sync,
        &store::settings::PgSettings::new(db.db()),
        false,
        now,
    )
    .await
    .unwrap();
    assert_eq!(report["stock"]["applied"], 2, "{report}");
    assert_eq!(report["stock"]["skipped"], 1);
    assert_eq!(
        report["stock"]["short"], 1,
        "one row now has less on hand than is reserved"
    );
    let stock = |w: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT on_hand, reserved FROM inventory WHERE warehouse_code = $1 AND sku = 'SHM-00001'",
                    &[&w],
                )
                .await
                .unwrap()
        }
    };
    // The ERP has 3: on hand says 3, not the 10 that are reserved. Raising it to 10 would count 7 units the ERP
    // does not have, and sell them again once the reservations are shipped. Sellable is 0.
    let short = stock("SUB-RKT").await;
    assert_eq!((short.get::<_, i32>(0), short.get::<_, i32>(1)), (3, 10));
    assert_eq!(stock("MDN-KIM").await.get::<_, i32>(0), 77);
    let debt = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one("SELECT erp_debt FROM partners WHERE id = $1", &[&id])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    assert_eq!(debt(1).await, 2_500_000);
    assert_eq!(debt(2).await, 0, "a credit is no debt");

    // Not due again until the interval passes.
    let again = supply_sync::stock::sync_stock(
        &client_erp,
        &sync,
        &store::settings::PgSettings::new(db.db()),
        false,
        now,
    )
    .await
    .unwrap();
    assert!(
        again.get("stock").is_none() && again.get("balances").is_none(),
        "{again}"
    );

    // The ERP goes down: a forced run records the failure and the synced data stands.
    erp.switches().set_outage(true);
    let down = supply_sync::stock::sync_stock(
        &client_erp,
        &sync,
        &store::settings::PgSettings::new(db.db()),
        true,
        now,
    )
    .await
    .unwrap();
    assert!(down["stock"]["error"].is_string(), "{down}");
    assert_eq!(stock("MDN-KIM").await.get::<_, i32>(0), 77);
    assert_eq!(debt(1).await, 2_500_000);
    let status = sync.status().await.unwrap();
    let stock_status = status.iter().find(|s| s.kind == "stock").unwrap();
    assert!(stock_status.last_error.is_some());
    assert!(
        stock_status.last_success_at.is_some(),
        "the last success is still known, so its age is visible"
    );
}
