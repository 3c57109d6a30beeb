//! The notification use cases: queue a blast and show its progress ([`Blasts`]); deliver an event ([`Notifier`]):
//! one message for an order event, or a blast to many partners a chunk at a time.
//!
//! A blast walks the partners in id order. Each chunk is claimed in the notification log in one call, sent as a
//! batch, marked sent, and then the blast's checkpoint moves past it; near its time budget the notifier stops
//! between chunks and asks for the event again at once. A notifier killed anywhere resumes after the last whole
//! chunk and sends nobody a copy the log has marked sent.

use crate::model::{Blast, Claim, CreatedBlast, NewBlast, Notification};
use crate::ports::{BlastStore, NotificationLog, Sender};
use crate::templates::{blast_id, render};
use kernel::{IdempotencyKey, Tier};
use settings::SettingsSource;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Most characters in a blast's subject.
pub const SUBJECT_MAX_CHARS: usize = 200;
/// Most characters in a blast's body.
pub const BODY_MAX_CHARS: usize = 4000;
/// Partners per chunk when `notifications.blast_chunk_size` is unset or unusable.
const DEFAULT_CHUNK_SIZE: u32 = 500;

/// A blast request, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastRequest {
    pub subject: String,
    pub body: String,
    pub tier: Option<Tier>,
}

/// A blast queued or found again.
#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    New(Blast),
    /// The blast an earlier request with this key made.
    Replayed(Blast),
}

#[derive(Debug, thiserror::Error)]
pub enum CreateBlastError {
    #[error("this Idempotency-Key was already used with a different request body")]
    KeyReused,
    #[error("blast storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ShowBlastError {
    #[error("no such blast")]
    NotFound,
    #[error("blast storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// The admin side of blasts over their store.
#[derive(Debug)]
pub struct Blasts<B> {
    store: B,
}

impl<B: BlastStore> Blasts<B> {
    pub fn new(store: B) -> Self {
        Blasts { store }
    }

    /// Queues a blast with its outbox event, once per (requester, key).
    pub async fn create(
        &self,
        request: &BlastRequest,
        requested_by: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Queued, CreateBlastError> {
        let created = self
            .store
            .create(&NewBlast {
                id: Uuid::new_v4(),
                subject: &request.subject,
                body: &request.body,
                tier: request.tier,
                requested_by,
                key,
                fingerprint,
            })
            .await
            .map_err(CreateBlastError::Unavailable)?;
        match created {
            CreatedBlast::New(b) => Ok(Queued::New(b)),
            CreatedBlast::Replayed(b) => Ok(Queued::Replayed(b)),
            CreatedBlast::KeyReused => Err(CreateBlastError::KeyReused),
        }
    }

    /// A blast and its progress.
    pub async fn get(&self, id: Uuid) -> Result<Blast, ShowBlastError> {
        self.store
            .get(id)
            .await
            .map_err(ShowBlastError::Unavailable)?
            .ok_or(ShowBlastError::NotFound)
    }
}

/// Why an event was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The event can never be delivered: not an outbox event, or a blast event without its blast id.
    #[error("{0}")]
    Malformed(String),
    /// The blast an event names does not exist.
    #[error("no blast {0}")]
    NoSuchBlast(Uuid),
    /// The time budget ran out between chunks: deliver the event again at once to continue.
    #[error("time budget spent after {sent} of {total} recipients; continuing")]
    OutOfTime { sent: usize, total: usize },
    /// The log, the store or the sender failed: deliver the event again later.
    #[error(transparent)]
    Unavailable(anyhow::Error),
}

/// Delivers events over the notification log, the blasts, a sender and the settings.
#[derive(Debug)]
pub struct Notifier<L, B, S, C> {
    log: L,
    blasts: B,
    sender: S,
    settings: C,
    budget: Duration,
}

impl<L, B, S, C> Notifier<L, B, S, C>
where
    L: NotificationLog,
    B: BlastStore,
    S: Sender,
    C: SettingsSource,
{
    pub fn new(log: L, blasts: B, sender: S, settings: C) -> Self {
        Notifier {
            log,
            blasts,
            sender,
            settings,
            // The function's timeout is 30 s (niaga.json); stop well before it.
            budget: Duration::from_secs(20),
        }
    }

    /// How long one delivery of a blast works before handing the rest to the next.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Delivers one event body: the blast it names, or the message it asks for (none for other events). Each
    /// (event, recipient) is sent once.
    pub async fn deliver(&self, body: &str) -> Result<(), NotifyError> {
        if let Some(blast) = blast_id(body) {
            let id = blast.map_err(NotifyError::Malformed)?;
            return self.blast(id, Instant::now()).await;
        }
        let Some((event_id, n)) = render(body).map_err(NotifyError::Malformed)? else {
            return Ok(());
        };
        match self
            .log
            .claim(event_id, &n.recipient, n.kind)
            .await
            .map_err(NotifyError::Unavailable)?
        {
            Claim::AlreadySent => Ok(()),
            Claim::Send => {
                self.sender.send(&n).await.map_err(NotifyError::Unavailable)?;
                self.log
                    .mark_sent(event_id, &n.recipient)
                    .await
                    .map_err(NotifyError::Unavailable)
            }
        }
    }

    async fn chunk_size(&self) -> u32 {
        let c = self.settings.ints("notifications.").await.unwrap_or_default();
        c.get("notifications.blast_chunk_size")
            .and_then(|n| u32::try_from(*n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_CHUNK_SIZE)
    }

    /// Sends one chunk of `b` and moves its checkpoint. `false` when nobody is left.
    async fn blast_chunk(&self, b: &Blast, size: u32) -> anyhow::Result<bool> {
        let chunk = self.blasts.recipients(b, size).await?;
        let Some((last, _)) = chunk.last() else {
            return Ok(false);
        };
        let recipients: Vec<String> = chunk.iter().map(|(id, _)| format!("partner:{id}")).collect();
        let pending = self.log.claim_many(b.id, &recipients, "blast").await?;
        let batch: Vec<Notification> = pending
            .iter()
            .map(|r| Notification {
                recipient: r.clone(),
                kind: "blast",
                subject: b.subject.clone(),
                body: b.body.clone(),
                key: format!("{}:{r}", b.id),
            })
            .collect();
        self.sender.send_batch(&batch).await?;
        self.log.mark_sent_many(b.id, &pending).await?;
        if !self
            .blasts
            .advance(b.id, b.last_partner_id, *last, pending.len())
            .await?
        {
            tracing::info!(blast = %b.id, "chunk advanced by another worker");
        }
        Ok(true)
    }

    async fn blast(&self, id: Uuid, started: Instant) -> Result<(), NotifyError> {
        let size = self.chunk_size().await;
        loop {
            let b = self
                .blasts
                .get(id)
                .await
                .map_err(NotifyError::Unavailable)?
                .ok_or(NotifyError::NoSuchBlast(id))?;
            if b.status == "done" {
                return Ok(());
            }
            if started.elapsed() >= self.budget {
                return Err(NotifyError::OutOfTime {
                    sent: b.sent,
                    total: b.total_recipients,
                });
            }
            if !self.blast_chunk(&b, size).await.map_err(NotifyError::Unavailable)? {
                return self.blasts.finish(id).await.map_err(NotifyError::Unavailable);
            }
        }
    }
}
