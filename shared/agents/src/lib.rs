//! Agent jobs (seed 003): bulk work that AI agents request, done in chunks on its own queue, announced when done.
//! This crate is their application layer: the use cases, the ports they go through, and the rules they keep.
//!
//! # Layout
//! - [`job`]: the job kinds, their parameters and limits, statuses, and the chunk plan that makes a job resumable.
//! - [`request`]: `POST /agent-jobs`'s body as a type ([`JobRequestBody`], which the API documents), read naming
//!   the member at fault, and checked against the job limits into a [`JobRequest`].
//! - [`model`]: the stored job, its item outputs, and the summary clients, events and webhooks show.
//! - [`ports`]: storage ([`AgentJobStore`]) and the event bus ([`EventBus`]), with what implementations must do.
//! - [`service`]: [`AgentJobs`], submitting and reading jobs.
//! - [`runner`]: [`JobRunner`], working a job chunk by chunk within a time budget and announcing it when done.
//! - [`providers`]: the ports the work goes through ([`SeoWriter`], [`PriceAdvisor`]) and the shipped providers:
//!   a deterministic template writer and a target-margin advisor. A hosted model plugs in behind the same trait.
//! - [`callback`]: where a completion webhook may go: the address policy (public addresses only, in every
//!   spelling), callback URL parsing, and the [`Resolver`] port names are checked through.
//! - [`webhook`]: the HMAC signature on completion webhooks, for senders and for receivers that verify, and
//!   [`Webhooks`], which delivers one through the [`WebhookSender`] port to checked addresses only.
//!
//! Price proposals are only ever proposals: this crate computes them and never applies a price.
//!
//! Application crate: depends on `kernel`, `identity` and `settings` only among Niaga crates (and `url` for its
//! pure parser). It must not depend on I/O crates (Postgres, the AWS SDK, HTTP, Lambda) nor on `store`,
//! `niaga-aws` or `platform`: storage, the bus, DNS and HTTP arrive through its ports.

pub mod callback;
pub mod job;
pub mod model;
pub mod ports;
pub mod providers;
pub mod request;
pub mod runner;
pub mod service;
pub mod webhook;

pub use callback::{CallbackError, CallbackPolicy, CallbackUrl, Resolver};
pub use job::{next_chunk, JobKind, JobParams, JobStatus, KindError};
pub use model::{
    Created, ItemOutput, ItemRecord, JobCallback, JobLinks, JobProgress, JobRecord, JobSummary, NewJob, REQUESTED_EVENT,
};
pub use ports::{AgentJobStore, EventBus};
pub use providers::{MarginAdvisor, PriceAdvisor, ProductFacts, ProviderError, SeoText, SeoWriter, TemplateSeoWriter};
pub use request::{InvalidJob, JobRequest, JobRequestBody, PriceJobBody, SeoJobBody};
pub use runner::{JobRunner, RunJobError, COMPLETED, COMPLETED_WEBHOOK_EVENT, EVENT_SOURCE, WEBHOOK_ATTEMPTS};
pub use service::{AgentJobs, ItemPage, JobError, Limits, SubmitJobError};
pub use webhook::{DeliverError, WebhookSender, Webhooks};
