//! Value types used everywhere in Niaga: money in minor units, SKUs, price tiers, geotags, opaque cursors and
//! secret strings that never print.
//!
//! Parse, don't validate: each type's constructor checks its input, so a value that exists is valid.
//!
//! This crate owns no I/O and must not depend on any other Niaga crate, on the AWS SDK, on Lambda crates, on
//! PostgreSQL or on HTTP types.

pub mod cursor;
pub mod geo;
pub mod idempotency;
pub mod money;
pub mod quantity;
pub mod secret;
pub mod sku;
pub mod tier;

pub use cursor::{Cursor, CursorError};
pub use geo::{GeoPoint, GeoPointError};
pub use idempotency::{fingerprint, IdempotencyKey, IdempotencyKeyError};
pub use money::{Currency, Money, MoneyError};
pub use quantity::{Quantity, QuantityError};
pub use secret::SecretString;
pub use sku::{Sku, SkuError};
pub use tier::{Tier, TierError};
