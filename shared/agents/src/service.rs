//! The submitting side's use cases: submit a job, read it, page through its outputs.
//!
//! A submission is checked in full before anything is stored: the request's members, its callback URL's form and
//! then what its host resolves to (the worker checks again when it sends), and that every SKU is an active
//! product. The job, its outbox event and its idempotency key are then stored together (see
//! [`AgentJobStore::create`]). Only the requester and admins see a job.

use crate::callback::{CallbackPolicy, CallbackUrl, NoResolver, Resolver};
use crate::model::{Created, ItemRecord, JobRecord, NewJob};
use crate::ports::AgentJobStore;
use crate::request::{InvalidJob, JobRequest, JobRequestBody};
use identity::{Actor, Role};
use kernel::{IdempotencyKey, Sku};
use settings::SettingsSource;
use std::sync::Arc;
use uuid::Uuid;

/// Limits read from `system_config` (`agents.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `agents.max_items_per_job`, 1000 when unset.
    pub max_items: usize,
    /// `agents.chunk_size`, 50 when unset.
    pub chunk_size: u32,
}

/// Why a job was not submitted. Nothing is stored for any of these.
#[derive(Debug, thiserror::Error)]
pub enum SubmitJobError {
    #[error(transparent)]
    Invalid(#[from] InvalidJob),
    /// `skus[index]` is not an active product.
    #[error("{sku} is not an active product")]
    UnknownSku { index: usize, sku: Sku },
    #[error("agent job storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why reading a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job, or one the viewer may not see: the two are told apart to nobody.
    #[error("no such agent job")]
    NotFound,
    #[error("agent job storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// A page of a job's outputs.
#[derive(Debug)]
pub struct ItemPage {
    pub items: Vec<ItemRecord>,
    /// The last item's position, when there may be more.
    pub next: Option<usize>,
}

/// Submitting and reading agent jobs over a store and the business settings.
#[derive(Debug)]
pub struct AgentJobs<J, S> {
    store: J,
    settings: S,
    callbacks: CallbackPolicy,
    resolver: Arc<dyn Resolver>,
}

impl<J: AgentJobStore, S: SettingsSource> AgentJobs<J, S> {
    pub fn new(store: J, settings: S, callbacks: CallbackPolicy) -> Self {
        AgentJobs {
            store,
            settings,
            callbacks,
            resolver: Arc::new(NoResolver),
        }
    }

    /// Resolves callback hosts; without one, every callback URL that names a host (rather than an address) is
    /// refused.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }

    pub fn store(&self) -> &J {
        &self.store
    }

    /// The limits in force now.
    pub async fn limits(&self) -> anyhow::Result<Limits> {
        let c = self.settings.ints("agents.").await?;
        let get = |k: &str, d: i64| c.get(k).copied().unwrap_or(d);
        Ok(Limits {
            max_items: usize::try_from(get("agents.max_items_per_job", 1000))
                .unwrap_or(1000)
                .max(1),
            chunk_size: u32::try_from(get("agents.chunk_size", 50)).unwrap_or(50).max(1),
        })
    }

    /// Submits the job `body` describes for `actor` under `key`. A new job comes with its webhook signing secret
    /// when it registered a callback URL; a key used before answers the first job or [`Created::KeyReused`].
    pub async fn submit(
        &self,
        actor: &Actor,
        key: &IdempotencyKey,
        body: &serde_json::Value,
    ) -> Result<Created, SubmitJobError> {
        let requested = JobRequestBody::from_json(body)?;
        let limits = self.limits().await.map_err(SubmitJobError::Unavailable)?;
        let request = JobRequest::check(requested, limits.max_items, &self.callbacks)?;
        if let Some(url) = &request.callback_url {
            // A name must resolve, and to public addresses only; the worker checks again when it sends.
            self.callbacks
                .addresses(url, self.resolver.as_ref())
                .await
                .map_err(|why| InvalidJob::Member {
                    field: "callback_url".into(),
                    reason: why.to_string(),
                })?;
        }
        let known = self
            .store
            .known_skus(&request.skus)
            .await
            .map_err(SubmitJobError::Unavailable)?;
        if let Some((index, sku)) = request
            .skus
            .iter()
            .enumerate()
            .find(|(_, s)| !known.contains(s.as_str()))
        {
            return Err(SubmitJobError::UnknownSku {
                index,
                sku: sku.clone(),
            });
        }
        let secret = request.callback_url.as_ref().map(|_| new_secret());
        self.store
            .create(&NewJob {
                id: Uuid::new_v4(),
                params: request.params,
                skus: &request.skus,
                chunk_size: limits.chunk_size,
                requested_by: &actor.subject,
                requested_role: actor.role.as_str(),
                key,
                fingerprint: &kernel::fingerprint(body),
                callback_url: request.callback_url.as_ref().map(CallbackUrl::as_str),
                callback_secret: secret.as_deref(),
            })
            .await
            .map_err(SubmitJobError::Unavailable)
    }

    /// The job, when `viewer` requested it or is an admin.
    pub async fn job(&self, viewer: &Actor, id: Uuid) -> Result<JobRecord, JobError> {
        match self.store.get(id).await.map_err(JobError::Unavailable)? {
            Some(j) if viewer.role == Role::Admin || j.requested_by == viewer.subject => Ok(j),
            _ => Err(JobError::NotFound),
        }
    }

    /// Up to `limit` of the job's outputs after position `after`, in order.
    pub async fn items(&self, job: &JobRecord, after: Option<usize>, limit: u32) -> Result<ItemPage, JobError> {
        let items = self
            .store
            .items(job.id, after, limit)
            .await
            .map_err(JobError::Unavailable)?;
        let next = (items.len() == limit as usize)
            .then(|| items.last().map(|i| i.position))
            .flatten();
        Ok(ItemPage { items, next })
    }
}

/// A fresh webhook signing secret: 244 random bits.
fn new_secret() -> String {
    format!("whsec_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}
