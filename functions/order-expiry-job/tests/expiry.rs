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

/// Expiry batches and checkouts on the same SKUs, at once, on real PostgreSQL. Checkout locks a cart's inventory
/// rows in the global (sku, warehouse) order; an expiry batch whose orders hold those SKUs in the opposite order
/// (the first order due holds the upper half, the next the lower half, and so on) must lock them in that same
/// global order too, or the two wait on each other in a cycle and PostgreSQL aborts one with a deadlock (40P01).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_batches_and_concurrent_checkouts_on_the_same_skus_never_deadlock() {
    const SKUS: i64 = 16;
    const OVERDUE_PER_ROUND: usize = 8;
    const CHECKOUTS_PER_ROUND: usize = 6;
    const ROUNDS: usize = 8;
    let test_db = fresh_db(Template::Seeded).await;
    let client = test_db.client().await;
    testkit::no_minimum_order(&client).await;
    let skus: Vec<String> = client
        .query(
            "SELECT DISTINCT i.sku FROM inventory i JOIN products p USING (sku) WHERE p.is_active
             ORDER BY i.sku LIMIT $1",
            &[&SKUS],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(skus.len() as i64, SKUS);
    // Plenty of stock and credit: the only way an order can fail here is the database refusing it.
    client
        .execute(
            "UPDATE inventory SET on_hand = 1000000, reserved = 0, buffer = 0 WHERE sku = ANY($1)",
            &[&skus],
        )
        .await
        .unwrap();
    client
        .batch_execute("UPDATE partners SET credit_limit = 1000000000000000, erp_debt = 0")
        .await
        .unwrap();
    let orders = std::sync::Arc::new(Orders::new(PgOrders::new(
        test_db.db_with_pool(CHECKOUTS_PER_ROUND + 2),
    )));
    let cart = |skus: &[String]| -> Vec<commercial::CartLine> {
        skus.iter()
            .map(|s| commercial::CartLine {
                sku: Sku::parse(s).unwrap(),
                quantity: Quantity::new(1).unwrap(),
            })
            .collect()
    };
    let (lower, upper) = skus.split_at(skus.len() / 2);
    let mut actors = Vec::new();
    for p in 1..=CHECKOUTS_PER_ROUND + 1 {
        actors.push(testkit::auth::partner_actor(&client, &format!("P-{p:05}")).await);
    }
    let actors = std::sync::Arc::new(actors);
    let started = std::time::Instant::now();

    for round in 0..ROUNDS {
        // Overdue orders, due one second apart, alternating between the upper and the lower half of the SKUs.
        let now = chrono::Utc::now();
        for i in 0..OVERDUE_PER_ROUND {
            let half = if i % 2 == 0 { upper } else { lower };
            let key = format!("overdue-{round}-{i}");
            orders
                .place(PlaceOrder {
                    actor: &actors[0],
                    key: &IdempotencyKey::parse(&key).unwrap(),
                    fingerprint: &key,
                    cart: &cart(half),
                    now: now - chrono::Duration::hours(3) + chrono::Duration::seconds(i as i64),
                })
                .await
                .unwrap();
        }
        // One expiry batch and the checkouts, released together.
        let gate = std::sync::Arc::new(tokio::sync::Barrier::new(CHECKOUTS_PER_ROUND + 1));
        let expiry = {
            let (orders, gate) = (orders.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                order_expiry_job::run(&orders, now).await.map_err(|e| format!("{e:#}"))
            })
        };
        let mut checkouts = Vec::new();
        for c in 0..CHECKOUTS_PER_ROUND {
            let (orders, gate, actors) = (orders.clone(), gate.clone(), actors.clone());
            // Carts name the SKUs in descending order: checkout must sort them itself.
            let mut skus = skus.clone();
            skus.reverse();
            let lines = cart(&skus);
            checkouts.push(tokio::spawn(async move {
                let key = format!("checkout-{round}-{c}");
                gate.wait().await;
                orders
                    .place(PlaceOrder {
                        actor: &actors[c + 1],
                        key: &IdempotencyKey::parse(&key).unwrap(),
                        fingerprint: &key,
                        cart: &lines,
                        now: chrono::Utc::now(),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}: {:?}", std::error::Error::source(&e).map(|s| s.to_string())))
            }));
        }
        let expired = expiry.await.unwrap();
        match &expired {
            Ok(report) => assert_eq!(report["expired"], OVERDUE_PER_ROUND, "round {round}"),
            Err(e) => panic!("round {round}: the expiry batch failed: {e}"),
        }
        for (c, checkout) in checkouts.into_iter().enumerate() {
            if let Err(e) = checkout.await.unwrap() {
                panic!("round {round}: checkout {c} failed: {e}");
            }
        }
    }
    // Bounded: a deadlock costs PostgreSQL's deadlock_timeout (1 s) to find; without one the rounds are quick.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // Every reservation the expired orders held came back: what is reserved is exactly the live checkouts' units.
    let reserved: i64 = client
        .query_one(
            "SELECT sum(reserved)::int8 FROM inventory WHERE sku = ANY($1)",
            &[&skus],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reserved, (ROUNDS * CHECKOUTS_PER_ROUND) as i64 * SKUS);
}
