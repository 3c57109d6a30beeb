//! `cleanup-job`: keeps the database to its retention (`retention.*` in `system_config`).
//!
//! - drops monthly partitions of `order_lines` and `orders` older than `retention.orders_months`, and of
//!   `audit_log` older than `retention.audit_months` (a retention counts the current month in WIB);
//! - purges expired idempotency keys, outbox rows published more than `retention.outbox_days` ago, and sent
//!   notification records older than `retention.notification_log_days`, [`maintenance::BATCH`] rows per statement so no lock is
//!   held for long.
//!
//! Nothing within retention is touched, and a second run finds nothing left to remove. The use case is
//! [`maintenance::cleanup`]; `main.rs` wires it to the database and runs it on the schedule's event. This crate
//! must not hold SQL, depend on the AWS SDK, or name the `store` adapter outside `main.rs`.
