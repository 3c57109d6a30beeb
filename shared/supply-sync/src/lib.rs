//! Supply sync: the application layer between Niaga and the legacy ERP, the book of record. It owns the port the
//! ERP is called through ([`ErpClient`], with the ways a call fails), what the ERP's feeds mean in Niaga's types
//! ([`feeds`]), the circuit-breaker policy that guards the ERP ([`breaker`]), the ports for the synced copies and
//! shared state ([`ports`]), and the use cases:
//!
//! - [`stock::sync_stock`]: stock on hand, shipments and returns, and partner debt in (stock-sync-job);
//! - [`prices::sync_cost_prices`]: cost prices in (price-sync-job);
//! - [`delivery::ErpDelivery`]: orders out, within a shared rate limit and behind the shared breaker
//!   (erp-sync-worker).
//!
//! The ERP's documents, field names and formats stay in the `erp` adapter, which implements [`ErpClient`];
//! `store` implements the ledger and the price book, `niaga-aws` the shared state and permits. This crate owns no
//! I/O: it must not depend on `erp`, `store`, `niaga-aws`, `platform`, PostgreSQL, the AWS SDK, Lambda or HTTP
//! crates.

pub mod breaker;
pub mod delivery;
pub mod erp;
pub mod feeds;
pub mod ports;
pub mod prices;
pub mod stock;

pub use breaker::{Admission, BreakerSettings, BreakerState};
pub use erp::{Delivery, ErpClient, ErpError};
pub use feeds::{ErpBalance, ErpCostPrice, ErpMovement, ErpStock, MovedLine, MovementKind, Snapshot};
pub use ports::{Applied, CostPriceBook, MovementsApplied, Permits, PriceSync, SyncLedger, SyncStatus, VersionedState};
