//! Value types used everywhere in Niaga: money in minor units, SKUs, price tiers, geotags, opaque cursors, secret
//! strings that never print, and the published language of events (their types and the envelope they travel in).
//!
//! Parse, don't validate: each type's constructor checks its input, so a value that exists is valid.
//!
//! This crate owns no I/O and must not depend on any other Niaga crate, on the AWS SDK, on Lambda crates, on
//! PostgreSQL or on HTTP types.

pub mod cursor;
pub mod event;
pub mod geo;
pub mod idempotency;
pub mod money;
pub mod quantity;
pub mod secret;
pub mod sku;
pub mod tier;

pub use cursor::{Cursor, CursorError};
pub use event::{Envelope, EventType};
pub use geo::{GeoPoint, GeoPointError};
pub use idempotency::{fingerprint, IdempotencyKey, IdempotencyKeyError};
pub use money::{Currency, Money, MoneyError};
pub use quantity::{Quantity, QuantityError};
pub use secret::{SecretString, SharedSecret};
pub use sku::{Sku, SkuError};
pub use tier::{Tier, TierError};

/// An error with every cause after it, `outer: inner: innermost`. HTTP clients' own messages rarely say more than
/// "error sending request"; the causes say which host, which timeout, which certificate.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
