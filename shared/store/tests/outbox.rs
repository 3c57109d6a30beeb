//! The outbox's read side against real PostgreSQL: order per aggregate, failures held back, rows published once.

use std::sync::Mutex;
use store::outbox::PgOutbox;
use testkit::{fresh_db, Template};

async fn add(client: &tokio_postgres::Client, aggregate: &str, event_type: &str) {
    client
        .execute(
            "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, '{}')",
            &[&aggregate, &event_type],
        )
        .await
        .unwrap();
}

async fn pending(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn events_leave_in_order_per_aggregate_and_are_marked_published_once() {
    let db = fresh_db(Template::Empty).await;
    let client = db.client().await;
    for (a, e) in [
        ("A", "order.placed"),
        ("B", "order.placed"),
        ("A", "order.paid"),
        ("B", "order.cancelled"),
    ] {
        add(&client, a, e).await;
    }
    let outbox = PgOutbox::new(db.db());
    let sent = Mutex::new(Vec::new());
    let report = outbox
        .relay(None, 100, |e| {
            sent.lock()
                .unwrap()
                .push((e.aggregate_id.clone(), e.event_type.clone()));
            async { Ok(()) }
        })
        .await
        .unwrap();
    // Later events of an aggregate wait for a pass in which the earlier one is already published.
    let first: Vec<_> = sent.lock().unwrap().drain(..).collect();
    assert_eq!(
        first,
        [("A".into(), "order.placed".into()), ("B".into(), "order.placed".into())]
    );
    assert_eq!(report.published, 2);
    outbox
        .relay(None, 100, |e| {
            sent.lock()
                .unwrap()
                .push((e.aggregate_id.clone(), e.event_type.clone()));
            async { Ok(()) }
        })
        .await
        .unwrap();
    let second: Vec<_> = sent.lock().unwrap().drain(..).collect();
    assert_eq!(
        second,
        [
            ("A".into(), "order.paid".into()),
            ("B".into(), "order.cancelled".into())
        ]
    );
    assert_eq!(pending(&client).await, 0);
    let again = outbox.relay(None, 100, |_| async { Ok(()) }).await.unwrap();
    assert_eq!(again.published, 0, "nothing is published twice");
}

#[tokio::test]
async fn a_failed_publish_leaves_the_event_pending_and_holds_back_its_aggregate() {
    let db = fresh_db(Template::Empty).await;
    let client = db.client().await;
    add(&client, "A", "order.placed").await;
    add(&client, "B", "order.placed").await;
    let outbox = PgOutbox::new(db.db());
    let report = outbox
        .relay(None, 100, |e| async move {
            if e.aggregate_id == "A" {
                anyhow::bail!("queue unreachable")
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!((report.published, report.failed), (1, 1));
    assert_eq!(pending(&client).await, 1);
    add(&client, "A", "order.paid").await;
    // Only A's aggregate, as the fast path asks after a commit: placed goes first, then paid on the next pass.
    let sent = Mutex::new(Vec::new());
    for _ in 0..2 {
        outbox
            .relay(Some("A"), 100, |e| {
                sent.lock().unwrap().push(e.event_type.clone());
                async { Ok(()) }
            })
            .await
            .unwrap();
    }
    assert_eq!(*sent.lock().unwrap(), ["order.placed", "order.paid"]);
    assert_eq!(pending(&client).await, 0);
}
