//! `erp-sync-worker` against real PostgreSQL, DynamoDB and SQS semantics on moto, and the fake ERP: an outage
//! opens the shared breaker, nothing is lost, and after recovery every order reaches the ERP exactly once.

use erp::HttpErp;
use erp_sync_worker::{EmfMetrics, ErpSyncWorker, Sleep};
use fake_erp::FakeErp;
use kernel::{Quantity, SecretString, Sku};
use lambda_glue::sqs::{dispatch, Backoff, SqsRuntime};
use niaga_aws::ratelimit::RateLimiter;
use niaga_aws::versioned::VersionedItems;
use orders::{IdempotencyKey, Orders, PlaceOrder, Placed};
use platform::settings::SettingsCache;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::orders::PgOrders;
use store::outbox::PgOutbox;
use supply_sync::delivery::{ErpDelivery, SharedBreaker};
use supply_sync::BreakerState;
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

/// The worker as deployed.
type Worker = ErpSyncWorker<PgOrders, HttpErp, VersionedItems, RateLimiter, Arc<SettingsCache>>;

struct Setup {
    worker: Worker,
    breaker: SharedBreaker<VersionedItems>,
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
        let answer = place(&orders, &actor, &format!("erp-{i}"), 1).await;
        let id = answer.body["id"].as_str().unwrap().to_string();
        let amount = format!("{}.00", answer.body["total_incl_tax"]);
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
    // erp-sync-worker's own principal for its clients.
    let sdk = testkit::aws_config_for("erp-sync-worker").await;
    let breaker = SharedBreaker::new(VersionedItems::new(&sdk, &breaker_table));
    let erp = FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let worker = ErpSyncWorker::new(ErpDelivery {
        orders: Orders::new(PgOrders::new(db.db())),
        erp: HttpErp::new(&erp.url(), Duration::from_secs(2)).unwrap(),
        breaker: breaker.clone(),
        permits: RateLimiter::new(&sdk, &limits_table),
        settings: Arc::new(SettingsCache::with_table(db.db(), None)),
        metrics: EmfMetrics,
        pause: Sleep,
    });
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
    let rt = SqsRuntime::new(platform::NIAGA, "erp-sync-worker", None, Backoff::default());
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
    let rt = SqsRuntime::new(platform::NIAGA, "erp-sync-worker", None, Backoff::default());
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
    let rt = SqsRuntime::new(platform::NIAGA, "erp-sync-worker", None, Backoff::default());
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

/// A new order of `quantity` units of SHM-00001 placed by `actor`: its stored answer.
async fn place(orders: &Orders<PgOrders>, actor: &identity::Actor, key: &str, quantity: i64) -> orders::StoredAnswer {
    let Placed::Created { answer, .. } = orders
        .place(PlaceOrder {
            actor,
            key: &IdempotencyKey::parse(key).unwrap(),
            fingerprint: "f",
            cart: &[commercial::CartLine {
                sku: Sku::parse("SHM-00001").unwrap(),
                quantity: Quantity::new(quantity).unwrap(),
            }],
            now: chrono::Utc::now(),
        })
        .await
        .unwrap()
    else {
        panic!("a new order")
    };
    answer
}

/// A real FIFO queue on moto with its dead-letter queue (5 receives), named as terraform names them.
async fn erp_queue(sqs: &aws_sdk_sqs::Client, env: &str) -> (String, String, String) {
    fifo_with_dead_letters(sqs, env, 30, 5).await
}

/// The `erp-sync` FIFO queue, with `visibility` seconds and a dead-letter queue after `max_receives`:
/// (url, arn, dead-letter url).
async fn fifo_with_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    env: &str,
    visibility: i64,
    max_receives: i64,
) -> (String, String, String) {
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
        .attributes(A::VisibilityTimeout, visibility.to_string())
        .attributes(
            A::RedrivePolicy,
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives }).to_string(),
        )
        .send()
        .await
        .unwrap();
    let (url, arn) = arn_of(q.queue_url.unwrap()).await;
    (url, arn, dlq_url)
}

/// One event-source-mapping poll: receive a batch, hand it to the worker as Lambda would, delete what succeeded.
/// Returns each received message's group and receive count.
async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    rt: &SqsRuntime,
    worker: &Worker,
    url: &str,
    arn: &str,
) -> Vec<(String, u32)> {
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
        return Vec::new();
    }
    let received = messages
        .iter()
        .map(|m| {
            let attr = |k: M| m.attributes().and_then(|a| a.get(&k)).cloned().unwrap_or_default();
            (
                attr(M::MessageGroupId),
                attr(M::ApproximateReceiveCount).parse().unwrap_or(0),
            )
        })
        .collect();
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
    received
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
    // The relay as outbox-relay's principal; the worker's client as erp-sync-worker's; polling (the event source
    // mapping) and the checks as the setup principal.
    let relay = platform::outbox::Relay::new(
        s.db.clone(),
        &testkit::aws_config_for("outbox-relay").await,
        &env,
        routes,
    )
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
        platform::NIAGA,
        "erp-sync-worker",
        Some(aws_sdk_sqs::Client::new(
            &testkit::aws_config_for("erp-sync-worker").await,
        )),
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

/// The `erp-sync` queue as niaga.json describes it, which terraform creates: (visibility timeout, maxReceiveCount,
/// the events routed to it).
fn deployed_erp_sync() -> (i64, i64, Vec<String>) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("niaga.json")).unwrap()).unwrap();
    let q = manifest["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "erp-sync")
        .unwrap()
        .clone();
    assert_eq!(q["fifo"], true);
    let events = q["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    (
        q["visibility_timeout_s"].as_i64().unwrap(),
        q["max_receive_count"].as_i64().unwrap(),
        events,
    )
}

/// The deployed `erp-sync` FIFO queue and its dead-letter queue on moto: (url, arn, dlq url, maxReceiveCount).
async fn deployed_erp_queue(sqs: &aws_sdk_sqs::Client, env: &str) -> (String, String, String, u32) {
    let (visibility, max_receives, _) = deployed_erp_sync();
    let (url, arn, dlq_url) = fifo_with_dead_letters(sqs, env, visibility, max_receives).await;
    (url, arn, dlq_url, u32::try_from(max_receives).unwrap())
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// What runs in production around the queue: the outbox relay's schedule and the worker's event-source mapping.
struct Stack<'a> {
    relay: &'a platform::outbox::Relay,
    orders: &'a Orders<PgOrders>,
    settings: &'a platform::settings::SettingsCache,
    rt: &'a SqsRuntime,
    worker: &'a Worker,
    sqs: &'a aws_sdk_sqs::Client,
    url: &'a str,
    arn: &'a str,
}

impl Stack<'_> {
    /// One poll of the queue, after the relay's scheduled run when a (compressed) minute has passed since the last.
    async fn step(&self, last_sweep: &mut std::time::Instant) -> Vec<(String, u32)> {
        if last_sweep.elapsed() >= Duration::from_secs(1) {
            *last_sweep = std::time::Instant::now();
            outbox_relay::run(self.relay, self.orders, self.settings).await.unwrap();
        }
        poll_once(self.sqs, self.rt, self.worker, self.url, self.arn).await
    }
}

/// The outage runs far past the erp-sync queue's receive budget (as niaga.json and terraform set it), with time
/// compressed only through configuration: the breaker's 1 s cool-down and probe timeout, and 2 s before the ERP
/// ledger sends an unconfirmed order again. The worker runs as deployed (`erp_sync_worker::runtime`) behind a
/// stand-in for the event-source mapping, and the outbox relay's scheduled run as deployed (`outbox_relay::run`),
/// once a second. Nobody redrives anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_outage_far_longer_than_the_queues_receive_budget_needs_no_human_and_leaves_no_dead_letters() {
    const ORDERS: usize = 8;
    let s = setup_with(ORDERS, false).await;
    s.client
        .batch_execute(
            "UPDATE system_config SET value = '1' WHERE key = 'erp.breaker.probe_timeout_seconds';
             UPDATE system_config SET value = '2' WHERE key = 'erp.sync.resend_after_seconds';",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let sdk = testkit::aws_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let env = testkit::unique_env();
    let (url, arn, dlq_url, budget) = deployed_erp_queue(&sqs, &env).await;
    let (_, _, events) = deployed_erp_sync();
    let routes: serde_json::Map<String, Value> = events
        .iter()
        .map(|e| (e.clone(), json!([{ "queue": "erp-sync", "fifo": true }])))
        .collect();
    let relay = platform::outbox::Relay::new(
        s.db.clone(),
        &testkit::aws_config_for("outbox-relay").await,
        &env,
        platform::outbox::Routes::parse(&Value::Object(routes).to_string()).unwrap(),
    )
    .await
    .unwrap();
    let orders = Orders::new(PgOrders::new(s.db.clone()));
    let settings = platform::settings::SettingsCache::with_table(s.db.clone(), None);
    let rt = erp_sync_worker::runtime(Some(aws_sdk_sqs::Client::new(
        &testkit::aws_config_for("erp-sync-worker").await,
    )));
    let stack = Stack {
        relay: &relay,
        orders: &orders,
        settings: &settings,
        rt: &rt,
        worker: &s.worker,
        sqs: &sqs,
        url: &url,
        arn: &arn,
    };
    let mut last_sweep = std::time::Instant::now() - Duration::from_secs(1);

    // The ERP goes down just as the orders are paid, and stays down well past the receive budget: until some
    // message has been on its last receive, and at least 12 s.
    s.erp.switches().set_outage(true);
    let mut receives: std::collections::BTreeMap<String, u32> = Default::default();
    let mut most = 0;
    while most < budget || started.elapsed() < Duration::from_secs(12) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no message ever reached its last receive"
        );
        for (group, n) in stack.step(&mut last_sweep).await {
            *receives.entry(group).or_default() += 1;
            most = most.max(n);
        }
    }
    assert!(matches!(
        s.breaker.state().await.unwrap(),
        BreakerState::Open { .. } | BreakerState::HalfOpen { .. }
    ));
    assert_eq!(s.erp.received_count(false), 0);
    assert_eq!(
        depth(&sqs, &dlq_url).await,
        (0, 0),
        "nothing was dead-lettered during the outage"
    );
    let fewest = s
        .orders
        .iter()
        .map(|id| receives.get(id).copied().unwrap_or(0))
        .min()
        .unwrap();
    assert!(
        fewest > budget,
        "every order's messages were received more often than the queue allows one message ({budget}): {receives:?}"
    );

    s.erp.switches().set_outage(false);
    let recovered = std::time::Instant::now();
    loop {
        stack.step(&mut last_sweep).await;
        let sent = count(&s.client, "SELECT count(*) FROM orders WHERE status = 'sent_to_erp'").await;
        let pending = count(&s.client, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await;
        if sent == ORDERS as i64 && pending == 0 && depth(&sqs, &url).await == (0, 0) {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_secs(30),
            "not recovered: {sent} of {ORDERS} orders in the ERP, {pending} events pending, queue {:?}",
            depth(&sqs, &url).await
        );
    }
    assert_eq!(s.erp.received_count(true), ORDERS, "every paid order reached the ERP");
    assert_eq!(s.erp.received_count(false), ORDERS, "and none was posted twice");
    assert_eq!(depth(&sqs, &dlq_url).await, (0, 0), "the dead-letter queue is empty");
    let unconfirmed = count(
        &s.client,
        "SELECT count(*) FROM orders WHERE status = 'sent_to_erp' AND erp_order_no IS NULL",
    )
    .await;
    assert_eq!(unconfirmed, 0);
    assert!(
        started.elapsed() < Duration::from_secs(55),
        "took {:?}",
        started.elapsed()
    );
}

/// Poison is still poison: an order whose document the ERP refuses fails even on its queue's last receive (so
/// it reaches the dead-letter queue for a person), and the ERP ledger stops sending it; a healthy paid order
/// next to it is sent again by the ledger as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_erp_rejects_still_reaches_the_dead_letter_queue_and_the_ledger_leaves_it_alone() {
    let s = setup(2).await;
    let (bad, good) = (s.orders[0].clone(), s.orders[1].clone());
    // The total no longer matches its lines: the ERP answers 422.
    s.client
        .execute("UPDATE orders SET total = total + 1 WHERE id = $1::text::uuid", &[&bad])
        .await
        .unwrap();
    let (_, budget, _) = deployed_erp_sync();
    let rt = erp_sync_worker::runtime(None).with_receive_budget(u32::try_from(budget).unwrap());
    let last_receive = |mut batch: Value| {
        for r in batch["Records"].as_array_mut().unwrap() {
            r["attributes"]["ApproximateReceiveCount"] = json!(budget.to_string());
        }
        batch
    };
    let only_bad = json!({ "Records": s.batch["Records"].as_array().unwrap().iter()
        .filter(|r| r["attributes"]["MessageGroupId"] == bad.as_str()).cloned().collect::<Vec<_>>() });
    let r = dispatch(&rt, &s.worker, last_receive(only_bad)).await;
    assert_eq!(failures(&r), 1, "a rejected order fails on its last receive too: {r}");
    assert_eq!(s.erp.attempts().len(), 1);
    let rejected: Option<String> = s
        .client
        .query_one("SELECT erp_rejection FROM orders WHERE id = $1::text::uuid", &[&bad])
        .await
        .unwrap()
        .get(0);
    assert!(rejected.is_some_and(|r| r.contains("422")));

    // Both are overdue in the ledger; only the healthy one is sent again.
    let orders = Orders::new(PgOrders::new(s.db.clone()));
    let nudged = orders
        .request_erp_sync(
            chrono::Utc::now() + chrono::Duration::hours(1),
            Duration::from_secs(60),
            100,
        )
        .await
        .unwrap();
    assert_eq!(nudged.iter().map(|u| u.to_string()).collect::<Vec<_>>(), [good]);
    let again = orders
        .request_erp_sync(
            chrono::Utc::now() + chrono::Duration::hours(1),
            Duration::from_secs(60),
            100,
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "a nudged order waits before the next nudge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terms_order_goes_to_the_erp_at_once_on_its_confirmed_event_with_its_tax_line_and_days() {
    let s = setup(0).await;
    let rt = SqsRuntime::new(platform::NIAGA, "erp-sync-worker", None, Backoff::default());
    s.client
        .execute(
            "UPDATE partners SET payment_terms_days = 30 WHERE code = 'P-00001'",
            &[],
        )
        .await
        .unwrap();
    let actor = testkit::auth::partner_actor(&s.client, "P-00001").await;
    let orders = Orders::new(PgOrders::new(s.db.clone()));
    let answer = place(&orders, &actor, "terms-1", 3).await;
    assert_eq!(answer.body["status"], "confirmed");
    // No payment: the relay hands its order.confirmed event to the erp-sync queue, as it does order.paid.
    let records = Mutex::new(Vec::new());
    PgOutbox::new(s.db.clone())
        .relay(None, 100, |e| {
            assert_eq!(e.event_type, "order.confirmed");
            let mut r = records.lock().unwrap();
            let n = r.len();
            r.push(record(platform::outbox::message_body(&e), &e.aggregate_id, n));
            async { Ok(()) }
        })
        .await
        .unwrap();
    let batch = json!({ "Records": records.into_inner().unwrap() });
    let r = dispatch(&rt, &s.worker, batch).await;
    assert_eq!(failures(&r), 0, "{r}");
    let received = s.erp.received();
    assert_eq!(received.len(), 1);
    let doc = &received[0].document;
    let total = answer.body["total"].as_i64().unwrap();
    assert_eq!(doc["TerminHari"], 30);
    // 12 % on 11/12 of the price, rounded down: 11 % of it, rounded down (PMK 131/2024).
    assert_eq!(doc["Pajak"][0]["Nilai"], format!("{}.00", total * 11 / 100));
    assert_eq!(doc["TotalBayar"], format!("{}.00", total + total * 11 / 100));
    let status: String = s
        .client
        .query_one(
            "SELECT status FROM orders WHERE id = $1::text::uuid",
            &[&answer.body["id"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "sent_to_erp");
}
