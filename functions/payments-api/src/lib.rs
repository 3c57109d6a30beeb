//! `payments-api`: `POST /payments/callback`, the payment gateway's notification (Midtrans shape).
//!
//! The notification carries no bearer token; its SHA-512 `signature_key` over order id, status code, gross amount
//! and the server key (from Secrets Manager) is the authentication. The signature does not cover
//! `transaction_status` or `fraud_status`, so they must agree with `status_code` under Midtrans's table
//! (`orders::payment::PaymentState::read`). Answers, chosen for Midtrans's retries (it retries a 500 once, a 503
//! four times, a 400 or 404 twice, never a 301–303, and any other failure five times):
//! - 400 naming the field when the notification is malformed or its statuses contradict its `status_code`: a
//!   forged or edited message is refused, changes nothing, and comes back at most twice;
//! - 401 for a wrong signature and 422 for a gross amount that differs from the order total, both with nothing
//!   written; a repeated notification is a 200 no-op;
//! - when the status API is configured (`NIAGA_PAYMENTS_STATUS_URL`), a success is confirmed with the gateway
//!   before the order is marked paid; a gateway that disagrees or cannot be asked is a 502 with nothing written,
//!   which Midtrans retries five times, the most it offers, over about six hours.
//!
//! Settlement moves the order to paid; deny, cancel, failure or expiry release its stock. Money for an order that
//! has already closed is a refund due: recorded once, logged, and counted in the `refunds_due` metric, which
//! alarms.
//!
//! The handler decodes and maps; the rules live in `orders::payment` and `orders::Orders::apply_payment`. This
//! crate must not depend on the AWS SDK or hold SQL.

use lambda_glue::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use lambda_glue::metrics::{self, Unit};
use lambda_glue::{ConfigError, Env, Problem};
use lambda_http::{Body, Request};
use orders::{
    Notification, NotificationError, OrderStore, Orders, PaymentError, PaymentGateway, PaymentOutcome, PaymentVerifier,
    Unconfirmed,
};
use std::time::Duration;

/// Settings read at cold start.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Secrets Manager id of the payments secret (`{"server_key": "..."}`).
    pub payments_secret_id: String,
    /// The gateway's Get Status API, when successes are confirmed with it before an order is marked paid; `None`
    /// (the default) trusts the signature and the status table alone.
    pub status_api: Option<StatusApiConfig>,
}

/// Where and how patiently to ask the gateway's Get Status API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusApiConfig {
    /// `NIAGA_PAYMENTS_STATUS_URL`: the API's base URL (`https://api.midtrans.com`; the sandbox is
    /// `https://api.sandbox.midtrans.com`).
    pub base_url: String,
    /// `NIAGA_PAYMENTS_STATUS_TIMEOUT_MS`: one bound on each call, connecting included (default 3000, at most
    /// 8000, so the answer reaches Midtrans well inside its 15 seconds and the function's 10).
    pub timeout: Duration,
}

impl lambda_glue::env::FromEnv for PaymentsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let status_api = match env.optional("NIAGA_PAYMENTS_STATUS_URL") {
            None => None,
            Some(url) => {
                midtrans::check_base_url(url.trim()).map_err(|e| ConfigError {
                    variable: "NIAGA_PAYMENTS_STATUS_URL".into(),
                    problem: format!("is invalid: {e}"),
                })?;
                Some(StatusApiConfig {
                    base_url: url.trim().to_string(),
                    timeout: Duration::from_millis(env.int_in(
                        "NIAGA_PAYMENTS_STATUS_TIMEOUT_MS",
                        3_000,
                        100..=8_000,
                    )?),
                })
            }
        };
        Ok(PaymentsConfig {
            payments_secret_id: env.required("NIAGA_PAYMENTS_SECRET_ID")?,
            status_api,
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
    /// True when the notification brought money for an order that had already closed: it is listed at
    /// `GET /admin/refunds-due` to be sent back.
    pub refund_due: bool,
}

/// A Midtrans-style notification. Every member is a string; `signature_key` is the SHA-512 (hex) of `order_id`,
/// `status_code`, `gross_amount` and the server key.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct PaymentNotification {
    #[schemars(length(min = 1, max = 256))]
    pub order_id: String,
    /// `200` success, `201` pending, `202` denied; expiry comes as `202` or `407`, and a cancel as `200` or `202`.
    /// It must agree with `transaction_status` and `fraud_status`.
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
    /// `accept`, `challenge` or `deny`; some payment methods leave it out.
    #[schemars(length(min = 1, max = 256))]
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
    .describe(
        "Authenticated by its signature, not a token. A repeated notification is a 200 no-op. Statuses that \
         disagree with status_code are a 400 naming the field; a success the gateway's status API does not confirm \
         (where configured) is a 502, so the gateway retries.",
    )
    .json_body::<PaymentNotification>()
    .answers::<CallbackAnswer>(200, "What the notification did.")]
}

#[derive(Debug)]
pub struct PaymentsApi<S, G = Unconfirmed> {
    orders: Orders<S>,
    verifier: PaymentVerifier<G>,
    /// Publishes the order's outbox events right after the commit; `None` leaves them to the sweeper.
    relay: Option<platform::outbox::Relay>,
}

impl<S: OrderStore, G: PaymentGateway + 'static> PaymentsApi<S, G> {
    pub fn new(orders: Orders<S>, verifier: PaymentVerifier<G>) -> Self {
        PaymentsApi {
            orders,
            verifier,
            relay: None,
        }
    }

    /// Publishes each order's events right after the commit that wrote them.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn callback(&self, req: &Request, ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let body = json_body(req)?;
        let n = Notification::parse(body).map_err(notification_problem)?;
        let outcome = self
            .orders
            .apply_payment(&n, &self.verifier, chrono::Utc::now())
            .await
            .map_err(payment_problem)?;
        if let (Some(r), "applied") = (&self.relay, outcome.outcome) {
            r.after_commit(&n.order_id.to_string()).await;
        }
        if let Some(record) = refund_due_record(&outcome, &ctx.request_id) {
            metrics::emit(&record);
        }
        Ok(private_json(
            200,
            &serde_json::to_value(CallbackAnswer {
                order_id: n.order_id,
                outcome: outcome.outcome.to_string(),
                order_status: outcome.status,
                refund_due: outcome.refund_due.is_some(),
            })
            .map_err(Problem::internal)?,
        ))
    }
}

/// `refunds_due`, one per refund recorded (not per notification that repeats it); the `refund-due` alarm fires
/// on any.
pub fn refund_due_record(outcome: &PaymentOutcome, request_id: &str) -> Option<metrics::Record> {
    let refund = outcome.refund_due.as_ref().filter(|_| outcome.refund_recorded)?;
    Some(
        metrics::Record::new(&platform::NIAGA, "payments-api")
            .metric("refunds_due", 1.0, Unit::Count)
            .property("amount", refund.amount.minor())
            .property("order_id", refund.order_id.to_string())
            .property("transaction_id", refund.transaction_id.clone())
            .property("order_status", refund.order_status.as_str())
            .property("request_id", request_id),
    )
}

/// A malformed notification, or one whose statuses contradict its `status_code`: 400 naming the field. A 400 is
/// the honest refusal Midtrans retries least (twice); a 2xx would acknowledge a message nothing was done about,
/// and a 422 or other 4xx would bring it back five times.
fn notification_problem(e: NotificationError) -> Problem {
    if e.contradicts_status_code {
        Problem::client(
            400,
            "status-mismatch",
            "Statuses disagree with status_code",
            e.to_string(),
        )
        .field(e.field, e.message)
    } else {
        Problem::invalid_body(e.field, e.message)
    }
}

fn payment_problem(e: PaymentError) -> Problem {
    match e {
        PaymentError::BadSignature => Problem::client(
            401,
            "invalid-signature",
            "Invalid signature",
            "signature_key does not match this notification",
        ),
        PaymentError::UnknownOrder => Problem::not_found("no such order"),
        e @ PaymentError::AmountMismatch { .. } => {
            Problem::client(422, "amount-mismatch", "Amount does not match the order", e.to_string())
                .field("gross_amount", "does not match the order total")
        }
        // Nothing was written; a 502 is retried five times, so a gateway that lags or is down gets hours to
        // recover before Midtrans gives up.
        e @ (PaymentError::NotConfirmed(_) | PaymentError::GatewayUnavailable(_)) => Problem::bad_gateway(e),
        PaymentError::Unavailable(cause) => Problem::unavailable(1, cause),
    }
}

impl<S: OrderStore, G: PaymentGateway + 'static> HttpHandler for PaymentsApi<S, G> {
    async fn handle(&self, req: Request, ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (req.method(), path.as_slice()) {
            (&http::Method::POST, ["payments", "callback"]) => self.callback(&req, ctx).await,
            (_, ["payments", "callback"]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_glue::env::FromEnv;

    #[test]
    fn a_refund_recorded_is_one_refunds_due_metric_and_a_repeat_is_none() {
        let refund = orders::RefundDue {
            order_id: uuid::Uuid::nil(),
            partner_id: 7,
            transaction_id: "tx-1".into(),
            transaction_status: "settlement".into(),
            amount: kernel::Money::from_minor(1_250_000),
            currency: kernel::Currency::Idr,
            order_status: orders::OrderStatus::Expired,
            recorded_at: chrono::Utc::now(),
        };
        let mut outcome = PaymentOutcome {
            outcome: "conflict",
            status: orders::OrderStatus::Expired,
            refund_due: Some(refund),
            refund_recorded: true,
        };
        let doc = refund_due_record(&outcome, "r-1").unwrap().to_json(0);
        assert_eq!(doc["function"], "payments-api");
        assert_eq!(doc["refunds_due"], 1.0);
        assert_eq!(doc["amount"], 1_250_000);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "refunds_due");
        assert_eq!(doc["order_status"], "expired");
        outcome.refund_recorded = false;
        assert!(refund_due_record(&outcome, "r-2").is_none());
    }

    #[test]
    fn the_status_api_is_off_unless_its_url_is_set_and_a_bad_url_names_the_variable() {
        let off = PaymentsConfig::from_env(&Env::from_pairs([("NIAGA_PAYMENTS_SECRET_ID", "p")])).unwrap();
        assert_eq!(off.status_api, None);
        let on = PaymentsConfig::from_env(&Env::from_pairs([
            ("NIAGA_PAYMENTS_SECRET_ID", "p"),
            ("NIAGA_PAYMENTS_STATUS_URL", "https://api.sandbox.midtrans.com"),
        ]))
        .unwrap();
        assert_eq!(
            on.status_api,
            Some(StatusApiConfig {
                base_url: "https://api.sandbox.midtrans.com".into(),
                timeout: Duration::from_millis(3_000),
            })
        );
        for (var, value) in [
            ("NIAGA_PAYMENTS_STATUS_URL", "http://api.midtrans.com"),
            ("NIAGA_PAYMENTS_STATUS_TIMEOUT_MS", "60000"),
        ] {
            let mut pairs = vec![
                ("NIAGA_PAYMENTS_SECRET_ID", "p"),
                ("NIAGA_PAYMENTS_STATUS_URL", "https://api.midtrans.com"),
            ];
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let e = PaymentsConfig::from_env(&Env::from_pairs(pairs)).unwrap_err();
            assert_eq!(e.variable, var);
        }
    }
}
