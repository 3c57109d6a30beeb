//! Claiming an idempotency key in PostgreSQL without anything on RDS Proxy's pinning list (AWS, "Avoiding pinning
//! an RDS Proxy": advisory lock functions pin the session), and without ever waiting for the request that holds it.

use orders::{KeyClaim, OrderStore, OrderTx};
use std::time::{Duration, Instant};
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

async fn held_locks(client: &tokio_postgres::Client, locktype: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = $1 AND pid <> pg_backend_pid()",
            &[&locktype],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_claimed_key_holds_no_advisory_lock_and_a_duplicate_is_told_busy_at_once() {
    let db = fresh_db(Template::Empty).await;
    let store = PgOrders::new(db.db_with_pool(4));
    let watcher = db.client().await;

    let mut first = store.begin().await.unwrap();
    assert!(matches!(
        first.claim_key("partner:1", "k-1").await.unwrap(),
        KeyClaim::Fresh
    ));
    assert_eq!(
        held_locks(&watcher, "advisory").await,
        0,
        "a held claim must not be an advisory lock, which pins an RDS Proxy session"
    );

    let started = Instant::now();
    let mut duplicate = store.begin().await.unwrap();
    assert!(matches!(
        duplicate.claim_key("partner:1", "k-1").await.unwrap(),
        KeyClaim::Busy
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the duplicate waited {:?} for the first",
        started.elapsed()
    );
    drop(duplicate);

    let mut other = store.begin().await.unwrap();
    assert!(
        matches!(other.claim_key("partner:1", "k-2").await.unwrap(), KeyClaim::Fresh),
        "another key is not held up by the first"
    );
    other.rollback().await.unwrap();

    first.rollback().await.unwrap();
    let mut retry = store.begin().await.unwrap();
    assert!(
        matches!(retry.claim_key("partner:1", "k-1").await.unwrap(), KeyClaim::Fresh),
        "a claim whose transaction rolled back can be claimed again"
    );
    retry.rollback().await.unwrap();
}

#[tokio::test]
async fn a_key_must_be_claimed_first_in_its_transaction() {
    let db = fresh_db(Template::Seeded).await;
    let store = PgOrders::new(db.db());
    let mut tx = store.begin().await.unwrap();
    tx.checkout_settings().await.unwrap();
    assert!(tx.claim_key("partner:1", "late").await.is_err());
}
