//! A stored job, what creating one found, what its items produced, and the summary clients, the completion event
//! and the webhook show.

use crate::job::{JobKind, JobParams, JobStatus};
use crate::providers::SeoText;
use chrono::{DateTime, Utc};
use kernel::{IdempotencyKey, Money, Sku, Tier};
use uuid::Uuid;

/// The outbox event that enqueues a job.
pub const REQUESTED_EVENT: &str = kernel::EventType::AgentJobRequested.as_str();

/// A job to create.
#[derive(Debug)]
pub struct NewJob<'a> {
    pub id: Uuid,
    pub params: JobParams,
    pub skus: &'a [Sku],
    pub chunk_size: u32,
    pub requested_by: &'a str,
    pub requested_role: &'a str,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
    pub callback_url: Option<&'a str>,
    pub callback_secret: Option<&'a str>,
}

/// An agent job as clients see it: its status, progress and links.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct JobSummary {
    pub id: Uuid,
    /// `generate_product_seo` or `bulk_price_proposal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// The job type's parameters (`tier`, `target_margin_bp` for price proposals).
    pub params: serde_json::Value,
    pub requested_by: String,
    pub progress: JobProgress,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub links: JobLinks,
    /// Present when the job registered a webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<JobCallback>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct JobProgress {
    pub total_items: usize,
    pub done_items: usize,
    pub chunks_done: usize,
    pub chunk_size: usize,
    pub percent: usize,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct JobLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub items: String,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct JobCallback {
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    /// The webhook signing secret, in the creating answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: Uuid,
    pub params: JobParams,
    pub skus: Vec<String>,
    pub total_items: usize,
    pub chunk_size: usize,
    /// The checkpoint: items done, in order.
    pub done_items: usize,
    pub chunks_done: usize,
    pub status: JobStatus,
    pub requested_by: String,
    pub callback_url: Option<String>,
    pub callback_secret: Option<String>,
    pub event_sent: bool,
    pub webhook_status: Option<String>,
    pub webhook_attempts: u32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobRecord {
    pub fn kind(&self) -> JobKind {
        self.params.kind()
    }

    /// The job's public summary: what `GET /agent-jobs/{id}` shows and the completion announcements carry. Never
    /// the callback secret.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::to_value(self.summary_doc()).unwrap_or_default()
    }

    /// The job as `GET /agent-jobs/{id}` and its webhook show it.
    pub fn summary_doc(&self) -> JobSummary {
        JobSummary {
            id: self.id,
            kind: self.kind().as_str().to_string(),
            status: self.status.as_str().to_string(),
            params: serde_json::to_value(self.params).unwrap_or_default(),
            requested_by: self.requested_by.clone(),
            progress: JobProgress {
                total_items: self.total_items,
                done_items: self.done_items,
                chunks_done: self.chunks_done,
                chunk_size: self.chunk_size,
                percent: (self.done_items * 100).checked_div(self.total_items).unwrap_or(0),
            },
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            links: JobLinks {
                this: format!("/agent-jobs/{}", self.id),
                items: format!("/agent-jobs/{}/items", self.id),
            },
            callback: self.callback_url.as_ref().map(|url| JobCallback {
                url: url.clone(),
                status: self.webhook_status.clone().unwrap_or_else(|| "pending".into()),
                attempts: self.webhook_attempts,
                secret: None,
            }),
        }
    }
}

/// What creating a job found.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(JobRecord),
    /// The requester used this key before with the same body: the first job.
    Replayed(JobRecord),
    /// The requester used this key before with a different body.
    KeyReused,
}

/// What one item of a chunk produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutput {
    Seo {
        sku: String,
        text: SeoText,
    },
    Proposal {
        sku: String,
        tier: Tier,
        current: Option<Money>,
        proposed: Money,
    },
    /// Nothing to do for this item (the product is gone, or there is nothing to propose).
    Skipped {
        sku: String,
        reason: String,
    },
}

impl ItemOutput {
    pub fn sku(&self) -> &str {
        match self {
            ItemOutput::Seo { sku, .. } | ItemOutput::Proposal { sku, .. } | ItemOutput::Skipped { sku, .. } => sku,
        }
    }

    /// The output as `GET /agent-jobs/{id}/items` shows it.
    pub fn document(&self) -> serde_json::Value {
        match self {
            ItemOutput::Seo { text, .. } => serde_json::json!({ "seo": text }),
            ItemOutput::Proposal {
                tier,
                current,
                proposed,
                ..
            } => serde_json::json!({
                "proposal": { "tier": tier, "current_price": current.map(Money::minor),
                              "proposed_price": proposed.minor(), "status": "pending" }
            }),
            ItemOutput::Skipped { reason, .. } => serde_json::json!({ "skipped": reason }),
        }
    }
}

/// One stored item output.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRecord {
    pub position: usize,
    pub sku: String,
    pub chunk: usize,
    pub output: serde_json::Value,
}
