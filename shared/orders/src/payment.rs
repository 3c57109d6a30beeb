//! Payment notifications in the Midtrans shape: parsing, the signature rule, Midtrans's status table, and the port
//! to the gateway's Get Status API.
//!
//! The signature is SHA-512 over `order_id + status_code + gross_amount + server_key`, hex-encoded; the server key
//! never leaves Secrets Manager and this module. Rupiah has no minor unit, so `gross_amount` ("1250000.00") must
//! have a zero fraction and must equal the order total exactly.
//!
//! The signature covers `status_code` but not `transaction_status` or `fraud_status`, so a notification is read
//! into a [`PaymentState`] only when the three agree with Midtrans's table ([`PaymentState::read`]): a `pending`
//! (201) notification whose status was edited to `settlement` does not parse. The table cannot tell a genuine
//! 200 `cancel`, `refund` or `authorize` from one edited to `settlement` (all are sent with 200); confirming a
//! success with the gateway's Get Status API ([`PaymentGateway`]) closes that gap where it is configured.

use crate::status::{OrderEvent, OrderStatus};
use chrono::{DateTime, Utc};
use kernel::{Money, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha512};
use std::borrow::Cow;
use std::future::Future;
use uuid::Uuid;

/// A parsed notification whose fields all have the right shape and whose statuses agree with Midtrans's table (the
/// signature is checked separately).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub order_id: Uuid,
    /// The order id exactly as sent, which the signature covers.
    pub raw_order_id: String,
    pub status_code: String,
    pub gross_amount_raw: String,
    pub gross_amount: Money,
    pub signature_key: String,
    pub transaction_id: String,
    pub transaction_status: String,
    pub fraud_status: Option<String>,
    /// What `transaction_status` and `fraud_status` mean, read with `status_code` through the table.
    pub state: PaymentState,
    pub payload: Value,
}

/// A field of the notification is missing, malformed, or contradicts `status_code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct NotificationError {
    pub field: &'static str,
    pub message: Cow<'static, str>,
    /// The field is well-formed but disagrees with `status_code` (which the signature covers) under Midtrans's
    /// status table: the statuses were edited, or the sender is not Midtrans.
    pub contradicts_status_code: bool,
}

impl NotificationError {
    fn malformed(field: &'static str, message: &'static str) -> Self {
        NotificationError {
            field,
            message: Cow::Borrowed(message),
            contradicts_status_code: false,
        }
    }

    fn contradiction(field: &'static str, message: String) -> Self {
        NotificationError {
            field,
            message: Cow::Owned(message),
            contradicts_status_code: true,
        }
    }
}

fn field<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, NotificationError> {
    let s = v
        .get(name)
        .and_then(Value::as_str)
        .ok_or(NotificationError::malformed(name, "is required and must be a string"))?;
    if s.is_empty() || s.len() > 256 {
        return Err(NotificationError::malformed(name, "must be 1 to 256 characters"));
    }
    Ok(s)
}

/// `fraud_status` when present: a string of at most 256 characters, or null.
fn fraud_field(v: &Value) -> Result<Option<&str>, NotificationError> {
    match v.get("fraud_status") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(Some(s)),
        Some(_) => Err(NotificationError::malformed(
            "fraud_status",
            "must be a string of 1 to 256 characters when present",
        )),
    }
}

impl Notification {
    pub fn parse(payload: Value) -> Result<Notification, NotificationError> {
        let raw_order_id = field(&payload, "order_id")?.to_string();
        let order_id = Uuid::parse_str(&raw_order_id)
            .map_err(|_| NotificationError::malformed("order_id", "is not a Niaga order id"))?;
        let gross_amount_raw = field(&payload, "gross_amount")?.to_string();
        let gross_amount = parse_rupiah(&gross_amount_raw).ok_or(NotificationError::malformed(
            "gross_amount",
            "must be a non-negative rupiah amount such as \"1250000.00\"",
        ))?;
        let status_code = field(&payload, "status_code")?.to_string();
        let signature_key = field(&payload, "signature_key")?.to_string();
        let transaction_id = field(&payload, "transaction_id")?.to_string();
        let transaction_status = field(&payload, "transaction_status")?.to_string();
        let fraud_status = fraud_field(&payload)?.map(str::to_string);
        let state = PaymentState::read(&status_code, &transaction_status, fraud_status.as_deref())?;
        Ok(Notification {
            order_id,
            raw_order_id,
            status_code,
            gross_amount_raw,
            gross_amount,
            signature_key,
            transaction_id,
            transaction_status,
            fraud_status,
            state,
            payload,
        })
    }

    /// True when `signature_key` is the SHA-512 of order_id + status_code + gross_amount + server key.
    pub fn signature_is_valid(&self, server_key: &SecretString) -> bool {
        let expected = signature(
            &self.raw_order_id,
            &self.status_code,
            &self.gross_amount_raw,
            server_key,
        );
        constant_time_eq(expected.as_bytes(), self.signature_key.to_ascii_lowercase().as_bytes())
    }

    /// What the notification asks of the order; `None` for states that change nothing (pending, a capture under
    /// fraud review, refunds, which the ERP owns).
    pub fn event(&self) -> Option<OrderEvent> {
        self.state.event()
    }
}

/// What a notification (or the gateway's status answer) says happened to the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentState {
    /// The money is received: `settlement`, or a card `capture` that fraud detection accepted (or did not review).
    Paid,
    /// Not yet: `pending`, or a card `capture` held for fraud review (`challenge`).
    Pending,
    /// No money will come: `deny`, `cancel` or `failure`.
    Failed,
    /// The payment window closed unpaid: `expire`.
    Expired,
    /// A card `capture` that fraud detection denied; the `deny` or `cancel` that follows decides.
    FraudDenied,
    /// Money went back after settlement: `refund`, `partial_refund`, `chargeback`, `partial_chargeback`. The ERP
    /// owns refunds.
    Reversed,
    /// A card pre-authorisation (`authorize`), to be captured later.
    Authorized,
    /// A `transaction_status` the table does not list: recorded, and changes nothing.
    Unknown,
}

/// `fraud_status` as the table distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fraud {
    Absent,
    Accept,
    Challenge,
    Deny,
    Other,
}

impl Fraud {
    fn of(s: Option<&str>) -> Fraud {
        match s {
            None => Fraud::Absent,
            Some("accept") => Fraud::Accept,
            Some("challenge") => Fraud::Challenge,
            Some("deny") => Fraud::Deny,
            Some(_) => Fraud::Other,
        }
    }
}

const OK: &[&str] = &["200"];
const PENDING: &[&str] = &["201"];
const DENIED: &[&str] = &["202"];
/// Midtrans's Cancel API documents its response and notification with 200; the 2xx code table says 202 for
/// transactions that did not go through. Sources disagree, so both are accepted.
const CANCELLED: &[&str] = &["200", "202"];
/// Midtrans's own virtual-account samples send expiry with 202; the Expire API and the official PHP library's
/// tests use 407. Sources disagree, so both are accepted.
const EXPIRED: &[&str] = &["202", "407"];

/// One row of Midtrans's table: what the statuses mean, the status codes they are sent with, and which field is
/// at fault when the code disagrees.
struct Row {
    state: PaymentState,
    codes: &'static [&'static str],
    blame: &'static str,
}

/// Midtrans's table (docs.midtrans.com: the HTTP notification page, the transaction status cycle, the 2xx codes).
/// `Ok(None)` for a `transaction_status` it does not list.
fn row(transaction_status: &str, fraud: Fraud) -> Result<Option<Row>, NotificationError> {
    use PaymentState as S;
    let plain = |state, codes| {
        Ok(Some(Row {
            state,
            codes,
            blame: "transaction_status",
        }))
    };
    let card = |state, codes| {
        Ok(Some(Row {
            state,
            codes,
            blame: "fraud_status",
        }))
    };
    match (transaction_status, fraud) {
        ("settlement", Fraud::Absent | Fraud::Accept) => plain(S::Paid, OK),
        ("settlement", _) => Err(NotificationError::malformed(
            "fraud_status",
            "must be `accept`, or absent, on a settlement",
        )),
        ("capture", Fraud::Absent) => plain(S::Paid, OK),
        ("capture", Fraud::Accept) => card(S::Paid, OK),
        ("capture", Fraud::Challenge) => card(S::Pending, PENDING),
        ("capture", Fraud::Deny) => card(S::FraudDenied, DENIED),
        ("capture", Fraud::Other) => Err(NotificationError::malformed(
            "fraud_status",
            "must be `accept`, `challenge` or `deny` on a capture",
        )),
        ("pending", _) => plain(S::Pending, PENDING),
        ("deny" | "failure", _) => plain(S::Failed, DENIED),
        ("cancel", _) => plain(S::Failed, CANCELLED),
        ("expire", _) => plain(S::Expired, EXPIRED),
        ("refund" | "partial_refund" | "chargeback" | "partial_chargeback", _) => plain(S::Reversed, OK),
        ("authorize", _) => plain(S::Authorized, OK),
        _ => Ok(None),
    }
}

impl PaymentState {
    /// Reads `transaction_status` and `fraud_status` through Midtrans's table and checks them against
    /// `status_code`. A combination the table does not allow is an error naming the field at fault
    /// (`transaction_status`, or `fraud_status` for a card capture); a status the table does not list is
    /// [`PaymentState::Unknown`], whatever its code, because it changes nothing.
    pub fn read(
        status_code: &str,
        transaction_status: &str,
        fraud_status: Option<&str>,
    ) -> Result<PaymentState, NotificationError> {
        let Some(row) = row(transaction_status, Fraud::of(fraud_status))? else {
            return Ok(PaymentState::Unknown);
        };
        if row.codes.contains(&status_code) {
            return Ok(row.state);
        }
        let with_fraud = match fraud_status {
            Some(f) if row.blame == "fraud_status" => format!(" with fraud_status `{f}`"),
            _ => String::new(),
        };
        Err(NotificationError::contradiction(
            row.blame,
            format!(
                "`{transaction_status}`{with_fraud} is sent with status_code {}, not `{status_code}`",
                row.codes.join(" or ")
            ),
        ))
    }

    /// What this state asks of the order.
    pub fn event(self) -> Option<OrderEvent> {
        match self {
            PaymentState::Paid => Some(OrderEvent::Pay),
            PaymentState::Failed => Some(OrderEvent::Cancel),
            PaymentState::Expired => Some(OrderEvent::Expire),
            PaymentState::Pending
            | PaymentState::FraudDenied
            | PaymentState::Reversed
            | PaymentState::Authorized
            | PaymentState::Unknown => None,
        }
    }
}

/// The gateway's own record of an order's transaction, as its Get Status API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStatus {
    pub transaction_id: String,
    pub transaction_status: String,
    pub state: PaymentState,
    pub gross_amount: Money,
}

impl GatewayStatus {
    /// Reads a Get Status answer (the notification's fields, through the same table). `Ok(None)` when the gateway
    /// says it has no transaction for the order (`status_code` 404).
    pub fn parse(v: &Value) -> Result<Option<GatewayStatus>, NotificationError> {
        let status_code = field(v, "status_code")?;
        if status_code == "404" {
            return Ok(None);
        }
        let transaction_status = field(v, "transaction_status")?;
        let state = PaymentState::read(status_code, transaction_status, fraud_field(v)?)?;
        let gross_amount = parse_rupiah(field(v, "gross_amount")?).ok_or(NotificationError::malformed(
            "gross_amount",
            "must be a non-negative rupiah amount such as \"1250000.00\"",
        ))?;
        Ok(Some(GatewayStatus {
            transaction_id: field(v, "transaction_id")?.to_string(),
            transaction_status: transaction_status.to_string(),
            state,
            gross_amount,
        }))
    }

    /// Why this record does not confirm `n` as money received, or `None` when it does: the same transaction,
    /// settled (or captured and accepted), for the same amount.
    pub fn disagreement(&self, n: &Notification) -> Option<String> {
        if self.transaction_id != n.transaction_id {
            return Some(format!(
                "the gateway's transaction for the order is {}, not {}",
                self.transaction_id, n.transaction_id
            ));
        }
        if self.state != PaymentState::Paid {
            return Some(format!(
                "the gateway says the transaction is `{}`, not paid",
                self.transaction_status
            ));
        }
        if self.gross_amount != n.gross_amount {
            return Some(format!(
                "the gateway's gross_amount is {}, not {}",
                self.gross_amount, n.gross_amount
            ));
        }
        None
    }
}

/// The gateway's Get Status API could not be asked, did not answer in time, or did not answer in its documented
/// shape.
#[derive(Debug, thiserror::Error)]
#[error("the payment gateway's status API is unavailable")]
pub struct GatewayUnavailable(#[source] pub anyhow::Error);

/// The payment gateway's Get Status API: its own record of an order's transaction, asked over an authenticated
/// channel, so it cannot be forged the way a notification's unsigned fields can.
pub trait PaymentGateway: Send + Sync {
    /// The gateway's current record of the transaction for `order_id` (the order id exactly as the notification
    /// carried it).
    ///
    /// MUST return `Ok(None)` only when the gateway answered that it has no transaction for the order, and
    /// `Err` when it could not be reached, did not answer within the adapter's timeout, refused the credentials,
    /// or answered in a shape that is not the documented one: never a guessed status.
    fn status(&self, order_id: &str) -> impl Future<Output = Result<Option<GatewayStatus>, GatewayUnavailable>> + Send;
}

/// No gateway: notifications are verified by their signature alone. It has no values, so it is never asked.
#[derive(Debug, Clone, Copy)]
pub enum Unconfirmed {}

impl PaymentGateway for Unconfirmed {
    async fn status(&self, _order_id: &str) -> Result<Option<GatewayStatus>, GatewayUnavailable> {
        match *self {}
    }
}

/// How a notification is verified before it may change an order: its signature with the server key and, when a
/// gateway is given, a success confirmed with the gateway's Get Status API.
#[derive(Debug, Clone)]
pub struct PaymentVerifier<G> {
    /// Shared, so a rotated key reaches the verifier while it runs.
    server_key: kernel::SharedSecret,
    gateway: Option<G>,
}

impl PaymentVerifier<Unconfirmed> {
    /// The signature alone.
    pub fn signature_only(server_key: SecretString) -> Self {
        PaymentVerifier {
            server_key: kernel::SharedSecret::new(server_key),
            gateway: None,
        }
    }
}

impl<G: PaymentGateway> PaymentVerifier<G> {
    /// The signature, and each success confirmed with `gateway` when there is one.
    pub fn new(server_key: SecretString, gateway: Option<G>) -> Self {
        Self::with_shared_key(kernel::SharedSecret::new(server_key), gateway)
    }

    /// Like [`PaymentVerifier::new`], with a key whoever holds a clone of it may replace (a rotation).
    pub fn with_shared_key(server_key: kernel::SharedSecret, gateway: Option<G>) -> Self {
        PaymentVerifier { server_key, gateway }
    }

    /// The server key now.
    pub fn server_key(&self) -> SecretString {
        self.server_key.get()
    }

    pub fn gateway(&self) -> Option<&G> {
        self.gateway.as_ref()
    }
}

/// Money that arrived for an order that can no longer take it (cancelled or expired before the payment came):
/// it must go back to the partner. One per (order, transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RefundDue {
    pub order_id: Uuid,
    pub partner_id: i64,
    /// The gateway's transaction that brought the money.
    pub transaction_id: String,
    /// `settlement` or `capture`: the notification that brought the money.
    pub transaction_status: String,
    /// Whole rupiah (`currency` is always IDR).
    pub amount: Money,
    pub currency: kernel::Currency,
    /// Where the order was when the money arrived: `cancelled` or `expired`.
    pub order_status: OrderStatus,
    pub recorded_at: DateTime<Utc>,
}

/// A refund due as `GET /admin/refunds-due` lists it: the record and its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RefundDueEntry {
    /// Ascending in the order the records were written; pages go newest first.
    pub id: i64,
    #[serde(flatten)]
    pub refund: RefundDue,
}

/// The hex SHA-512 signature a notification carries.
pub fn signature(order_id: &str, status_code: &str, gross_amount: &str, server_key: &SecretString) -> String {
    let mut h = Sha512::new();
    h.update(order_id.as_bytes());
    h.update(status_code.as_bytes());
    h.update(gross_amount.as_bytes());
    h.update(server_key.expose().as_bytes());
    hex::encode(h.finalize())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// "1250000", "1250000.0" or "1250000.00" → 1,250,000 rupiah. A non-zero fraction is not a rupiah amount.
pub fn parse_rupiah(s: &str) -> Option<Money> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b == b'0') || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    whole.parse::<i64>().ok().map(Money::from_minor)
}

/// A notification as recorded, with what Niaga did about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRecord {
    pub order_id: Uuid,
    pub transaction_id: String,
    pub transaction_status: String,
    pub gross_amount: Money,
    pub outcome: &'static str,
    pub payload: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(key: &SecretString) -> Value {
        let order = "0b6f7f9e-6d43-4d47-9d0e-7f1f4b2f8a11";
        serde_json::json!({
            "order_id": order, "status_code": "200", "gross_amount": "1250000.00",
            "signature_key": signature(order, "200", "1250000.00", key),
            "transaction_id": "t-1", "transaction_status": "settlement",
        })
    }

    #[test]
    fn a_signature_made_with_the_server_key_is_valid_and_any_other_is_not() {
        let key = SecretString::new("SB-Mid-server-test-key");
        let n = Notification::parse(sample(&key)).unwrap();
        assert!(n.signature_is_valid(&key));
        assert!(!n.signature_is_valid(&SecretString::new("SB-Mid-server-other")));
        let mut tampered = sample(&key);
        tampered["gross_amount"] = "1.00".into();
        assert!(!Notification::parse(tampered).unwrap().signature_is_valid(&key));
    }

    /// The code Midtrans sends each status with (the first, where it sends more than one).
    fn code_for(status: &str, fraud: Option<&str>) -> &'static str {
        match (status, fraud) {
            ("capture", Some("challenge")) | ("pending", _) => "201",
            ("capture", Some("deny")) | ("deny" | "failure" | "cancel" | "expire", _) => "202",
            _ => "200",
        }
    }

    #[test]
    fn statuses_map_to_order_events() {
        let key = SecretString::new("k");
        let with = |status: &str, fraud: Option<&str>| {
            let mut v = sample(&key);
            v["transaction_status"] = status.into();
            v["status_code"] = code_for(status, fraud).into();
            if let Some(f) = fraud {
                v["fraud_status"] = f.into();
            }
            Notification::parse(v).unwrap().event()
        };
        assert_eq!(with("settlement", None), Some(OrderEvent::Pay));
        assert_eq!(with("capture", Some("accept")), Some(OrderEvent::Pay));
        assert_eq!(with("capture", Some("challenge")), None);
        assert_eq!(with("pending", None), None);
        assert_eq!(with("deny", None), Some(OrderEvent::Cancel));
        assert_eq!(with("expire", None), Some(OrderEvent::Expire));
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let key = SecretString::new("k");
        let mut v = sample(&key);
        v.as_object_mut().unwrap().remove("signature_key");
        assert_eq!(Notification::parse(v).unwrap_err().field, "signature_key");
        let mut v = sample(&key);
        v["order_id"] = "'; DROP TABLE orders; --".into();
        assert_eq!(Notification::parse(v).unwrap_err().field, "order_id");
        let mut v = sample(&key);
        v["gross_amount"] = "1250000.50".into();
        assert_eq!(Notification::parse(v).unwrap_err().field, "gross_amount");
        let mut v = sample(&key);
        v["fraud_status"] = 7.into();
        assert_eq!(Notification::parse(v).unwrap_err().field, "fraud_status");
    }

    #[test]
    fn a_pending_notification_edited_to_settlement_is_refused_naming_transaction_status() {
        let key = SecretString::new("k");
        let mut v = sample(&key);
        v["status_code"] = "201".into();
        v["transaction_status"] = "settlement".into();
        let e = Notification::parse(v).unwrap_err();
        assert_eq!(e.field, "transaction_status");
        assert!(e.contradicts_status_code);
        assert_eq!(e.message, "`settlement` is sent with status_code 200, not `201`");
    }

    #[test]
    fn a_capture_under_review_edited_to_accepted_is_refused_naming_fraud_status() {
        let e = PaymentState::read("201", "capture", Some("accept")).unwrap_err();
        assert_eq!(e.field, "fraud_status");
        assert!(e.contradicts_status_code);
        let e = PaymentState::read("201", "capture", None).unwrap_err();
        assert_eq!(e.field, "transaction_status");
    }

    #[test]
    fn expiry_is_accepted_with_202_or_407_and_cancel_with_200_or_202() {
        for code in ["202", "407"] {
            assert_eq!(PaymentState::read(code, "expire", None), Ok(PaymentState::Expired));
        }
        for code in ["200", "202"] {
            assert_eq!(PaymentState::read(code, "cancel", None), Ok(PaymentState::Failed));
        }
        assert!(PaymentState::read("201", "expire", None).is_err());
    }

    #[test]
    fn a_settlement_under_fraud_review_is_not_a_payment() {
        for fraud in ["challenge", "deny", "review"] {
            let e = PaymentState::read("200", "settlement", Some(fraud)).unwrap_err();
            assert_eq!(e.field, "fraud_status", "{fraud}");
        }
    }

    #[test]
    fn the_gateway_status_confirms_only_the_same_settled_transaction_for_the_same_amount() {
        let key = SecretString::new("k");
        let n = Notification::parse(sample(&key)).unwrap();
        let answer = |status: &str, code: &str, tx: &str, amount: &str| {
            GatewayStatus::parse(&serde_json::json!({
                "status_code": code, "status_message": "Success, transaction is found", "transaction_id": tx,
                "order_id": n.raw_order_id, "gross_amount": amount, "transaction_status": status,
                "fraud_status": "accept", "currency": "IDR",
            }))
            .unwrap()
            .unwrap()
        };
        assert_eq!(answer("settlement", "200", "t-1", "1250000.00").disagreement(&n), None);
        assert_eq!(answer("capture", "200", "t-1", "1250000").disagreement(&n), None);
        assert!(answer("pending", "201", "t-1", "1250000.00").disagreement(&n).is_some());
        assert!(answer("settlement", "200", "t-2", "1250000.00")
            .disagreement(&n)
            .is_some());
        assert!(answer("settlement", "200", "t-1", "1.00").disagreement(&n).is_some());
        assert!(answer("refund", "200", "t-1", "1250000.00").disagreement(&n).is_some());
        let missing = serde_json::json!({"status_code": "404", "status_message": "Transaction doesn't exist."});
        assert_eq!(GatewayStatus::parse(&missing), Ok(None));
        let forged = serde_json::json!({"status_code": "201", "transaction_status": "settlement",
                                        "transaction_id": "t-1", "gross_amount": "1250000.00"});
        assert_eq!(GatewayStatus::parse(&forged).unwrap_err().field, "transaction_status");
    }

    /// Midtrans's table, written out again independently of `row`: (transaction_status, fraud_status, meaning,
    /// the status codes it is sent with).
    const TABLE: &[(&str, Option<&str>, PaymentState, &[&str])] = &[
        ("settlement", None, PaymentState::Paid, &["200"]),
        ("settlement", Some("accept"), PaymentState::Paid, &["200"]),
        ("capture", None, PaymentState::Paid, &["200"]),
        ("capture", Some("accept"), PaymentState::Paid, &["200"]),
        ("capture", Some("challenge"), PaymentState::Pending, &["201"]),
        ("capture", Some("deny"), PaymentState::FraudDenied, &["202"]),
        ("pending", None, PaymentState::Pending, &["201"]),
        ("pending", Some("accept"), PaymentState::Pending, &["201"]),
        ("deny", None, PaymentState::Failed, &["202"]),
        ("deny", Some("deny"), PaymentState::Failed, &["202"]),
        ("failure", None, PaymentState::Failed, &["202"]),
        ("cancel", None, PaymentState::Failed, &["200", "202"]),
        ("cancel", Some("accept"), PaymentState::Failed, &["200", "202"]),
        ("expire", None, PaymentState::Expired, &["202", "407"]),
        ("expire", Some("accept"), PaymentState::Expired, &["202", "407"]),
        ("refund", None, PaymentState::Reversed, &["200"]),
        ("partial_refund", None, PaymentState::Reversed, &["200"]),
        ("chargeback", None, PaymentState::Reversed, &["200"]),
        ("partial_chargeback", None, PaymentState::Reversed, &["200"]),
        ("authorize", None, PaymentState::Authorized, &["200"]),
    ];

    fn listed(status: &str) -> bool {
        TABLE.iter().any(|(s, ..)| *s == status)
    }

    fn any_code() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec!["200", "201", "202", "407", "404", "500"]).prop_map(str::to_string),
            "[0-9]{3}",
            ".{0,5}",
        ]
    }

    fn any_status() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(TABLE.iter().map(|(s, ..)| *s).collect::<Vec<_>>()).prop_map(str::to_string),
            "[a-z_]{0,20}",
        ]
    }

    fn any_fraud() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            prop::sample::select(vec!["accept", "challenge", "deny"]).prop_map(str::to_string),
            "[a-z]{0,10}",
        ])
    }

    proptest! {
        #[test]
        fn every_row_of_the_table_reads_with_its_codes_and_is_refused_with_any_other(
            row in prop::sample::select(TABLE.to_vec()),
            code in any_code(),
        ) {
            let (status, fraud, state, codes) = row;
            let read = PaymentState::read(&code, status, fraud);
            if codes.contains(&code.as_str()) {
                prop_assert_eq!(read, Ok(state));
            } else {
                let e = read.unwrap_err();
                prop_assert!(e.contradicts_status_code);
                prop_assert!(e.field == "transaction_status" || e.field == "fraud_status");
            }
        }

        #[test]
        fn only_a_200_settlement_or_accepted_capture_reads_as_paid(
            code in any_code(),
            status in any_status(),
            fraud in any_fraud(),
        ) {
            if PaymentState::read(&code, &status, fraud.as_deref()) == Ok(PaymentState::Paid) {
                prop_assert_eq!(code.as_str(), "200");
                prop_assert!(status == "settlement" || status == "capture");
                prop_assert!(fraud.is_none() || fraud.as_deref() == Some("accept"));
            }
        }

        #[test]
        fn a_genuine_pending_denied_or_expired_code_never_carries_a_success(
            code in prop::sample::select(vec!["201", "202", "407"]),
            status in prop::sample::select(vec!["settlement", "capture"]),
            fraud in prop::option::of(Just("accept")),
        ) {
            let e = PaymentState::read(code, status, fraud).unwrap_err();
            prop_assert!(e.contradicts_status_code);
        }

        #[test]
        fn reading_never_panics_and_an_unlisted_status_changes_nothing(
            code in any_code(),
            status in any_status(),
            fraud in any_fraud(),
        ) {
            let read = PaymentState::read(&code, &status, fraud.as_deref());
            if !listed(&status) {
                prop_assert_eq!(read, Ok(PaymentState::Unknown));
                prop_assert_eq!(PaymentState::Unknown.event(), None);
            }
        }

        #[test]
        fn a_notification_that_parses_has_statuses_that_agree_with_its_code(
            code in any_code(),
            status in any_status(),
            fraud in any_fraud(),
        ) {
            let mut v = serde_json::json!({
                "order_id": "0b6f7f9e-6d43-4d47-9d0e-7f1f4b2f8a11", "status_code": code, "gross_amount": "10.00",
                "signature_key": "s", "transaction_id": "t", "transaction_status": status,
            });
            if let Some(f) = &fraud {
                v["fraud_status"] = f.clone().into();
            }
            if let Ok(n) = Notification::parse(v) {
                prop_assert_eq!(Ok(n.state), PaymentState::read(&n.status_code, &n.transaction_status, n.fraud_status.as_deref()));
                if n.event() == Some(OrderEvent::Pay) {
                    prop_assert_eq!(n.status_code.as_str(), "200");
                }
            }
        }
    }

    #[test]
    fn rupiah_amounts_parse_only_with_a_zero_fraction() {
        assert_eq!(parse_rupiah("1250000.00"), Some(Money::from_minor(1_250_000)));
        assert_eq!(parse_rupiah("15"), Some(Money::from_minor(15)));
        for bad in ["", "-1", "1.5", "1.", "1e6", "1,000", "1.000", " 1", "9999999999999999"] {
            assert_eq!(parse_rupiah(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_any_amount_never_panics_and_whole_amounts_round_trip(s in ".{0,24}", n in 0i64..1_000_000_000_000) {
            let _ = parse_rupiah(&s);
            prop_assert_eq!(parse_rupiah(&format!("{n}.00")), Some(Money::from_minor(n)));
        }
    }
}
