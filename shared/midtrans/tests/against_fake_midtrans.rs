//! The Get Status adapter against testkit's stand-in for the gateway: what it reads, and that every failure is
//! `GatewayUnavailable` rather than a guessed status.

use kernel::{Money, SecretString};
use midtrans::MidtransStatusApi;
use orders::{PaymentGateway, PaymentState};
use std::time::Duration;
use testkit::midtrans::FakeMidtrans;

const KEY: &str = "SB-Mid-server-test-0123456789";
const ORDER: &str = "0b6f7f9e-6d43-4d47-9d0e-7f1f4b2f8a11";

fn api(fake: &FakeMidtrans, key: &str) -> MidtransStatusApi {
    MidtransStatusApi::new(fake.url(), Duration::from_millis(500), SecretString::new(key)).unwrap()
}

#[tokio::test]
async fn a_settled_transaction_reads_as_paid_with_its_id_and_amount() {
    let fake = FakeMidtrans::start(KEY).await;
    fake.settle(ORDER, "tx-1", "1250000.00");
    let status = api(&fake, KEY).status(ORDER).await.unwrap().unwrap();
    assert_eq!(status.state, PaymentState::Paid);
    assert_eq!(status.transaction_id, "tx-1");
    assert_eq!(status.gross_amount, Money::from_minor(1_250_000));
}

#[tokio::test]
async fn a_pending_transaction_reads_as_pending_and_an_unknown_order_as_none() {
    let fake = FakeMidtrans::start(KEY).await;
    fake.report(ORDER, "tx-1", "201", "pending", "1250000.00");
    let status = api(&fake, KEY).status(ORDER).await.unwrap().unwrap();
    assert_eq!(status.state, PaymentState::Pending);
    assert_eq!(api(&fake, KEY).status("no-such-order").await.unwrap(), None);
}

#[tokio::test]
async fn an_outage_a_wrong_key_a_timeout_and_an_undocumented_answer_are_each_unavailable() {
    let fake = FakeMidtrans::start(KEY).await;
    fake.settle(ORDER, "tx-1", "1250000.00");
    assert!(
        api(&fake, "SB-Mid-server-wrong").status(ORDER).await.is_err(),
        "a refused key"
    );
    fake.fail_next(1);
    assert!(api(&fake, KEY).status(ORDER).await.is_err(), "a 503");
    assert!(
        api(&fake, KEY).status(ORDER).await.unwrap().is_some(),
        "and then it answers"
    );
    fake.malformed(true);
    assert!(
        api(&fake, KEY).status(ORDER).await.is_err(),
        "a body that is not a status"
    );
    fake.malformed(false);
    fake.delay(Duration::from_secs(2));
    let started = std::time::Instant::now();
    assert!(api(&fake, KEY).status(ORDER).await.is_err(), "too slow");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the timeout bounds the call"
    );
}

#[tokio::test]
async fn an_unreachable_gateway_is_unavailable() {
    let fake = FakeMidtrans::start(KEY).await;
    let url = fake.url().to_string();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let api = MidtransStatusApi::new(&url, Duration::from_millis(500), SecretString::new(KEY)).unwrap();
    assert!(api.status(ORDER).await.is_err());
}

#[tokio::test]
async fn a_status_whose_code_disagrees_with_its_status_is_unavailable_not_believed() {
    let fake = FakeMidtrans::start(KEY).await;
    fake.report(ORDER, "tx-1", "201", "settlement", "1250000.00");
    let err = api(&fake, KEY).status(ORDER).await.unwrap_err();
    assert!(format!("{:#}", anyhow::Error::from(err)).contains("transaction_status"));
}
