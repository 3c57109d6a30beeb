//! Agent jobs (seed 003): bulk work that AI agents request, done in chunks on its own queue, announced when done.
//!
//! # Layout
//! - [`job`]: the job kinds, their parameters and limits, statuses, and the chunk plan that makes a job resumable.
//! - [`providers`]: the ports the work goes through ([`SeoWriter`], [`PriceAdvisor`]) and the shipped providers:
//!   a deterministic template writer and a target-margin advisor. A hosted model plugs in behind the same trait.
//! - [`callback`]: where a completion webhook may go: the address policy (public addresses only, in every
//!   spelling), callback URL parsing, and the [`Resolver`] port names are checked through.
//! - [`webhook`]: the HMAC signature on completion webhooks, for senders and for receivers that verify, and
//!   [`Webhooks`], which delivers one through the [`WebhookSender`] port to checked addresses only.
//!
//! Price proposals are only ever proposals: this crate computes them and never applies a price.
//!
//! Domain crate: depends on `kernel` only (and `url` for its pure parser). It must not depend on I/O crates
//! (Postgres, the AWS SDK, HTTP, Lambda): DNS and HTTP arrive through its ports.

pub mod callback;
pub mod job;
pub mod providers;
pub mod webhook;

pub use callback::{CallbackError, CallbackPolicy, CallbackUrl, Resolver};
pub use job::{next_chunk, JobKind, JobParams, JobStatus, KindError};
pub use providers::{MarginAdvisor, PriceAdvisor, ProductFacts, ProviderError, SeoText, SeoWriter, TemplateSeoWriter};
pub use webhook::{DeliverError, WebhookSender, Webhooks};
