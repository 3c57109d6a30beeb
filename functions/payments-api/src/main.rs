//! `payments-api` Lambda entry point: build once (including the server key and the status API client), then serve.

use kernel::{SecretString, SharedSecret};
use midtrans::MidtransStatusApi;
use orders::{Orders, PaymentVerifier};
use payments_api::{PaymentSecret, PaymentsApi, PaymentsConfig};
use store::orders::PgOrders;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<PaymentsConfig>("payments-api").await;
    let secret: PaymentSecret = match deps.secrets.get_json(&deps.config.payments_secret_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "payments secret unavailable; refusing to start");
            eprintln!("payments-api: refusing to start: {e}");
            std::process::exit(1);
        }
    };
    // Shared with the verifier and the status API client, and kept on the secret's value as it rotates.
    let server_key = SharedSecret::new(SecretString::new(secret.server_key));
    deps.keys
        .follow(deps.config.payments_secret_id.clone(), "server_key", server_key.clone());
    let gateway = match &deps.config.status_api {
        None => None,
        Some(c) => match MidtransStatusApi::with_shared_key(&c.base_url, c.timeout, server_key.clone()) {
            Ok(api) => Some(api),
            Err(e) => {
                tracing::error!(error = %e, "status API client cannot be built; refusing to start");
                eprintln!("payments-api: refusing to start: NIAGA_PAYMENTS_STATUS_URL: {e}");
                std::process::exit(1);
            }
        },
    };
    tracing::info!(confirm_with_status_api = gateway.is_some(), "payments-api configured");
    let api = PaymentsApi::new(
        Orders::new(PgOrders::new(deps.db.clone())),
        PaymentVerifier::with_shared_key(server_key, gateway),
    )
    .with_relay(deps.fast_path_relay().await);
    lambda_glue::http::run(deps.runtime(), api).await
}
