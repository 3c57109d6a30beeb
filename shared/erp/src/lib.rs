//! The anti-corruption layer over the legacy ERP: [`HttpErp`], the HTTP implementation of the port Niaga calls it
//! through ([`supply_sync::ErpClient`], owned by the application layer that uses it), and the translation between
//! Niaga's types and the ERP's documents.
//!
//! The ERP speaks Indonesian field names, amounts as decimal strings and WIB wall-clock dates. All of that stays
//! in this crate: no other Niaga code may see ERP document shapes (the `documents` module is private), only
//! [`orders::Order`] going in and [`supply_sync::Snapshot`]s of the feeds' Niaga-side types coming out.
//!
//! This crate must not be depended on by domain or application crates: it does I/O. Only the `main.rs` of the
//! functions that sync with the ERP names it; nothing deployed may depend on `fake-erp`, which is only for its tests
//! and local runs.
//!
//! # Layout
//! - [`client`]: [`HttpErp`], mapping HTTP outcomes to [`supply_sync::ErpError`] (unavailable, rejected,
//!   malformed).
//! - `translate` (private): `Order` → sales order, replies and feed rows → Niaga types; bad rows skipped and counted.
//! - `documents` (private): the ERP's documents, field for field.
//! - `amount`, `time` (private): `"1250000.00"` ↔ [`kernel::Money`] (never through a float) and WIB timestamps.
//!
//! # Idempotency
//! A sales order's NoRef is the Niaga order id, and the ERP answers a NoRef it already has with the same order
//! number, so [`supply_sync::ErpClient::send_order`] may be repeated after any failure, a timeout included.

mod amount;
pub mod client;
mod documents;
mod time;
mod translate;

pub use client::HttpErp;
