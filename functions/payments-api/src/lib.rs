//! `payments-api`: `POST /payments/callback`, the payment gateway's notification (Midtrans shape).
//!
//! The notification carries no bearer token; its SHA-512 `signature_key` over order id, status code, gross amount
//! and the server key (from Secrets Manager) is the authentication. A wrong signature is 401 and a gross amount
//! that differs from the order total is 422, both with nothing written. A repeated notification is a 200 no-op.
//! Settlement moves the order to paid; deny, cancel, failure or expiry release its stock.
//!
//! The handler decodes and maps; the rules live in `orders::payment` and `orders::Orders::apply_payment`. This
//! crate must not depend on the AWS SDK or hold SQL.

use kernel::SecretString;
use lambda_http::{Body, Request};
use orders::{Notification, OrderStore, Orders, PaymentError};
use platform::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use platform::{Env, Problem};

/// Settings read at cold start.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Secrets Manager id of the payments secret (`{"server_key": "..."}`).
    pub payments_secret_id: String,
}

impl platform::config::FromEnv for PaymentsConfig {
    fn from_env(env: &Env) -> Result<Self, platform::ConfigError> {
        Ok(PaymentsConfig {
            payments_secret_id: env.required("NIAGA_PAYMENTS_SECRET_ID")?,
        })
    }
}

/// The payments secret's contents.
#[derive(serde::Deserialize)]
pub struct PaymentSecret {
    pub server_key: String,
}

/// What a valid notification did to its order.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CallbackAnswer {
    pub order_id: uuid::Uuid,
    /// `applied`, `recorded`, `already_applied`, `conflict` or `duplicate`.
    pub outcome: String,
    pub order_status: orders::OrderStatus,
}

/// A Midtrans-style notification. Every member is a string; `signature_key` is the SHA-512 (hex) of `order_id`,
/// `status_code`, `gross_amount` and the server key.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct PaymentNotification {
    #[schemars(length(min = 1, max = 256))]
    pub order_id: String,
    #[schemars(length(min = 1, max = 256))]
    pub status_code: String,
    /// Rupiah with optional cents, such as `"1250000.00"`.
    #[schemars(length(min = 1, max = 256))]
    pub gross_amount: String,
    #[schemars(length(min = 1, max = 256))]
    pub signature_key: String,
    #[schemars(length(min = 1, max = 256))]
    pub transaction_id: String,
    /// `settlement`, `capture`, `deny`, `cancel`, `failure`, `expire`, `pending`, …
    #[schemars(length(min = 1, max = 256))]
    pub transaction_status: String,
    pub fraud_status: Option<String>,
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    vec![platform::openapi::Operation::new(
        "POST",
        "/payments/callback",
        "paymentCallback",
        "Receive the payment gateway's notification",
    )
    .tag("payments-api")
    .describe("Authenticated by its signature, not a token. A repeated notification is a 200 no-op.")
    .json_body::<PaymentNotification>()
    .answers::<CallbackAnswer>(200, "What the notification did.")]
}

#[derive(Debug)]
pub struct PaymentsApi<S> {
    orders: Orders<S>,
    server_key: SecretString,
    /// Publishes the order's outbox events right after the commit; `None` leaves them to the sweeper.
    relay: Option<platform::outbox::Relay>,
}

impl<S: OrderStore> PaymentsApi<S> {
    pub fn new(orders: Orders<S>, server_key: SecretString) -> Self {
        PaymentsApi {
            orders,
            server_key,
            relay: None,
        }
    }

    /// Publishes each order's events right after the commit that wrote them.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn callback(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let body = json_body(req)?;
        let n = Notification::parse(body).map_err(|e| Problem::invalid_body(e.field, e.message))?;
        match self
            .orders
            .apply_payment(&n, &self.server_key, chrono::Utc::now())
            .await
        {
            Ok(o) => {
                if let (Some(r), "applied") = (&self.relay, o.outcome) {
                    r.after_commit(&n.order_id.to_string()).await;
                }
                Ok(private_json(
                    200,
                    &serde_json::to_value(CallbackAnswer {
                        order_id: n.order_id,
                        outcome: o.outcome.to_string(),
                        order_status: o.status,
                    })
                    .map_err(Problem::internal)?,
                ))
            }
            Err(PaymentError::BadSignature) => Err(Problem::client(
                401,
                "invalid-signature",
                "Invalid signature",
                "signature_key does not match this notification",
            )),
            Err(PaymentError::UnknownOrder) => Err(Problem::not_found("no such order")),
            Err(e @ PaymentError::AmountMismatch { .. }) => {
                Err(
                    Problem::client(422, "amount-mismatch", "Amount does not match the order", e.to_string())
                        .field("gross_amount", "does not match the order total"),
                )
            }
            Err(PaymentError::Unavailable(cause)) => Err(Problem::unavailable(1, cause)),
        }
    }
}

impl<S: OrderStore> HttpHandler for PaymentsApi<S> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (req.method(), path.as_slice()) {
            (&http::Method::POST, ["payments", "callback"]) => self.callback(&req).await,
            (_, ["payments", "callback"]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}
