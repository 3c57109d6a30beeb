//! The sweeper against real PostgreSQL and SQS on moto: an event whose fast-path publish failed is published by
//! the next sweep, FIFO groups keep one order's events in order, and the outbox ends empty.

use aws_sdk_sqs::types::QueueAttributeName;
use kernel::{Quantity, SecretString, Sku};
use orders::{IdempotencyKey, Orders, PlaceOrder, Placed};
use platform::outbox::{Relay, Routes};
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

struct Queues {
    sqs: aws_sdk_sqs::Client,
    env: String,
}

impl Queues {
    async fn new() -> Queues {
        Queues {
            sqs: aws_sdk_sqs::Client::new(&testkit::aws_config().await),
            // A fresh environment name per test: its own physical queue names.
            env: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        }
    }

    async fn create(&self, name: &str, fifo: bool) -> String {
        let mut req = self
            .sqs
            .create_queue()
            .queue_name(niaga_aws_name(&self.env, name, fifo));
        if fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        req.send().await.unwrap().queue_url.unwrap()
    }

    async fn delete(&self, url: &str) {
        self.sqs.delete_queue().queue_url(url).send().await.unwrap();
    }

    /// Every message on the queue, as (event_type, aggregate_id), in receive order.
    async fn drain(&self, url: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let body: serde_json::Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
                out.push((
                    body["event_type"].as_str().unwrap().to_string(),
                    body["aggregate_id"].as_str().unwrap().to_string(),
                ));
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn niaga_aws_name(env: &str, name: &str, fifo: bool) -> String {
    niaga_aws::sqs::queue_physical_name(env, name, fifo)
}

const ROUTES: &str = r#"{"order.placed": [{"queue": "notifications"}],
    "order.paid": [{"queue": "erp-sync", "fifo": true}, {"queue": "notifications"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_fast_path_publish_failed_is_published_by_the_sweeper_in_order() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    testkit::no_minimum_order(&client).await;
    let q = Queues::new().await;
    let erp = q.create("erp-sync", true).await;
    let notifications = q.create("notifications", false).await;
    let relay = Relay::new(
        db.db(),
        &testkit::aws_config_for("outbox-relay").await,
        &q.env,
        Routes::parse(ROUTES).unwrap(),
    )
    .await
    .unwrap();

    // Place and pay an order; the ERP queue is gone when the fast path runs.
    let orders = Orders::new(PgOrders::new(db.db()));
    let actor = testkit::auth::partner_actor(&client, "P-00001").await;
    let Placed::Created { answer, .. } = orders
        .place(PlaceOrder {
            actor: &actor,
            key: &IdempotencyKey::parse("sweep-1").unwrap(),
            fingerprint: "f",
            cart: &[commercial::CartLine {
                sku: Sku::parse("SHM-00001").unwrap(),
                quantity: Quantity::new(2).unwrap(),
            }],
            now: chrono::Utc::now(),
        })
        .await
        .unwrap()
    else {
        panic!("a new order")
    };
    let id = answer.body["id"].as_str().unwrap().to_string();
    let total = answer.body["total_incl_tax"].as_i64().unwrap();
    let key = SecretString::new("k");
    let amount = format!("{total}.00");
    let n = orders::Notification::parse(serde_json::json!({
        "order_id": id, "status_code": "200", "gross_amount": amount, "transaction_id": "t1",
        "transaction_status": "settlement",
        "signature_key": orders::payment::signature(&id, "200", &amount, &key),
    }))
    .unwrap();
    orders
        .apply_payment(
            &n,
            &orders::PaymentVerifier::signature_only(key.clone()),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    q.delete(&erp).await;
    relay.after_commit(&id).await;
    let pending: i64 = client
        .query_one("SELECT count(*) FROM outbox WHERE published_at IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 1, "order.placed went out; order.paid could not");

    // The queue is back; the sweep publishes what was left.
    let erp = q.create("erp-sync", true).await;
    let settings = platform::settings::SettingsCache::with_table(db.db(), None);
    let report = outbox_relay::run(&relay, &orders, &settings).await.unwrap();
    assert_eq!(report["published"], 1, "{report}");
    assert_eq!(report["backlog"], 0);
    assert_eq!(q.drain(&erp).await, [("order.paid".to_string(), id.clone())]);
    assert_eq!(
        q.drain(&notifications).await,
        [("order.placed".to_string(), id.clone()), ("order.paid".to_string(), id)]
    );
    let again = outbox_relay::run(&relay, &orders, &settings).await.unwrap();
    assert_eq!(again["published"], 0, "nothing is published twice");
    assert_eq!(
        again["erp_sync_nudged"], 0,
        "a paid order is sent again only once it is overdue"
    );
}
