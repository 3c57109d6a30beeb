//! The anti-corruption layer over the legacy ERP: the port Niaga calls it through ([`ErpClient`]), its HTTP
//! implementation ([`HttpErp`]), the translation between Niaga's types and the ERP's documents, and the policy of
//! the circuit breaker that guards it ([`breaker`]).
//!
//! The ERP speaks Indonesian field names, amounts as decimal strings and WIB wall-clock dates. All of that stays
//! in this crate: no other Niaga code may see ERP document shapes (the `documents` module is private), only
//! [`orders::Order`] going in and [`Snapshot`]s of [`ErpStock`], [`ErpMovement`], [`ErpBalance`] and
//! [`ErpCostPrice`] coming out.
//!
//! This crate must not be depended on by domain crates (kernel, catalog, identity, commercial, supply, orders): it
//! does I/O. Jobs and functions that sync with the ERP use it; they must not depend on `fake-erp`, which is only for
//! its tests and local runs.
//!
//! # Layout
//! - [`client`]: [`ErpClient`] (the port), [`ErpError`] (unavailable, rejected, malformed) and [`HttpErp`].
//! - [`snapshot`]: the Niaga-side types the feeds translate to.
//! - [`breaker`]: the circuit-breaker policy, pure transitions over a serialisable shared state.
//! - `translate` (private): `Order` → sales order, replies and feed rows → Niaga types; bad rows skipped and counted.
//! - `documents` (private): the ERP's documents, field for field.
//! - `amount`, `time` (private): `"1250000.00"` ↔ [`kernel::Money`] (never through a float) and WIB timestamps.
//!
//! # Idempotency
//! A sales order's NoRef is the Niaga order id, and the ERP answers a NoRef it already has with the same order
//! number, so [`ErpClient::send_order`] may be repeated after any failure, a timeout included.

mod amount;
pub mod breaker;
pub mod client;
mod documents;
pub mod snapshot;
mod time;
mod translate;

pub use breaker::{Admission, BreakerSettings, BreakerState};
pub use client::{Delivery, ErpClient, ErpError, HttpErp};
pub use snapshot::{ErpBalance, ErpCostPrice, ErpMovement, ErpStock, MovedLine, MovementKind, Snapshot};
