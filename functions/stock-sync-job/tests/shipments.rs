//! Shipments and returns from the ERP, the book of record, against real PostgreSQL and the fake ERP: a shipped
//! line consumes its reservation, the ERP's count is never deducted twice, a return comes back on hand, and the
//! order moves to partly shipped and fulfilled.

mod common;

use chrono::Utc;
use common::World;
use fake_erp::MovementLine;
use orders::OrderStatus;

#[tokio::test]
async fn a_shipped_order_consumes_its_reservation_and_its_units_are_not_deducted_twice() {
    let w = World::new(50).await;
    let now = Utc::now();
    let actor = w.actor("P-00001").await;
    let order = w.place(&actor, "ship-1", &[(&w.skus[0], 6)], now).await.unwrap();
    let warehouse = order.lines[0].warehouse.clone();
    assert_eq!(w.stock_of(&warehouse, &w.skus[0]).await.reserved, 6);
    w.pay(&order, now).await;
    w.send_to_erp(order.id, now).await;

    // The ERP ships all six: its count is 44.
    w.erp.ship(&order.id.to_string(), None).unwrap();
    assert_eq!(w.erp.stock_of(&warehouse, &w.skus[0]), 44);
    let report = w.full_sync(now).await;
    assert_eq!(report["movements"]["applied"], 1, "{report}");
    assert_eq!(report["movements"]["consumed"], 6, "{report}");

    // The ERP's book: 44 on hand, nothing owed to this order. Sellable is 44 less the buffer, not 38.
    let row = w.stock_of(&warehouse, &w.skus[0]).await;
    assert_eq!((row.on_hand, row.reserved), (44, 0));
    let shipped = w.order(order.id).await;
    assert_eq!(shipped.status, OrderStatus::Fulfilled);
    assert_eq!(shipped.lines[0].shipped, 6);
    let events: i64 = w
        .client
        .query_one(
            "SELECT count(*) FROM outbox WHERE event_type = 'order.fulfilled' AND aggregate_id = $1",
            &[&order.id.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1);

    // Reading the same feeds again changes nothing.
    let again = w.full_sync(now).await;
    assert_eq!(again["movements"]["applied"], 0, "{again}");
    let row = w.stock_of(&warehouse, &w.skus[0]).await;
    assert_eq!((row.on_hand, row.reserved), (44, 0));

    // Two come back into the ERP's stock: on hand follows, and the order stays fulfilled.
    w.erp
        .receive_return(
            &order.id.to_string(),
            vec![MovementLine::new(&warehouse, &w.skus[0], 2)],
        )
        .unwrap();
    w.full_sync(now).await;
    let row = w.stock_of(&warehouse, &w.skus[0]).await;
    assert_eq!((row.on_hand, row.reserved), (46, 0));
    let returned = w.order(order.id).await;
    assert_eq!(
        (returned.status, returned.lines[0].returned),
        (OrderStatus::Fulfilled, 2)
    );
}

#[tokio::test]
async fn a_partial_shipment_keeps_the_rest_reserved_and_the_last_one_fulfils_the_order() {
    let w = World::new(50).await;
    let now = Utc::now();
    let actor = w.actor("P-00001").await;
    let order = w.place(&actor, "part-1", &[(&w.skus[1], 5)], now).await.unwrap();
    let warehouse = order.lines[0].warehouse.clone();
    w.pay(&order, now).await;
    w.send_to_erp(order.id, now).await;

    w.erp
        .ship(
            &order.id.to_string(),
            Some(vec![MovementLine::new(&warehouse, &w.skus[1], 2)]),
        )
        .unwrap();
    w.full_sync(now).await;
    let row = w.stock_of(&warehouse, &w.skus[1]).await;
    assert_eq!((row.on_hand, row.reserved), (48, 3));
    assert_eq!(w.order(order.id).await.status, OrderStatus::PartlyShipped);

    w.erp.ship(&order.id.to_string(), None).unwrap();
    w.full_sync(now).await;
    let row = w.stock_of(&warehouse, &w.skus[1]).await;
    assert_eq!((row.on_hand, row.reserved), (45, 0));
    assert_eq!(w.order(order.id).await.status, OrderStatus::Fulfilled);
}

#[tokio::test]
async fn a_snapshot_taken_before_a_shipment_and_applied_after_it_does_not_bring_the_units_back() {
    let w = World::new(30).await;
    let now = Utc::now();
    let actor = w.actor("P-00001").await;
    let order = w.place(&actor, "late-1", &[(&w.skus[2], 4)], now).await.unwrap();
    let warehouse = order.lines[0].warehouse.clone();
    w.pay(&order, now).await;
    w.send_to_erp(order.id, now).await;

    // A snapshot read before the shipment (30 on hand), the delivery note read and applied, then the old snapshot
    // applied late: the four shipped units stay shipped.
    let before = w.snapshot().await;
    w.erp.ship(&order.id.to_string(), None).unwrap();
    w.sync_movements().await;
    assert_eq!(w.stock_of(&warehouse, &w.skus[2]).await.on_hand, 26);
    w.apply_snapshot(&before).await;
    let row = w.stock_of(&warehouse, &w.skus[2]).await;
    assert_eq!((row.on_hand, row.reserved), (26, 0));

    // And the other way round: a snapshot that already includes a shipment whose delivery note is read later.
    let second = w.place(&actor, "late-2", &[(&w.skus[2], 3)], now).await.unwrap();
    let wh2 = second.lines[0].warehouse.clone();
    w.pay(&second, now).await;
    w.send_to_erp(second.id, now).await;
    w.erp.ship(&second.id.to_string(), None).unwrap();
    let after = w.snapshot().await;
    w.apply_snapshot(&after).await;
    let erp_count = w.erp.stock_of(&wh2, &w.skus[2]);
    let row = w.stock_of(&wh2, &w.skus[2]).await;
    assert_eq!(row.on_hand, erp_count, "on hand is the ERP's count at once");
    assert_eq!(
        row.reserved, 3,
        "still reserved until the delivery note is read: sellable stays honest"
    );
    w.sync_movements().await;
    let row = w.stock_of(&wh2, &w.skus[2]).await;
    assert_eq!(
        (row.on_hand, row.reserved),
        (erp_count, 0),
        "the delivery note does not deduct again"
    );
}
