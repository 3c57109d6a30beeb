//! What the agent job use cases need from outside. `store` implements [`AgentJobStore`] over PostgreSQL and
//! `niaga-aws` implements [`EventBus`] over EventBridge. The others live beside what they serve: the
//! [`crate::Resolver`] and [`crate::WebhookSender`] ports in [`crate::callback`] and [`crate::webhook`], the
//! providers in [`crate::providers`], and business settings through `settings::SettingsSource`.

use crate::model::{Created, ItemOutput, ItemRecord, JobRecord, NewJob};
use crate::providers::ProductFacts;
use kernel::{Sku, Tier};
use std::collections::BTreeSet;
use std::future::Future;
use uuid::Uuid;

/// Storage for agent jobs, their item outputs and what those outputs feed.
pub trait AgentJobStore: Send + Sync + 'static {
    /// Stores a job together with its [`crate::REQUESTED_EVENT`] outbox event in one transaction, so a job is
    /// enqueued exactly when it exists. When `requested_by` used `key` before, MUST write nothing and answer
    /// [`Created::Replayed`] with the first job if `fingerprint` is the same, [`Created::KeyReused`] if not.
    fn create(&self, job: &NewJob<'_>) -> impl Future<Output = anyhow::Result<Created>> + Send;

    /// The job with this id. MUST show every committed write (read your writes): the worker reads back the
    /// checkpoint it has just advanced.
    fn get(&self, id: Uuid) -> impl Future<Output = anyhow::Result<Option<JobRecord>>> + Send;

    /// Which of `skus` are active products.
    fn known_skus(&self, skus: &[Sku]) -> impl Future<Output = anyhow::Result<BTreeSet<String>>> + Send;

    /// What providers know about `skus`, with the current list price in `tier` when given. Products that no longer
    /// exist MUST be absent.
    fn facts(
        &self,
        skus: &[String],
        tier: Option<Tier>,
    ) -> impl Future<Output = anyhow::Result<Vec<ProductFacts>>> + Send;

    /// Commits one chunk: its item outputs at positions `from..`, what they feed (SEO text, price proposals), and
    /// the checkpoint's advance past them, in one transaction; the job is succeeded when the checkpoint reaches its
    /// total. MUST return `false`, writing nothing, when the checkpoint is no longer at `from` (another worker
    /// committed this chunk first), so every item is processed once however many workers race.
    fn commit_chunk(
        &self,
        job: Uuid,
        from: usize,
        chunk: usize,
        outputs: &[ItemOutput],
    ) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Records that the completion event reached the bus. Recording it again MUST change nothing.
    fn mark_event_sent(&self, job: Uuid) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Records one webhook attempt; `final_status` ("delivered" or "failed") when no more attempts follow.
    fn record_webhook(&self, job: Uuid, final_status: Option<&str>) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// A job's item outputs after position `after`, in position order, at most `limit`.
    fn items(
        &self,
        job: Uuid,
        after: Option<usize>,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<ItemRecord>>> + Send;
}

/// The project's event bus, where finished jobs are announced.
pub trait EventBus: Send + Sync + 'static {
    /// Puts one event with this source and detail type. MUST answer `Ok` only when the bus accepted it. An
    /// announcement is sent at least once: consumers dedupe on the id inside the detail.
    fn announce(
        &self,
        source: &str,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}
