//! `price-sync-job`: nightly at 00:00 WIB, imports cost prices from the ERP's price feed and applies every change
//! atomically, one `price_sync_log` row per change. The use case is [`supply_sync::prices::sync_cost_prices`];
//! `main.rs` wires it to the `erp` adapter and the Postgres price book, and runs it on the schedule's event.
//!
//! When the ERP is down the job fails (and the schedule tries again the next night); prices stay as they were.
//! The same feed twice changes nothing the second time. It must not hold SQL, depend on the AWS SDK, or name the
//! `store` and `erp` adapters outside `main.rs`.
