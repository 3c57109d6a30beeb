//! Notifications: the application layer that tells partners what happened. It turns order events into messages
//! (order received, payment received, order cancelled or expired), queues admin blasts to every partner or one
//! tier, and sends a blast in resumable chunks, each (event, recipient) once, through the ports in [`ports`].
//!
//! # Layout
//! - [`model`]: blasts as stored and as admins see them, the notification a recipient gets, claims.
//! - [`templates`]: the message each order event asks for, and the blast a `notification.blast_requested` event
//!   names.
//! - [`ports`]: [`ports::Sender`] (the channel), [`ports::NotificationLog`] (who got what),
//!   [`ports::BlastStore`] (blasts, their checkpoints and recipients).
//! - [`service`]: the use cases: [`Blasts`] (create a blast with its outbox event, show its progress) and
//!   [`Notifier`] (deliver an event: one message, or a blast chunk by chunk within a time budget).
//!
//! This crate owns no I/O and must not depend on PostgreSQL, the AWS SDK, Lambda crates or HTTP types; settings
//! are read through [`settings::SettingsSource`], and retries and status codes belong to the edge, which reads
//! them from the errors returned here.

pub mod model;
pub mod ports;
pub mod service;
pub mod templates;

pub use model::{
    Blast, BlastLinks, BlastProgress, BlastSummary, Claim, CreatedBlast, NewBlast, Notification, REQUESTED_EVENT,
};
pub use ports::{BlastStore, NotificationLog, Sender};
pub use service::{
    BlastRequest, Blasts, CreateBlastError, Notifier, NotifyError, Queued, ShowBlastError, BODY_MAX_CHARS,
    SUBJECT_MAX_CHARS,
};
pub use templates::{blast_id, render};
