//! `notifications-worker`: turns order events from the notifications queue into messages to partners (order
//! received, payment received, order cancelled or expired) and hands them to a [`Sender`].
//!
//! Each (event, recipient) is sent once: the notification log in Postgres is claimed before sending and marked
//! after, so a redelivered message sends nothing twice. A body that is not an outbox event is a poison message and
//! goes to the dead-letter queue; a database or sender failure is retried with backoff.
//!
//! Admin blasts (`notification.blast_requested`, from `admin-api`) go to many partners: the worker walks the
//! partners in id order, a chunk at a time. Each chunk is claimed in the notification log in one statement, sent
//! as a batch, marked sent, and then the blast's checkpoint moves past it; near its time budget the worker stops
//! between chunks and asks for the message again at once. A worker killed anywhere resumes after the last whole
//! chunk and sends nobody a copy they already got.
//!
//! The sender is a port: the shipped ones write JSON lines to a file (local runs and tests read it) or to the log.
//! This crate must not hold SQL or call the AWS SDK directly.

use platform::sqs::{Message, MessageError, MessageHandler};
use serde_json::{json, Value};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use store::blasts::{Blast, PgBlasts};
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
    // What the partner owes, PPN included; events written before PPN carry only `total`.
    let total = payload
        .get("total_incl_tax")
        .or_else(|| payload.get("total"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let (kind, subject, text) = match event_type {
        "order.placed" => (
            "order_received",
            format!("Pesanan {order} diterima"),
            format!("Pesanan {order} senilai Rp {total} diterima. Silakan lakukan pembayaran sebelum batas waktu."),
        ),
        "order.confirmed" => (
            "order_confirmed",
            format!("Pesanan {order} dikonfirmasi"),
            format!(
                "Pesanan {order} senilai Rp {total} dikonfirmasi dengan tempo pembayaran {} hari; tagihan menyusul.",
                payload.get("payment_terms_days").and_then(Value::as_i64).unwrap_or(0)
            ),
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

/// The blast a `notification.blast_requested` body names: `None` for other events.
pub fn blast_id(body: &str) -> Option<Result<uuid::Uuid, String>> {
    let v: Value = serde_json::from_str(body).ok()?;
    (v.get("event_type").and_then(Value::as_str) == Some(store::blasts::REQUESTED_EVENT)).then(|| {
        v.get("payload")
            .and_then(|p| p.get("blast_id"))
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| "no `payload.blast_id` UUID".to_string())
    })
}

/// The worker over the notification log, the blasts and a sender.
#[derive(Debug)]
pub struct NotificationsWorker<S> {
    log: PgNotificationLog,
    blasts: PgBlasts,
    db: store::Db,
    sender: S,
    budget: Duration,
}

impl<S: Sender> NotificationsWorker<S> {
    pub fn new(db: store::Db, sender: S) -> Self {
        NotificationsWorker {
            log: PgNotificationLog::new(db.clone()),
            blasts: PgBlasts::new(db.clone()),
            db,
            sender,
            // The function's timeout is 30 s (niaga.json); stop well before it.
            budget: Duration::from_secs(20),
        }
    }

    /// How long one delivery of a blast works before handing the rest to the next.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    async fn chunk_size(&self) -> u32 {
        let c = store::config::ints(&self.db, "notifications.")
            .await
            .unwrap_or_default();
        c.get("notifications.blast_chunk_size")
            .and_then(|n| u32::try_from(*n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(500)
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

    async fn blast(&self, id: uuid::Uuid, started: Instant) -> Result<(), MessageError> {
        let size = self.chunk_size().await;
        loop {
            let b = self
                .blasts
                .get(id)
                .await
                .map_err(retry)?
                .ok_or_else(|| MessageError::Poison(anyhow::anyhow!("no blast {id}")))?;
            if b.status == "done" {
                return Ok(());
            }
            if started.elapsed() >= self.budget {
                return Err(MessageError::Retry {
                    after: Some(Duration::ZERO),
                    cause: anyhow::anyhow!(
                        "time budget spent after {} of {} recipients; continuing",
                        b.sent,
                        b.total_recipients
                    ),
                });
            }
            if !self.blast_chunk(&b, size).await.map_err(retry)? {
                return self.blasts.finish(id).await.map_err(retry);
            }
        }
    }
}

fn retry(cause: anyhow::Error) -> MessageError {
    MessageError::Retry { after: None, cause }
}

impl<S: Sender> MessageHandler for NotificationsWorker<S> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        if let Some(blast) = blast_id(&message.body) {
            let id = blast.map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
            return self.blast(id, Instant::now()).await;
        }
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
