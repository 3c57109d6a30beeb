//! Reads that must see what was just committed go to the writer. An RDS read replica is updated asynchronously
//! (AWS, "Working with DB instance read replicas"), so it can lag the writer by seconds; here the "replica" is a
//! database that never catches up at all.

use orders::{OrderStatus, OrderStore};
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

#[tokio::test]
async fn an_order_just_paid_reads_back_paid_while_the_replica_has_not_seen_it() {
    let primary = fresh_db(Template::Seeded).await;
    let replica = fresh_db(Template::Seeded).await;
    let id = uuid::Uuid::new_v4();
    primary
        .client()
        .await
        .execute(
            "INSERT INTO orders (id, placed_at, partner_id, status, total, payment_due_at, placed_by)
             VALUES ($1, now(), 1, 'paid', 1000, now() + interval '1 hour', 'partner:P-00001')",
            &[&id],
        )
        .await
        .unwrap();

    let mut settings = testkit::db_settings(&primary.url);
    settings.reader_url = Some(replica.url.clone());
    let db = store::Db::new(&settings, std::sync::Arc::new(store::StaticCredentials(None))).unwrap();
    let order = PgOrders::new(db)
        .order(id, None)
        .await
        .unwrap()
        .expect("the order the writer has committed");
    assert_eq!(order.status, OrderStatus::Paid);
}
