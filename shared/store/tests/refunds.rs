//! Refunds due in PostgreSQL: one record per (order, transaction), however often it is written, listed newest
//! first in pages.

use kernel::Money;
use orders::{OrderStatus, OrderStore, OrderTx, RefundDue};
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

fn refund(order_id: uuid::Uuid, transaction_id: &str, transaction_status: &str) -> RefundDue {
    RefundDue {
        order_id,
        partner_id: 42,
        transaction_id: transaction_id.into(),
        transaction_status: transaction_status.into(),
        amount: Money::from_minor(1_250_000),
        currency: kernel::Currency::Idr,
        order_status: OrderStatus::Cancelled,
        recorded_at: chrono::Utc::now(),
    }
}

async fn record(store: &PgOrders, r: &RefundDue) -> bool {
    let mut tx = store.begin().await.unwrap();
    let fresh = tx.record_refund_due(r).await.unwrap();
    tx.commit().await.unwrap();
    fresh
}

#[tokio::test]
async fn a_refund_due_is_recorded_once_per_order_and_transaction_and_reads_back_as_written() {
    let db = fresh_db(Template::Empty).await;
    let store = PgOrders::new(db.db());
    let order = uuid::Uuid::new_v4();
    let first = refund(order, "tx-1", "capture");
    assert!(record(&store, &first).await, "the first write records it");
    assert!(
        !record(&store, &refund(order, "tx-1", "settlement")).await,
        "the same transaction again does not"
    );
    assert!(
        record(&store, &refund(order, "tx-2", "settlement")).await,
        "another transaction is another refund"
    );

    let listed = store.refunds_due(None, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    let oldest = &listed[1];
    assert_eq!(oldest.refund.transaction_id, "tx-1");
    assert_eq!(
        oldest.refund.transaction_status, "capture",
        "the first notification's record stands"
    );
    assert_eq!(oldest.refund.amount, first.amount);
    assert_eq!(oldest.refund.partner_id, 42);
    assert_eq!(oldest.refund.order_status, OrderStatus::Cancelled);
    assert_eq!(
        oldest.refund.recorded_at.timestamp_micros(),
        first.recorded_at.timestamp_micros()
    );
}

#[tokio::test]
async fn a_refund_rolled_back_with_its_notification_is_not_recorded() {
    let db = fresh_db(Template::Empty).await;
    let store = PgOrders::new(db.db());
    let r = refund(uuid::Uuid::new_v4(), "tx-1", "settlement");
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_refund_due(&r).await.unwrap());
    tx.rollback().await.unwrap();
    assert!(store.refunds_due(None, 10).await.unwrap().is_empty());
    assert!(record(&store, &r).await, "and a later delivery records it");
}

#[tokio::test]
async fn refunds_due_page_newest_first_strictly_before_the_cursor() {
    let db = fresh_db(Template::Empty).await;
    let store = PgOrders::new(db.db());
    for i in 0..5 {
        record(&store, &refund(uuid::Uuid::new_v4(), &format!("tx-{i}"), "settlement")).await;
    }
    let first = store.refunds_due(None, 2).await.unwrap();
    let names = |page: &[orders::RefundDueEntry]| -> Vec<String> {
        page.iter().map(|r| r.refund.transaction_id.clone()).collect()
    };
    assert_eq!(names(&first), ["tx-4", "tx-3"]);
    let second = store.refunds_due(Some(first[1].id), 2).await.unwrap();
    assert_eq!(names(&second), ["tx-2", "tx-1"]);
    let last = store.refunds_due(Some(second[1].id), 2).await.unwrap();
    assert_eq!(names(&last), ["tx-0"]);
}
