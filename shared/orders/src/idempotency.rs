//! Idempotency keys: what a valid key is, how a request body is fingerprinted, and what is stored.
//!
//! The key, the request's fingerprint and the first answer are written in the same transaction as the order, so
//! a key exists exactly when its order does: a function killed after the commit replays on retry, and one killed
//! before the commit left nothing behind. Only created orders are stored. A refusal (out of stock, over the credit
//! limit) is not an answer worth replaying, because stock and credit change; a retry evaluates again and, if it
//! succeeds, is still the only order for that key.

use serde::{Deserialize, Serialize};

/// How long a stored answer is replayed.
pub const KEY_TTL_HOURS: i64 = 24;

pub use kernel::idempotency::{fingerprint, IdempotencyKey, IdempotencyKeyError};

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
