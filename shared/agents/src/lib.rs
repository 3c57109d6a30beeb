//! Agent jobs (seed 003): bulk work that AI agents request, done in chunks on its own queue, announced when done.
//!
//! # Layout
//! - [`job`]: the job kinds, their parameters and limits, statuses, and the chunk plan that makes a job resumable.
//! - [`providers`]: the ports the work goes through ([`SeoWriter`], [`PriceAdvisor`]) and the shipped providers:
//!   a deterministic template writer and a target-margin advisor. A hosted model plugs in behind the same trait.
//! - [`webhook`]: the HMAC signature on completion webhooks, for senders and for receivers that verify.
//!
//! Price proposals are only ever proposals: this crate computes them and never applies a price.
//!
//! Domain crate: depends on `kernel` only. It must not depend on I/O crates (Postgres, the AWS SDK, HTTP, Lambda).

pub mod job;
pub mod providers;
pub mod webhook;

pub use job::{next_chunk, JobKind, JobParams, JobStatus, KindError};
pub use providers::{MarginAdvisor, PriceAdvisor, ProductFacts, ProviderError, SeoText, SeoWriter, TemplateSeoWriter};
