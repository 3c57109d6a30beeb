//! Idempotency keys and request fingerprints: what a valid `Idempotency-Key` is, and when two request bodies are
//! "the same request". Every `POST` that creates something (orders, agent jobs, blasts) uses both.

use sha2::{Digest, Sha256};

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
