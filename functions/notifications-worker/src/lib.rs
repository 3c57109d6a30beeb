//! `notifications-worker`: turns order events from the notifications queue into messages to partners (order
//! received, payment received, order cancelled or expired) and hands them to a [`Sender`].
//!
//! Each (event, recipient) is sent once: the notification log in Postgres is claimed before sending and marked
//! after, so a redelivered message sends nothing twice. A body that is not an outbox event is a poison message and
//! goes to the dead-letter queue; a database or sender failure is retried with backoff.
//!
//! The sender is a port: the shipped ones write JSON lines to a file (local runs and tests read it) or to the log.
//! This crate must not hold SQL or call the AWS SDK directly.

use platform::sqs::{Message, MessageError, MessageHandler};
use serde_json::{json, Value};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use store::notifications::{Claim, PgNotificationLog};

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

/// Where notifications go.
pub trait Sender: Send + Sync + 'static {
    fn send(&self, n: &Notification) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Appends one JSON line per notification to a file.
#[derive(Debug, Clone)]
pub struct FileSender(pub PathBuf);

impl Sender for FileSender {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        let line = json!({
            "recipient": n.recipient, "kind": n.kind, "subject": n.subject, "body": n.body, "key": n.key,
        });
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.0)?;
        writeln!(f, "{line}")?;
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

/// The notification an outbox event asks for, if any. `Err` when the body is not an outbox event at all.
pub fn render(body: &str) -> Result<Option<(uuid::Uuid, Notification)>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| format!("no `{k}`"));
    let event_id = uuid::Uuid::parse_str(field("event_id")?).map_err(|_| "`event_id` is not a UUID".to_string())?;
    let event_type = field("event_type")?;
    let payload = v.get("payload").ok_or("no `payload`")?;
    let order = field("aggregate_id")?;
    let partner = payload
        .get("partner_id")
        .and_then(Value::as_i64)
        .ok_or("no `payload.partner_id`")?;
    let total = payload.get("total").and_then(Value::as_i64).unwrap_or(0);
    let (kind, subject, text) = match event_type {
        "order.placed" => (
            "order_received",
            format!("Pesanan {order} diterima"),
            format!("Pesanan {order} senilai Rp {total} diterima. Silakan lakukan pembayaran sebelum batas waktu."),
        ),
        "order.paid" => (
            "payment_received",
            format!("Pembayaran pesanan {order} diterima"),
            format!("Pembayaran Rp {total} untuk pesanan {order} sudah kami terima; pesanan sedang diproses."),
        ),
        "order.cancelled" => (
            "order_cancelled",
            format!("Pesanan {order} dibatalkan"),
            format!("Pesanan {order} dibatalkan dan stoknya dilepas."),
        ),
        "order.expired" => (
            "order_expired",
            format!("Pesanan {order} kedaluwarsa"),
            format!("Pesanan {order} melewati batas waktu pembayaran dan dibatalkan."),
        ),
        _ => return Ok(None),
    };
    Ok(Some((
        event_id,
        Notification {
            recipient: format!("partner:{partner}"),
            kind,
            subject,
            body: text,
            key: event_id.to_string(),
        },
    )))
}

/// The worker over a notification log and a sender.
#[derive(Debug)]
pub struct NotificationsWorker<S> {
    log: PgNotificationLog,
    sender: S,
}

impl<S: Sender> NotificationsWorker<S> {
    pub fn new(log: PgNotificationLog, sender: S) -> Self {
        NotificationsWorker { log, sender }
    }
}

fn retry(cause: anyhow::Error) -> MessageError {
    MessageError::Retry { after: None, cause }
}

impl<S: Sender> MessageHandler for NotificationsWorker<S> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let rendered = render(&message.body).map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
        let Some((event_id, n)) = rendered else { return Ok(()) };
        match self.log.claim(event_id, &n.recipient, n.kind).await.map_err(retry)? {
            Claim::AlreadySent => Ok(()),
            Claim::Send => {
                self.sender.send(&n).await.map_err(retry)?;
                self.log.mark_sent(event_id, &n.recipient).await.map_err(retry)
            }
        }
    }
}
