//! Supply-chain domain: how much of a SKU a warehouse may sell (on hand minus reserved minus a safety buffer), the
//! arithmetic of reserving and releasing it, the order in which inventory rows are locked, and SLA routing: which
//! warehouses serve an order for a destination, and what delivery time that promises.
//!
//! These are pure functions over values: an adapter reads the rows, asks this crate what to do, and writes the
//! result inside one transaction.
//!
//! This crate owns no I/O. It must not depend on tokio, the AWS SDK, Lambda crates, PostgreSQL or HTTP types, nor on
//! the commercial crate (`commercial`): an order service composes the two, and neither needs to know the other.
//!
//! # Quantities and distances
//!
//! Stock quantities are whole units (`u32`); sellable stock never goes below zero, and nothing here ever allocates or
//! reserves more than a row's sellable quantity. Distances are whole kilometres as
//! [`GeoPoint::distance_km`](kernel::GeoPoint::distance_km) rounds them, and every ranking ends with the warehouse
//! code as a tie-breaker, so the same inputs always produce the same plan.
//!
//! # Layout
//!
//! - `stock`: [`StockLevel`] (sellable stock, [`StockLevel::reserve`] and [`StockLevel::release`]) and
//!   [`lock_order`].
//! - `routing`: [`Warehouse`], [`Demand`] and [`route`], producing a [`RoutePlan`] or a [`RouteError`].
//! - [`movements`]: shipments and returns from the ERP, and how each moves reserved and on hand so that no unit
//!   is counted twice.

pub mod movements;
mod routing;
mod stock;

pub use routing::{route, Allocation, Demand, RouteError, RoutePlan, Shortage, Warehouse, OUT_OF_RADIUS_PENALTY_HOURS};
pub use stock::{lock_order, ReserveError, StockLevel};
