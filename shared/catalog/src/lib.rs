//! Catalogue domain: what a product listing is, how a listing query is parsed and bounded, and the
//! [`ProductCatalog`] port that a store implements.
//!
//! Public catalogue reads are the hottest path in Niaga (seed 002's "read" side): every rule that keeps them
//! cheap lives here so adapters cannot forget it: a hard page-size maximum, keyset cursors instead of offsets,
//! and search terms short enough for a full-text index.
//!
//! This crate owns no I/O. It must not depend on the AWS SDK, Lambda crates, PostgreSQL or HTTP types, nor on
//! commercial or supply-chain crates.

mod query;

pub use query::{ProductQuery, QueryError, DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH_CHARS};

use kernel::{Cursor, Money, Sku};
use serde::Serialize;
use std::future::Future;

/// A product as the public catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub description: String,
    pub brand: String,
    pub category: String,
    pub unit: String,
    /// The bronze-tier (list) price; tier prices need a partner's token.
    pub list_price: Money,
    /// RFC 3339 time of the last change, which also feeds the ETag.
    pub updated_at: String,
}

/// One page of a listing and the cursor for the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next: Option<Cursor>,
}

/// Failures a catalogue adapter may report. Whatever the cause, the caller can only retry later.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the cursor does not belong to this query")]
    ForeignCursor,
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

/// Read access to the product catalogue.
///
/// Contract for implementations:
/// - `search` MUST return at most `query.limit()` items, in a stable order, and a `next` cursor exactly when
///   more items follow; passing that cursor back MUST continue after the last item, never repeating one.
/// - `search` with a search text MUST use an index (full-text), never a pattern scan.
/// - `search` MUST return [`CatalogError::ForeignCursor`] for a cursor it cannot interpret.
/// - `by_sku` MUST return `Ok(None)` for an unknown or inactive SKU.
pub trait ProductCatalog: Send + Sync {
    fn search(&self, query: &ProductQuery) -> impl Future<Output = Result<ProductPage, CatalogError>> + Send;
    fn by_sku(&self, sku: &Sku) -> impl Future<Output = Result<Option<Product>, CatalogError>> + Send;
}
