//! PostgreSQL adapters for Niaga.
//!
//! Owns: the connection pools ([`pool`]), the embedded, checksummed migrations ([`migrate`]), the local seed
//! generator ([`seed`]), settings from `system_config` ([`settings`]) and the Postgres implementations of domain
//! ports: the catalogue ([`catalog`]), accounts and assignments ([`identity`]), read-only pricing ([`pricing`]), the order store ([`orders`]), the
//! outbox's read side ([`outbox`]), the notification log ([`notifications`]) and the synced ERP copies
//! ([`erp_sync`]) agent jobs and notification blasts with their
//! checkpoints ([`agent_jobs`], [`blasts`]), and what the scheduled jobs maintain: partitions and purges
//! ([`maintenance`]), the monthly profit report ([`profit`]), its exports
//! ([`exports`]) and cost prices ([`prices`]).
//!
//! Rules every query here follows, because Lambda reaches Postgres through RDS Proxy:
//! - statements are sent unnamed (`query_typed`), never as named prepared statements, which pin a proxy session;
//! - no session state: no `SET`, no session advisory locks, no temporary tables outside a transaction; the
//!   statement timeout is a role default that `migrate` sets, not a per-connection `SET`;
//! - every parameter is bound, never formatted into SQL.
//!
//! Depends on domain crates (to implement their ports) and on tokio-postgres. It must not depend on the AWS SDK,
//! Lambda crates or HTTP types; credentials arrive through the [`pool::CredentialSource`] port.

pub mod agent_jobs;
pub mod blasts;
pub mod catalog;
pub mod erp_sync;
pub mod exports;
pub mod identity;
pub mod maintenance;
pub mod migrate;
pub mod notifications;
pub mod orders;
pub mod outbox;
pub mod pool;
pub mod prices;
pub mod pricing;
pub mod profit;
pub mod seed;
pub mod settings;

pub use pool::{CaBundle, CredentialSource, Db, DbError, DbSettings, StaticCredentials, TlsMode};
