//! Blasts, notifications and claims.

use chrono::{DateTime, Utc};
use kernel::{IdempotencyKey, Tier};
use uuid::Uuid;

/// The event that enqueues a blast on the notifications queue.
pub const REQUESTED_EVENT: &str = kernel::EventType::BlastRequested.as_str();

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub recipient: String,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    /// The provider-side idempotency key: the event id.
    pub key: String,
}

/// What claiming a notification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not sent before: send it, then mark it sent.
    Send,
    /// Sent already: do nothing.
    AlreadySent,
}

/// A blast to create.
#[derive(Debug)]
pub struct NewBlast<'a> {
    pub id: Uuid,
    pub subject: &'a str,
    pub body: &'a str,
    pub tier: Option<Tier>,
    pub requested_by: &'a str,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
}

/// A notification blast as admins see it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BlastSummary {
    pub id: Uuid,
    pub subject: String,
    /// Only partners of this tier; all partners when absent.
    pub tier: Option<String>,
    pub status: String,
    pub requested_by: String,
    pub progress: BlastProgress,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub links: BlastLinks,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BlastProgress {
    pub total_recipients: usize,
    pub sent: usize,
    pub chunks_done: usize,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BlastLinks {
    #[serde(rename = "self")]
    pub this: String,
}

/// One stored blast.
#[derive(Debug, Clone, PartialEq)]
pub struct Blast {
    pub id: Uuid,
    pub subject: String,
    pub body: String,
    pub tier: Option<String>,
    pub total_recipients: usize,
    pub sent: usize,
    /// The checkpoint: every partner up to this id has been sent their copy.
    pub last_partner_id: i64,
    pub chunks_done: usize,
    pub status: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Blast {
    /// What `GET /admin/notification-blasts/{id}` shows.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::to_value(self.summary_doc()).unwrap_or_default()
    }

    /// The typed form of [`Blast::summary`].
    pub fn summary_doc(&self) -> BlastSummary {
        BlastSummary {
            id: self.id,
            subject: self.subject.clone(),
            tier: self.tier.clone(),
            status: self.status.clone(),
            requested_by: self.requested_by.clone(),
            progress: BlastProgress {
                total_recipients: self.total_recipients,
                sent: self.sent,
                chunks_done: self.chunks_done,
            },
            created_at: self.created_at,
            finished_at: self.finished_at,
            links: BlastLinks {
                this: format!("/admin/notification-blasts/{}", self.id),
            },
        }
    }
}

/// What storing a blast found.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatedBlast {
    New(Blast),
    /// The blast an earlier request with the same key and body made.
    Replayed(Blast),
    /// The key was used before with another body.
    KeyReused,
}
