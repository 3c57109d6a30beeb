//! `price-sync-job` against real PostgreSQL and the fake ERP's price feed: changes applied atomically and logged,
//! the same feed twice changes nothing, and an ERP outage changes nothing.

use erp::HttpErp;
use fake_erp::{CostPriceRow, FakeErp};
use std::time::Duration;
use store::prices::PgCostPrices;
use supply_sync::prices::sync_cost_prices;
use testkit::{fresh_db, Template};

async fn cost(client: &tokio_postgres::Client, sku: &str) -> i64 {
    client
        .query_one("SELECT cost_price FROM products WHERE sku = $1", &[&sku])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_feed_changes_costs_once_logs_each_change_and_an_outage_changes_nothing() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    let unchanged = cost(&client, "HCL-00003").await;
    let erp = FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    erp.set_cost_prices(vec![
        CostPriceRow::new("SHM-00001", "81234.00"),
        CostPriceRow::new("CND-00002", "15500.00"),
        CostPriceRow::new("HCL-00003", &format!("{unchanged}.00")),
        CostPriceRow::new("ZZZ-99999", "1000.00"),
    ]);
    let client_erp = HttpErp::new(&erp.url(), Duration::from_secs(2)).unwrap();

    let first = sync_cost_prices(&client_erp, &PgCostPrices::new(db.db()))
        .await
        .unwrap();
    assert_eq!(
        (first["changed"].as_u64(), first["unknown_skus"].as_u64()),
        (Some(2), Some(1)),
        "{first}"
    );
    assert_eq!(cost(&client, "SHM-00001").await, 81_234);
    assert_eq!(cost(&client, "CND-00002").await, 15_500);
    assert_eq!(cost(&client, "HCL-00003").await, unchanged);
    let logged: i64 = client
        .query_one("SELECT count(*) FROM price_sync_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 2);

    let second = sync_cost_prices(&client_erp, &PgCostPrices::new(db.db()))
        .await
        .unwrap();
    assert_eq!(second["changed"], 0, "the same feed twice changes nothing");

    erp.set_cost_prices(vec![CostPriceRow::new("SHM-00001", "1.00")]);
    erp.switches().set_outage(true);
    assert!(sync_cost_prices(&client_erp, &PgCostPrices::new(db.db()))
        .await
        .is_err());
    assert_eq!(
        cost(&client, "SHM-00001").await,
        81_234,
        "nothing changes while the ERP is down"
    );
    let logged: i64 = client
        .query_one("SELECT count(*) FROM price_sync_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 2);
}
