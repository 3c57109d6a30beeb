//! `payments-api` driven by the sample notifications in `events/payments-api/`, against real PostgreSQL (and,
//! where the status API is configured, testkit's stand-in for the gateway).

use kernel::{Quantity, SecretString, Sku};
use lambda_glue::http::{dispatch, Runtime};
use midtrans::MidtransStatusApi;
use orders::{IdempotencyKey, Orders, PaymentGateway, PaymentVerifier, PlaceOrder, Placed, Unconfirmed};
use payments_api::PaymentsApi;
use serde_json::Value;
use std::time::Duration;
use store::orders::PgOrders;
use testkit::midtrans::FakeMidtrans;
use testkit::{event, fresh_db, Template};

const SERVER_KEY: &str = "SB-Mid-server-test-0123456789";

struct Harness<G = Unconfirmed> {
    rt: Runtime,
    api: PaymentsApi<PgOrders, G>,
    client: tokio_postgres::Client,
    order_id: String,
    total: i64,
}

/// Notifications verified by their signature alone.
async fn harness() -> Harness {
    harness_with(PaymentVerifier::signature_only(SecretString::new(SERVER_KEY))).await
}

/// Successes confirmed with `fake`'s status API as well.
async fn harness_confirming(fake: &FakeMidtrans) -> Harness<MidtransStatusApi> {
    let key = SecretString::new(SERVER_KEY);
    let api = MidtransStatusApi::new(fake.url(), Duration::from_millis(500), key.clone()).unwrap();
    harness_with(PaymentVerifier::new(key, Some(api))).await
}

async fn harness_with<G: PaymentGateway + 'static>(verifier: PaymentVerifier<G>) -> Harness<G> {
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
        rt: platform::hooks::runtime("payments-api", None, Some(pools.clone()), Duration::from_secs(5)),
        api: PaymentsApi::new(Orders::new(PgOrders::new(pools.clone())), verifier),
        client,
        order_id: answer.body["id"].as_str().unwrap().to_string(),
        total: answer.body["total_incl_tax"].as_i64().unwrap(),
    }
}

impl<G: PaymentGateway + 'static> Harness<G> {
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

/// The transaction id every sample notification carries.
const SAMPLE_TX: &str = "9aed5972-5b6a-401e-894b-a32c91ed1a3a";

#[tokio::test]
async fn a_pending_notification_with_its_status_edited_to_settlement_is_a_400_naming_it_and_changes_nothing() {
    let h = harness().await;
    // The signature is genuine: it covers status_code 201, which the edit left alone.
    let forged = h
        .call(h.notification(
            "payments-api/pending-edited-to-settlement.json",
            &h.amount(),
            SERVER_KEY,
        ))
        .await;
    assert_eq!(forged["statusCode"], 400, "{forged}");
    assert_eq!(body(&forged)["type"], "urn:niaga:problem:status-mismatch");
    assert_eq!(body(&forged)["errors"][0]["field"], "transaction_status");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 0);
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.paid'")
            .await,
        0
    );
    // The genuine pending notification it was made from is recorded and changes nothing.
    let genuine = h
        .call(h.notification("payments-api/pending.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(genuine["statusCode"], 200, "{genuine}");
    assert_eq!(body(&genuine)["outcome"], "recorded");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
}

#[tokio::test]
async fn money_for_an_expired_order_is_one_refund_due_however_often_and_however_it_arrives() {
    let h = harness().await;
    let expired = h
        .call(h.notification("payments-api/expire.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(expired["statusCode"], 200, "{expired}");
    let late = h
        .call(h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(late["statusCode"], 200, "{late}");
    assert_eq!(body(&late)["outcome"], "conflict");
    assert_eq!(body(&late)["refund_due"], true);
    let row = h
        .client
        .query_one(
            "SELECT order_id::text, transaction_id, amount, order_status, transaction_status FROM refunds_due",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), h.order_id);
    assert_eq!(row.get::<_, String>(1), SAMPLE_TX);
    assert_eq!(row.get::<_, i64>(2), h.total);
    assert_eq!(row.get::<_, String>(3), "expired");
    assert_eq!(row.get::<_, String>(4), "settlement");
    // Midtrans repeats itself, and a card's capture and settlement are one transaction: still one refund.
    for file in ["payments-api/settlement.json", "payments-api/capture.json"] {
        let again = h.call(h.notification(file, &h.amount(), SERVER_KEY)).await;
        assert_eq!(again["statusCode"], 200, "{again}");
        assert_eq!(body(&again)["refund_due"], true);
    }
    assert_eq!(h.count("SELECT count(*) FROM refunds_due").await, 1);
    assert_eq!(h.one("SELECT status FROM orders").await, "expired");
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.paid'")
            .await,
        0
    );
}

#[tokio::test]
async fn money_for_a_cancelled_order_is_a_refund_due_and_a_timely_payment_is_not() {
    let h = harness().await;
    let cancelled = h
        .call(h.notification("payments-api/cancel.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(cancelled["statusCode"], 200, "{cancelled}");
    assert_eq!(h.one("SELECT status FROM orders").await, "cancelled");
    let late = h
        .call(h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(body(&late)["refund_due"], true, "{late}");
    assert_eq!(h.one("SELECT order_status FROM refunds_due").await, "cancelled");

    let timely = harness().await;
    let paid = timely
        .call(timely.notification("payments-api/settlement.json", &timely.amount(), SERVER_KEY))
        .await;
    assert_eq!(body(&paid)["refund_due"], false, "{paid}");
    assert_eq!(timely.count("SELECT count(*) FROM refunds_due").await, 0);
}

#[tokio::test]
async fn with_the_status_api_a_settlement_the_gateway_confirms_marks_the_order_paid() {
    let fake = FakeMidtrans::start(SERVER_KEY).await;
    let h = harness_confirming(&fake).await;
    fake.settle(&h.order_id, SAMPLE_TX, &h.amount());
    let resp = h
        .call(h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(body(&resp)["outcome"], "applied");
    assert_eq!(h.one("SELECT status FROM orders").await, "paid");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn with_the_status_api_a_settlement_the_gateway_does_not_confirm_is_a_502_that_changes_nothing() {
    let fake = FakeMidtrans::start(SERVER_KEY).await;
    let h = harness_confirming(&fake).await;
    let settlement = h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY);
    // The gateway has never heard of the order; then it says the transaction is still pending; then it names
    // another transaction.
    let unknown = h.call(settlement.clone()).await;
    assert_eq!(unknown["statusCode"], 502, "{unknown}");
    fake.report(&h.order_id, SAMPLE_TX, "201", "pending", &h.amount());
    let pending = h.call(settlement.clone()).await;
    assert_eq!(pending["statusCode"], 502, "{pending}");
    fake.settle(&h.order_id, "another-transaction", &h.amount());
    let other = h.call(settlement).await;
    assert_eq!(other["statusCode"], 502, "{other}");
    assert_eq!(body(&other)["type"], "urn:niaga:problem:bad-gateway");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 0);
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.paid'")
            .await,
        0
    );
}

#[tokio::test]
async fn with_the_status_api_down_a_settlement_is_a_502_and_midtrans_retry_marks_the_order_paid() {
    let fake = FakeMidtrans::start(SERVER_KEY).await;
    let h = harness_confirming(&fake).await;
    fake.settle(&h.order_id, SAMPLE_TX, &h.amount());
    let settlement = h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY);
    fake.outage(true);
    let down = h.call(settlement.clone()).await;
    assert_eq!(down["statusCode"], 502, "{down}");
    fake.outage(false);
    fake.delay(Duration::from_secs(2));
    let slow = h.call(settlement.clone()).await;
    assert_eq!(slow["statusCode"], 502, "{slow}");
    assert_eq!(h.one("SELECT status FROM orders").await, "pending_payment");
    assert_eq!(h.count("SELECT count(*) FROM payment_notifications").await, 0);
    fake.delay(Duration::ZERO);
    let retried = h.call(settlement).await;
    assert_eq!(retried["statusCode"], 200, "{retried}");
    assert_eq!(h.one("SELECT status FROM orders").await, "paid");
}

#[tokio::test]
async fn with_the_status_api_money_for_a_closed_order_is_a_refund_due_only_once_the_gateway_confirms_it() {
    let fake = FakeMidtrans::start(SERVER_KEY).await;
    let h = harness_confirming(&fake).await;
    let expired = h
        .call(h.notification("payments-api/expire.json", &h.amount(), SERVER_KEY))
        .await;
    assert_eq!(expired["statusCode"], 200, "{expired}");
    assert_eq!(fake.calls(), 0, "an expiry needs no confirmation");
    let settlement = h.notification("payments-api/settlement.json", &h.amount(), SERVER_KEY);
    fake.report(&h.order_id, SAMPLE_TX, "407", "expire", &h.amount());
    let unconfirmed = h.call(settlement.clone()).await;
    assert_eq!(unconfirmed["statusCode"], 502, "{unconfirmed}");
    assert_eq!(h.count("SELECT count(*) FROM refunds_due").await, 0);
    fake.settle(&h.order_id, SAMPLE_TX, &h.amount());
    let confirmed = h.call(settlement).await;
    assert_eq!(body(&confirmed)["refund_due"], true, "{confirmed}");
    assert_eq!(h.count("SELECT count(*) FROM refunds_due").await, 1);
}
