//! `erp-sync-worker` against real PostgreSQL, DynamoDB and SQS semantics on moto, and the fake ERP: an outage
//! opens the shared breaker, nothing is lost, and after recovery every order reaches the ERP exactly once.

use erp::{BreakerState, HttpErp};
use erp_sync_worker::{ErpSyncWorker, SharedBreaker};
use fake_erp::FakeErp;
use kernel::{Quantity, SecretString, Sku};
use niaga_aws::ratelimit::RateLimiter;
use niaga_aws::versioned::VersionedItems;
use orders::{IdempotencyKey, Orders, PlaceOrder, Placed};
use platform::sqs::{dispatch, Backoff, SqsRuntime};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;
use store::orders::PgOrders;
use store::outbox::PgOutbox;
use testkit::{fresh_db, Template};

/// An SQS record like the event source mapping delivers, for one relayed outbox event.
fn record(body: String, group: &str, n: usize) -> Value {
    json!({
        "messageId": format!("m-{n}"), "receiptHandle": format!("r-{n}"), "body": body,
        "attributes": { "ApproximateReceiveCount": "1", "MessageGroupId": group },
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:niaga-test-erp-sync.fifo",
    })
}

struct Setup {
    worker: ErpSyncWorker<PgOrders, HttpErp>,
    breaker: SharedBreaker,
    erp: FakeErp,
    batch: Value,
    client: tokio_postgres::Client,
    orders: Vec<String>,
}

async fn setup(n: usize) -> Setup {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    testkit::no_minimum_order(&client).await;
    client
        .batch_execute(
            "UPDATE system_config SET value = '3' WHERE key = 'erp.breaker.failure_threshold';
             UPDATE system_config SET value = '1' WHERE key = 'erp.breaker.cool_down_seconds';
             UPDATE system_config SET value = '1000' WHERE key = 'erp.sync.max_per_second';",
        )
        .await
        .unwrap();
    let orders = Orders::new(PgOrders::new(db.db()));
    let key = SecretString::new("k");
    let mut ids = Vec::new();
    for i in 0..n {
        let actor = testkit::auth::partner_actor(&client, &format!("P-{:05}", i + 1)).await;
        let Placed::Created { answer, .. } = orders
            .place(PlaceOrder {
                actor: &actor,
                key: &IdempotencyKey::parse(&format!("erp-{i}")).unwrap(),
                fingerprint: "f",
                cart: &[commercial::CartLine {
                    sku: Sku::parse("SHM-00001").unwrap(),
                    quantity: Quantity::new(1).unwrap(),
                }],
                now: chrono::Utc::now(),
            })
            .await
            .unwrap()
        else {
            panic!("a new order")
        };
        let id = answer.body["id"].as_str().unwrap().to_string();
        let amount = format!("{}.00", answer.body["total"]);
        let paid = orders::Notification::parse(json!({
            "order_id": id, "status_code": "200", "gross_amount": amount, "transaction_id": format!("t{i}"),
            "transaction_status": "settlement",
            "signature_key": orders::payment::signature(&id, "200", &amount, &key),
        }))
        .unwrap();
        orders.apply_payment(&paid, &key, chrono::Utc::now()).await.unwrap();
        ids.push(id);
    }
    // What the relay would put on the erp-sync queue: the order.paid events.
    let records = Mutex::new(Vec::new());
    for _ in 0..2 {
        PgOutbox::new(db.db())
            .relay(None, 100, |e| {
                if e.event_type == "order.paid" {
                    let mut r = records.lock().unwrap();
                    let n = r.len();
                    r.push(record(platform::outbox::message_body(&e), &e.aggregate_id, n));
                }
                async { Ok(()) }
            })
            .await
            .unwrap();
    }
    let batch = json!({ "Records": records.into_inner().unwrap() });
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (breaker_table, limits_table) = (format!("breaker-{suffix}"), format!("limits-{suffix}"));
    testkit::create_table(&breaker_table).await;
    testkit::create_table(&limits_table).await;
    let sdk = testkit::aws_config().await;
    let breaker = SharedBreaker::new(VersionedItems::new(&sdk, &breaker_table));
    let erp = FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let worker = ErpSyncWorker::new(
        Orders::new(PgOrders::new(db.db())),
        HttpErp::new(&erp.url(), Duration::from_secs(2)).unwrap(),
        breaker.clone(),
        RateLimiter::new(&sdk, &limits_table),
        db.db(),
    );
    Setup {
        worker,
        breaker,
        erp,
        batch,
        client,
        orders: ids,
    }
}

fn failures(response: &Value) -> usize {
    response["batchItemFailures"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_outage_opens_the_breaker_and_after_recovery_every_order_arrives_exactly_once() {
    let s = setup(6).await;
    let rt = SqsRuntime::new("erp-sync-worker", None, Backoff::default());
    s.erp.switches().set_outage(true);

    let during = dispatch(&rt, &s.worker, s.batch.clone()).await;
    assert_eq!(failures(&during), 6, "every message comes back: {during}");
    assert!(matches!(s.breaker.state().await.unwrap(), BreakerState::Open { .. }));
    let calls = s.erp.attempts().len();
    assert_eq!(calls, 3, "the breaker opened at its threshold");
    let again = dispatch(&rt, &s.worker, s.batch.clone()).await;
    assert_eq!(failures(&again), 6);
    assert_eq!(s.erp.attempts().len(), calls, "an open breaker does not call the ERP");

    s.erp.switches().set_outage(false);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let after = dispatch(&rt, &s.worker, s.batch.clone()).await;
    assert_eq!(failures(&after), 0, "{after}");
    assert!(matches!(s.breaker.state().await.unwrap(), BreakerState::Closed { .. }));
    assert_eq!(s.erp.received_count(true), 6);
    assert_eq!(s.erp.received_count(false), 6, "no order was posted twice");

    // The batch again, as after a worker killed before SQS deleted it: nothing new reaches the ERP.
    let redelivered = dispatch(&rt, &s.worker, s.batch.clone()).await;
    assert_eq!(failures(&redelivered), 0);
    assert_eq!(s.erp.received_count(false), 6);
    for id in &s.orders {
        let row = s
            .client
            .query_one(
                "SELECT status, erp_order_no FROM orders WHERE id = $1::text::uuid",
                &[id],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "sent_to_erp");
        assert!(row.get::<_, Option<String>>(1).is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_fails_alone_and_the_others_are_delivered() {
    let s = setup(2).await;
    let rt = SqsRuntime::new("erp-sync-worker", None, Backoff::default());
    let mut batch = s.batch.clone();
    batch["Records"].as_array_mut().unwrap().push(record(
        "{\"event_type\": \"order.paid\", \"aggregate_id\": 7".into(),
        "poison",
        99,
    ));
    let r = dispatch(&rt, &s.worker, batch).await;
    assert_eq!(r["batchItemFailures"], json!([{ "itemIdentifier": "m-99" }]));
    assert_eq!(s.erp.received_count(true), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_event_parses_and_its_poison_message_is_refused() {
    let s = setup(1).await;
    let rt = SqsRuntime::new("erp-sync-worker", None, Backoff::default());
    // The sample names an order this database does not have: a poison message too.
    let r = dispatch(
        &rt,
        &s.worker,
        testkit::event("erp-sync-worker/order-paid-with-poison.json"),
    )
    .await;
    assert_eq!(failures(&r), 2, "{r}");
    assert_eq!(s.erp.received_count(false), 0);
}
