//! What the notification use cases need from outside. `store` implements [`NotificationLog`] and [`BlastStore`]
//! over PostgreSQL; the function crate ships the [`Sender`]s.

use crate::model::{Blast, Claim, CreatedBlast, NewBlast, Notification};
use std::future::Future;
use uuid::Uuid;

/// Where notifications go.
pub trait Sender: Send + Sync + 'static {
    fn send(&self, n: &Notification) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Sends many; a channel with a bulk API overrides this. `Err` means some may not have been sent.
    fn send_batch(&self, batch: &[Notification]) -> impl Future<Output = anyhow::Result<()>> + Send {
        async move {
            for n in batch {
                self.send(n).await?;
            }
            Ok(())
        }
    }
}

/// Which (event, recipient) notifications were sent, so a redelivered event sends nothing twice.
///
/// A claim is taken before sending and marked sent after; a sender that dies in between leaves the claim open, and
/// the next delivery sends again: at least once, never twice once marked.
pub trait NotificationLog: Send + Sync + 'static {
    /// Claims (event, recipient). MUST answer [`Claim::AlreadySent`] exactly when that pair was marked sent, and
    /// MUST be atomic per pair, so two workers claiming at once see one row.
    fn claim(&self, event_id: Uuid, recipient: &str, kind: &str) -> impl Future<Output = anyhow::Result<Claim>> + Send;

    fn mark_sent(&self, event_id: Uuid, recipient: &str) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// [`NotificationLog::claim`] for many recipients of one event: the recipients still to send to, in the
    /// order given. MUST claim them all in one round trip (a blast chunk is hundreds of recipients).
    fn claim_many(
        &self,
        event_id: Uuid,
        recipients: &[String],
        kind: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;

    /// [`NotificationLog::mark_sent`] for many recipients of one event.
    fn mark_sent_many(&self, event_id: Uuid, recipients: &[String]) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Blasts with their checkpoints, and the partners they go to.
pub trait BlastStore: Send + Sync + 'static {
    /// Stores a blast, counting its recipients, with its [`crate::REQUESTED_EVENT`] outbox event in one
    /// transaction, so a blast is never queued without its event nor its event without the blast. When the
    /// requester already used `key`, MUST store nothing and answer the blast it made
    /// ([`CreatedBlast::Replayed`]) if `fingerprint` matches, else [`CreatedBlast::KeyReused`].
    fn create(&self, b: &NewBlast<'_>) -> impl Future<Output = anyhow::Result<CreatedBlast>> + Send;

    /// The blast. MUST show every committed write (read your writes): the checkpoint a worker just moved.
    fn get(&self, id: Uuid) -> impl Future<Output = anyhow::Result<Option<Blast>>> + Send;

    /// The next `limit` recipients after the blast's checkpoint, of its tier if it has one, in partner id order:
    /// (partner id, partner code).
    fn recipients(&self, b: &Blast, limit: u32) -> impl Future<Output = anyhow::Result<Vec<(i64, String)>>> + Send;

    /// Moves the checkpoint from `from` to `to` (the last partner id of a chunk whose `sent` copies went out),
    /// counting the chunk. MUST move it only if it is still at `from` (compare and set): `false` when another
    /// worker moved it first.
    fn advance(&self, id: Uuid, from: i64, to: i64, sent: usize) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Marks the blast done (nobody left after the checkpoint).
    fn finish(&self, id: Uuid) -> impl Future<Output = anyhow::Result<()>> + Send;
}
