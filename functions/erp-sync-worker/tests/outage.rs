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
    db: store::Db,
}

async fn setup(n: usize) -> Setup {
    setup_with(n, true).await
}

/// `n` placed and paid orders; with `collect`, their `order.paid` events relayed into `batch`, otherwise left
/// pending in the outbox.
async fn setup_with(n: usize, collect: bool) -> Setup {
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
        orders
            .apply_payment(
                &paid,
                &orders::PaymentVerifier::signature_only(key.clone()),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    // What the relay would put on the erp-sync queue: the order.paid events.
    let records = Mutex::new(Vec::new());
    for _ in 0..if collect { 2 } else { 0 } {
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
        std::sync::Arc::new(platform::settings::SettingsCache::with_table(db.db(), None)),
    );
    Setup {
        worker,
        breaker,
        erp,
        batch,
        client,
        orders: ids,
        db: db.db(),
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

/// A real FIFO queue on moto with its dead-letter queue (5 receives), named as terraform names them.
async fn erp_queue(sqs: &aws_sdk_sqs::Client, env: &str) -> (String, String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let name = niaga_aws::sqs::queue_physical_name(env, "erp-sync", true);
    let dlq_name = name.replace(".fifo", "-dlq.fifo");
    let arn_of = |url: String| async move {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .unwrap();
        (url, attrs.attributes.unwrap()[&A::QueueArn].clone())
    };
    let dlq = sqs
        .create_queue()
        .queue_name(&dlq_name)
        .attributes(A::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let (dlq_url, dlq_arn) = arn_of(dlq.queue_url.unwrap()).await;
    let q = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(A::FifoQueue, "true")
        .attributes(A::VisibilityTimeout, "30")
        .attributes(
            A::RedrivePolicy,
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5 }).to_string(),
        )
        .send()
        .await
        .unwrap();
    let (url, arn) = arn_of(q.queue_url.unwrap()).await;
    (url, arn, dlq_url)
}

/// One event-source-mapping poll: receive a batch, hand it to the worker as Lambda would, delete what succeeded.
async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    rt: &SqsRuntime,
    worker: &ErpSyncWorker<PgOrders, HttpErp>,
    url: &str,
    arn: &str,
) {
    use aws_sdk_sqs::types::MessageSystemAttributeName as M;
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(M::All)
        .send()
        .await
        .unwrap();
    let messages = got.messages.unwrap_or_default();
    if messages.is_empty() {
        return;
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attrs: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                "attributes": attrs, "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn,
            })
        })
        .collect();
    let response = dispatch(rt, worker, json!({ "Records": records })).await;
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    for m in &messages {
        if !failed.contains(&m.message_id().unwrap()) {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let n = |k: A| a.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_real_queue_an_outage_loses_nothing_and_recovery_empties_the_queue_and_the_outbox() {
    let s = setup_with(8, false).await;
    let sdk = testkit::aws_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let env = testkit::unique_env();
    let (url, arn, dlq_url) = erp_queue(&sqs, &env).await;
    // The ERP goes down; checkout never called it, so every order was accepted and paid.
    s.erp.switches().set_outage(true);
    let paid: i64 = s
        .client
        .query_one("SELECT count(*) FROM orders WHERE status = 'paid'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(paid, 8);

    // The relay moves the order.paid events from the outbox to the FIFO queue, grouped by order.
    let routes = platform::outbox::Routes::parse(r#"{"order.paid": [{"queue": "erp-sync", "fifo": true}]}"#).unwrap();
    let relay = platform::outbox::Relay::new(s.db.clone(), &sdk, &env, routes)
        .await
        .unwrap();
    relay.sweep(10).await.unwrap();
    let pending: i64 = s
        .client
        .query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 0, "the outbox is drained into the queue");

    // Time compressed: 1 s backoff base, 1 s breaker cool-down (setup).
    let rt = SqsRuntime::new(
        "erp-sync-worker",
        Some(sqs.clone()),
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(2),
        },
    );
    let outage_ends = std::time::Instant::now() + Duration::from_secs(4);
    let mut saw_open = false;
    while std::time::Instant::now() < outage_ends {
        poll_once(&sqs, &rt, &s.worker, &url, &arn).await;
        saw_open |= matches!(s.breaker.state().await.unwrap(), BreakerState::Open { .. });
    }
    assert!(saw_open, "the breaker opened during the outage");
    assert!(
        s.erp.attempts().len() < 8 + 4,
        "an open breaker keeps the worker off the ERP: {} calls",
        s.erp.attempts().len()
    );
    assert_eq!(s.erp.received_count(false), 0);

    s.erp.switches().set_outage(false);
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    while depth(&sqs, &url).await != (0, 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue never drained: {:?}",
            depth(&sqs, &url).await
        );
        poll_once(&sqs, &rt, &s.worker, &url, &arn).await;
    }
    assert_eq!(
        s.erp.received_count(false),
        8,
        "every order reached the ERP exactly once"
    );
    assert_eq!(s.erp.received_count(true), 8);
    assert_eq!(
        depth(&sqs, &dlq_url).await,
        (0, 0),
        "nothing went to the dead-letter queue"
    );
    let sent: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM orders WHERE status = 'sent_to_erp' AND erp_order_no IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sent, 8);
}
