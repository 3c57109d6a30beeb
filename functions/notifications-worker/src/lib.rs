//! `notifications-worker`: hands each event from the notifications queue (order events, and admin blasts from
//! `admin-api`) to the [`notifications::Notifier`] use case, which sends each (event, recipient) once, and a blast
//! in resumable chunks within a time budget.
//!
//! This crate maps the use case's answers to SQS: an event that is not an outbox event, or a blast that does not
//! exist, is a poison message and goes to the dead-letter queue; a database or sender failure is retried with
//! backoff; a blast that ran out of time is asked for again at once.
//!
//! It also ships the channels a [`Sender`] can be: JSON lines to a file (local runs and tests read it) or the
//! log; `main` picks one. This crate must not hold SQL or call the AWS SDK directly.

use lambda_glue::sqs::{Message, MessageError, MessageHandler};
use notifications::{BlastStore, Notification, NotificationLog, Notifier, NotifyError, Sender};
use serde_json::json;
use settings::SettingsSource;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Appends one JSON line per notification to a file.
#[derive(Debug, Clone)]
pub struct FileSender(pub PathBuf);

impl Sender for FileSender {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        self.send_batch(std::slice::from_ref(n)).await
    }

    async fn send_batch(&self, batch: &[Notification]) -> anyhow::Result<()> {
        let mut lines = String::new();
        for n in batch {
            let line = json!({
                "recipient": n.recipient, "kind": n.kind, "subject": n.subject, "body": n.body, "key": n.key,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        // One write per batch, so concurrent workers' lines never interleave mid-line.
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.0)?;
        f.write_all(lines.as_bytes())?;
        Ok(())
    }
}

/// Writes notifications to the function's log (until a real channel is configured).
#[derive(Debug, Clone, Copy)]
pub struct LogSender;

impl Sender for LogSender {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        tracing::info!(recipient = %n.recipient, kind = n.kind, subject = %n.subject, "notification");
        Ok(())
    }
}

/// The worker over the notifier.
#[derive(Debug)]
pub struct NotificationsWorker<L, B, S, C> {
    notifier: Notifier<L, B, S, C>,
}

impl<L, B, S, C> NotificationsWorker<L, B, S, C> {
    pub fn new(notifier: Notifier<L, B, S, C>) -> Self {
        NotificationsWorker { notifier }
    }
}

impl<L, B, S, C> MessageHandler for NotificationsWorker<L, B, S, C>
where
    L: NotificationLog,
    B: BlastStore,
    S: Sender,
    C: SettingsSource + 'static,
{
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        self.notifier.deliver(&message.body).await.map_err(|e| match e {
            NotifyError::Malformed(_) | NotifyError::NoSuchBlast(_) => MessageError::Poison(anyhow::anyhow!(e)),
            NotifyError::OutOfTime { .. } => MessageError::Retry {
                after: Some(Duration::ZERO),
                cause: anyhow::anyhow!(e),
            },
            NotifyError::Unavailable(cause) => MessageError::Retry { after: None, cause },
        })
    }
}
