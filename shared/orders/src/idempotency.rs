//! Idempotency keys: what a valid key is, how a request body is fingerprinted, and what is stored.
//!
//! The key, the request's fingerprint and the first answer are written in the same transaction as the order, so
//! a key exists exactly when its order does: a function killed after the commit replays on retry, and one killed
//! before the commit left nothing behind. Only created orders are stored. A refusal (out of stock, over the credit
//! limit) is not an answer worth replaying, because stock and credit change; a retry evaluates again and, if it
//! succeeds, is still the only order for that key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a stored answer is replayed.
pub const KEY_TTL_HOURS: i64 = 24;

/// A client-chosen key: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, IdempotencyKeyError> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdempotencyKeyError);
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fingerprint of a JSON request body: SHA-256 of its canonical form (object keys sorted, no whitespace), so
/// a retry that reorders keys or reformats is still "the same body".
pub fn fingerprint(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(canonical(body).as_bytes()))
}

fn canonical(v: &serde_json::Value) -> String {
    // serde_json's Map is ordered by key unless the preserve_order feature is on; sort explicitly regardless.
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The first answer to a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub fingerprint: String,
    pub status: u16,
    pub body: serde_json::Value,
    pub resource_id: Option<String>,
}

/// What the store found when a request claimed its key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyClaim {
    /// Nobody has used the key (or its answer expired): this transaction owns it until it ends.
    Fresh,
    /// Another request with this key is still running.
    Busy,
    /// The key already has an answer.
    Answered(StoredAnswer),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordered_and_reformatted_bodies_have_the_same_fingerprint() {
        let a: serde_json::Value = serde_json::from_str(r#"{"lines":[{"sku":"A","quantity":1}],"note":"x"}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "note" : "x", "lines" : [ { "quantity":1, "sku":"A" } ] }"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn a_different_quantity_changes_the_fingerprint() {
        let a = serde_json::json!({"lines":[{"sku":"A","quantity":1}]});
        let b = serde_json::json!({"lines":[{"sku":"A","quantity":2}]});
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn keys_must_be_visible_ascii_of_sane_length() {
        assert!(IdempotencyKey::parse("3f1c2a9e-7d7b-4c1e-9a51-0d3a8d1e2f40").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("kunci-é").is_err());
    }
}
