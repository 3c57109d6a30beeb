//! `payments-api` driven by the sample notifications in `events/payments-api/`, against real PostgreSQL.

use kernel::{Quantity, SecretString, Sku};
use orders::{IdempotencyKey, Orders, PlaceOrder, Placed};
use payments_api::PaymentsApi;
use platform::http::{dispatch, Runtime};
use serde_json::Value;
use std::time::Duration;
use store::orders::PgOrders;
use testkit::{event, fresh_db, Template};

const SERVER_KEY: &str = "SB-Mid-server-test-0123456789";

struct Harness {
    rt: Runtime,
    api: PaymentsApi<PgOrders>,
    client: tokio_postgres::Client,
    order_id: String,
    total: i64,
}

async fn harness() -> Harness {
    let db = fresh_db(Template::Seeded).await;
    let pools = db.db();
    let client = db.client().await;
    testkit::no_minimum_order(&client).await;
    let actor = testkit::auth::partner_actor(&client, "P-00001").await;
    let orders = Orders::new(PgOrders::new(pools.clone()));
    let placed = orders
        .place(PlaceOrder {
            actor: &actor,
            key: &IdempotencyKey::parse("pay-1").unwrap(),
            fingerprint: "f",
            cart: &[commercial::CartLine {
                sku: Sku::parse("SHM-00001").unwrap(),
                quantity: Quantity::new(5).unwrap(),
            }],
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let Placed::Created { answer, .. } = placed else {
        panic!("a new order")
    };
    Harness {
        rt: Runtime {
            function: "payments-api",
            db: Some(pools.clone()),
            slow_request: Duration::from_secs(5),
        },
        api: PaymentsApi::new(Orders::new(PgOrders::new(pools)), SecretString::new(SERVER_KEY)),
        client,
        order_id: answer.body["id"].as_str().unwrap().to_string(),
        total: answer.body["total_incl_tax"].as_i64().unwrap(),
    }
}

impl Harness {
    /// A sample notification rewritten for this order, signed with `key`.
    fn notification(&self, file: &str, amount: &str, key: &str) -> Value {
        let mut ev = event(file);
        let mut n: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
        n["order_id"] = self.order_id.clone().into();
        n["gross_amount"] = amount.into();
        let code = n["status_code"].as_str().unwrap().to_string();
        n["signature_key"] = orders::payment::signature(&self.order_id, &code, amount, &SecretString::new(key)).into();
        ev["body"] = n.to_string().into();
        ev
    }

    fn amount(&self) -> String {
        format!("{}.00", self.total)
    }

    async fn call(&self, ev: Value) -> Value {
        dispatch(&self.rt, &self.api, ev, lambda_runtime::Context::default()).await
    }

    async fn one(&self, sql: &str) -> String {
        self.client.query_one(sql, &[]).await.unwrap().get(0)
    }

    async fn count(&self, sql: &str) -> i64 {
        self.client.query_one(sql, &[]).await.unwrap().get(0)
    }

    async fn reserved(&self) -> i64 {
        self.count("SELECT sum(reserved)::int8 FROM inventory WHERE sku = 'SHM-00001'")
            .await
    }
}

fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_settlement_marks_the_order_paid_once_and_a_repeat_is_a_no_op() {
    let h = harness().await;
    let ev = h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY);
    let first = h.call(ev.clone()).await;
    assert_eq!(first["statusCode"], 200, "{first}");
    assert_eq!(body(&first)["outcome"], "applied");
    assert_eq!(h.one("SELECT status FROM orders").await, "paid");
    let reserved = h.reserved().await;
    let second = h.call(ev).await;
    assert_eq!(second["statusCode"], 200, "{second}");
    assert_eq!(body(&second)["outcome"], "duplicate");
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.paid'")
            .await,
        1
    );
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 1);
    assert_eq!(h.reserved().await, reserved, "paid stock stays reserved for shipping");
}

#[tokio::test]
async fn a_bad_signature_is_a_401_and_changes_nothing() {
    let h = harness().await;
    let resp = h.call(event("payments-api/bad-signature.json")).await;
    assert_eq!(resp["statusCode"], 401, "{resp}");
    let resp = h
        .call(h.notification("payments-api/settlement.json", &h.amount(), "SB-Mid-server-attacker"))
        .await;
    assert_eq!(resp["statusCode"], 401, "{resp}");
    assert_eq!(body(&resp)["type"], "urn:niaga:problem:invalid-signature");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 0);
}

#[tokio::test]
async fn a_gross_amount_that_differs_from_the_order_total_is_refused_and_changes_nothing() {
    let h = harness().await;
    let wrong = format!("{}.00", h.total - 1);
    let resp = h
        .call(h.notification("payments-api/settlement.json", &wrong, SERVER_KEY))
        .await;
    assert_eq!(resp["statusCode"], 422, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "gross_amount");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 0);
}

#[tokio::test]
async fn an_expiry_notification_expires_the_order_and_releases_its_stock() {
    let h = harness().await;
    let before = h.reserved().await;
    let resp = h
        .call(h.notification("payments-api/expire.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(h.one("SELECT status FROM orders").await, "expired");
    assert_eq!(h.reserved().await, before - 5);
    // Settlement arriving after the exit is recorded as a conflict for a refund, not applied.
    let late = h
        .call(h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(body(&late)["outcome"], "conflict");
    assert_eq!(h.one("SELECT status FROM orders").await, "expired");
    assert_eq!(h.reserved().await, before - 5);
}

#[tokio::test]
async fn a_notification_missing_a_field_is_a_400_naming_it() {
    let h = harness().await;
    let mut ev = h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY);
    let mut n: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
    n.as_object_mut().unwrap().remove("transaction_status");
    ev["body"] = n.to_string().into();
    let resp = h.call(ev).await;
    assert_eq!(resp["statusCode"], 400, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "transaction_status");
}
