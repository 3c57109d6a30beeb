//! `order-expiry-job` against real PostgreSQL: overdue unpaid orders expire, their stock comes back, and running
//! twice changes nothing more.

use kernel::{Quantity, Sku};
use orders::{IdempotencyKey, Orders, PlaceOrder};
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

#[tokio::test]
async fn overdue_orders_expire_once_and_release_their_stock_and_paid_or_recent_ones_stay() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    testkit::no_minimum_order(&client).await;
    let orders = Orders::new(PgOrders::new(db.db()));
    let actor = testkit::auth::partner_actor(&client, "P-00001").await;
    let reserved = || async {
        client
            .query_one("SELECT sum(reserved)::int8 FROM inventory WHERE sku = 'SHM-00001'", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = reserved().await;
    let now = chrono::Utc::now();
    // Two orders placed three hours ago (past the 60-minute window), one placed now.
    for (key, at) in [
        ("old-1", now - chrono::Duration::hours(3)),
        ("old-2", now - chrono::Duration::hours(3)),
        ("new-1", now),
    ] {
        orders
            .place(PlaceOrder {
                actor: &actor,
                key: &IdempotencyKey::parse(key).unwrap(),
                fingerprint: key,
                cart: &[commercial::CartLine {
                    sku: Sku::parse("SHM-00001").unwrap(),
                    quantity: Quantity::new(2).unwrap(),
                }],
                now: at,
            })
            .await
            .unwrap();
    }
    assert_eq!(reserved().await, before + 6);

    let report = order_expiry_job::run(&orders, now).await.unwrap();
    assert_eq!(report["expired"], 2);
    assert_eq!(reserved().await, before + 2);
    let again = order_expiry_job::run(&orders, now).await.unwrap();
    assert_eq!(again["expired"], 0, "a second run finds nothing to do");
    assert_eq!(reserved().await, before + 2);
    let statuses: Vec<String> = client
        .query("SELECT status FROM orders ORDER BY placed_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["expired", "expired", "pending_payment"]);
    let events: i64 = client
        .query_one("SELECT count(*) FROM outbox WHERE event_type = 'order.expired'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 2);
}

#[test]
fn the_as_of_instant_comes_from_the_scheduled_event() {
    let ev = testkit::event("order-expiry-job/scheduled-event.json");
    assert_eq!(order_expiry_job::as_of(&ev).to_rfc3339(), "2026-11-27T00:00:00+00:00");
    let later = order_expiry_job::as_of(&serde_json::json!({}));
    assert!(later > chrono::Utc::now() - chrono::Duration::seconds(5));
}
