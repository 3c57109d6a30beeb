//! Payment notifications in the Midtrans shape: parsing, the signature rule and what each status means.
//!
//! The signature is SHA-512 over `order_id + status_code + gross_amount + server_key`, hex-encoded; the server key
//! never leaves Secrets Manager and this module. Rupiah has no minor unit, so `gross_amount` ("1250000.00") must
//! have a zero fraction and must equal the order total exactly.

use crate::status::OrderEvent;
use kernel::{Money, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha512};
use uuid::Uuid;

/// A parsed notification whose fields all have the right shape (the signature is checked separately).
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
    pub payload: Value,
}

/// A field of the notification is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct NotificationError {
    pub field: &'static str,
    pub message: &'static str,
}

fn field<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, NotificationError> {
    let s = v.get(name).and_then(Value::as_str).ok_or(NotificationError {
        field: name,
        message: "is required and must be a string",
    })?;
    if s.is_empty() || s.len() > 256 {
        return Err(NotificationError {
            field: name,
            message: "must be 1 to 256 characters",
        });
    }
    Ok(s)
}

impl Notification {
    pub fn parse(payload: Value) -> Result<Notification, NotificationError> {
        let raw_order_id = field(&payload, "order_id")?.to_string();
        let order_id = Uuid::parse_str(&raw_order_id).map_err(|_| NotificationError {
            field: "order_id",
            message: "is not a Niaga order id",
        })?;
        let gross_amount_raw = field(&payload, "gross_amount")?.to_string();
        let gross_amount = parse_rupiah(&gross_amount_raw).ok_or(NotificationError {
            field: "gross_amount",
            message: "must be a non-negative rupiah amount such as \"1250000.00\"",
        })?;
        Ok(Notification {
            order_id,
            raw_order_id,
            status_code: field(&payload, "status_code")?.to_string(),
            gross_amount_raw,
            gross_amount,
            signature_key: field(&payload, "signature_key")?.to_string(),
            transaction_id: field(&payload, "transaction_id")?.to_string(),
            transaction_status: field(&payload, "transaction_status")?.to_string(),
            fraud_status: payload.get("fraud_status").and_then(Value::as_str).map(str::to_string),
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

    /// What the notification asks of the order; `None` for statuses that change nothing (pending, a capture
    /// under fraud review, refunds, which the ERP owns).
    pub fn event(&self) -> Option<OrderEvent> {
        match self.transaction_status.as_str() {
            "settlement" => Some(OrderEvent::Pay),
            "capture" => match self.fraud_status.as_deref() {
                None | Some("accept") => Some(OrderEvent::Pay),
                Some(_) => None,
            },
            "deny" | "cancel" | "failure" => Some(OrderEvent::Cancel),
            "expire" => Some(OrderEvent::Expire),
            _ => None,
        }
    }
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

    #[test]
    fn statuses_map_to_order_events() {
        let key = SecretString::new("k");
        let with = |status: &str, fraud: Option<&str>| {
            let mut v = sample(&key);
            v["transaction_status"] = status.into();
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
