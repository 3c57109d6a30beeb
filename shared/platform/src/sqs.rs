//! The SQS side of a function: the entry point for SQS batches with partial batch failures, exponential backoff
//! through message visibility, and order kept within FIFO message groups.
//!
//! For each message of a batch the handler decides:
//! - `Ok(())`: done; SQS deletes it.
//! - [`MessageError::Retry`]: reported as a batch item failure, and its visibility is set to the backoff for its
//!   receive count (`base × 2^(receives − 1)`, capped), so a struggling dependency is retried later, not at once.
//!   After the queue's `maxReceiveCount` receives, SQS moves it to the dead-letter queue.
//! - [`MessageError::Poison`]: the message can never succeed (malformed): reported as a failure with no backoff,
//!   so it reaches the dead-letter queue in the fewest receives without blocking the others.
//!
//! In a FIFO queue, once a message of a group fails, the group's later messages in the batch are reported failed
//! without being handled, so they are retried after it, in order.
//!
//! Handlers must be idempotent: delivery is at least once, and a worker killed mid-batch sees the batch again.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// One message, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: String,
    pub body: String,
    /// How many times SQS has handed this message out, this one included.
    pub receive_count: u32,
    /// The FIFO message group, if any.
    pub group: Option<String>,
    /// The `event_id` message attribute (outbox events carry it); consumers dedupe on it.
    pub event_id: Option<String>,
    pub queue_arn: String,
    pub receipt_handle: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Try again later; `after` overrides the exponential backoff.
    #[error("retry later: {cause:#}")]
    Retry {
        after: Option<Duration>,
        cause: anyhow::Error,
    },
    /// The message can never succeed; let it go to the dead-letter queue.
    #[error("poison message: {0:#}")]
    Poison(anyhow::Error),
}

/// A function's per-message handler.
pub trait MessageHandler: Send + Sync + 'static {
    fn handle(&self, message: &Message) -> impl Future<Output = Result<(), MessageError>> + Send;
}

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(900),
        }
    }
}

impl Backoff {
    /// The visibility timeout for a message on its `receive_count`-th receive.
    pub fn delay(&self, receive_count: u32) -> Duration {
        let exp = receive_count.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }
}

/// What the SQS entry point needs besides the handler.
#[derive(Clone)]
pub struct SqsRuntime {
    pub function: &'static str,
    /// Changes visibility for backoff; `None` leaves retries to the queue's visibility timeout.
    pub sqs: Option<aws_sdk_sqs::Client>,
    pub backoff: Backoff,
    queue_urls: Arc<Mutex<BTreeMap<String, String>>>,
}

impl std::fmt::Debug for SqsRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsRuntime")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl SqsRuntime {
    pub fn new(function: &'static str, sqs: Option<aws_sdk_sqs::Client>, backoff: Backoff) -> Self {
        SqsRuntime {
            function,
            sqs,
            backoff,
            queue_urls: Arc::default(),
        }
    }

    /// Queue URL from its ARN (`arn:aws:sqs:<region>:<account>:<name>`), resolved once.
    async fn queue_url(&self, client: &aws_sdk_sqs::Client, arn: &str) -> Option<String> {
        if let Some(url) = self.queue_urls.lock().await.get(arn) {
            return Some(url.clone());
        }
        let parts: Vec<&str> = arn.split(':').collect();
        let (account, name) = (parts.get(4)?, parts.get(5)?);
        let url = client
            .get_queue_url()
            .queue_name(*name)
            .queue_owner_aws_account_id(*account)
            .send()
            .await
            .ok()?
            .queue_url?;
        self.queue_urls.lock().await.insert(arn.to_string(), url.clone());
        Some(url)
    }

    async fn back_off(&self, message: &Message, delay: Duration) {
        let Some(client) = &self.sqs else { return };
        let Some(url) = self.queue_url(client, &message.queue_arn).await else {
            tracing::warn!(queue = %message.queue_arn, "cannot resolve the queue URL; no backoff");
            return;
        };
        // Rounded up: a sub-second backoff must not become "visible again at once".
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        let seconds = i32::try_from(secs).unwrap_or(i32::MAX).min(43_200);
        if let Err(e) = client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(&message.receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            tracing::warn!(message_id = %message.message_id, error = niaga_aws::error_chain(&e), "backoff failed");
        }
    }
}

/// Runs the Lambda event loop for an SQS-triggered function (warm-up pings answered without work).
pub async fn run<H: MessageHandler>(rt: SqsRuntime, handler: H) -> Result<(), lambda_runtime::Error> {
    let (rt, handler) = (Arc::new(rt), Arc::new(handler));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let (rt, handler) = (rt.clone(), handler.clone());
            async move { Ok::<Value, lambda_runtime::Error>(dispatch(&rt, &*handler, event.payload).await) }
        },
    ))
    .await
}

/// Parses an SQS event's records; records that are not SQS messages are skipped and logged.
pub fn messages(event: &Value) -> Vec<Message> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Vec::new();
    };
    records
        .iter()
        .filter_map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            let attr = |k: &str| r.get("attributes").and_then(|a| a.get(k)).and_then(Value::as_str);
            Some(Message {
                message_id: s("messageId")?,
                body: s("body").unwrap_or_default(),
                receive_count: attr("ApproximateReceiveCount")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                group: attr("MessageGroupId").map(str::to_string),
                event_id: r
                    .get("messageAttributes")
                    .and_then(|a| a.get("event_id"))
                    .and_then(|a| a.get("stringValue"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                queue_arn: s("eventSourceARN").unwrap_or_default(),
                receipt_handle: s("receiptHandle").unwrap_or_default(),
            })
        })
        .collect()
}

/// Handles one batch and returns the `SqsBatchResponse` document. Public so handler tests can drive a worker with
/// the JSON files in `events/` without a runtime.
pub async fn dispatch<H: MessageHandler>(rt: &SqsRuntime, handler: &H, event: Value) -> Value {
    if crate::http::is_warmup_ping(&event) {
        return json!({ "warm": true, "function": rt.function });
    }
    let mut failures = Vec::new();
    let mut failed_groups = BTreeSet::new();
    let (mut ok, mut retried, mut poisoned) = (0u32, 0u32, 0u32);
    for message in messages(&event) {
        if let Some(g) = &message.group {
            if failed_groups.contains(g) {
                failures.push(json!({ "itemIdentifier": message.message_id }));
                continue;
            }
        }
        let outcome = handler.handle(&message).await;
        match outcome {
            Ok(()) => ok += 1,
            Err(e) => {
                match &e {
                    MessageError::Retry { after, .. } => {
                        retried += 1;
                        let delay = after.unwrap_or_else(|| rt.backoff.delay(message.receive_count));
                        tracing::warn!(message_id = %message.message_id, receives = message.receive_count, delay_s = delay.as_secs(), error = %e, "message will be retried");
                        rt.back_off(&message, delay).await;
                    }
                    MessageError::Poison(_) => {
                        poisoned += 1;
                        tracing::error!(message_id = %message.message_id, receives = message.receive_count, error = %e, "poison message");
                    }
                }
                if let Some(g) = &message.group {
                    failed_groups.insert(g.clone());
                }
                failures.push(json!({ "itemIdentifier": message.message_id }));
            }
        }
    }
    crate::metrics::emit(
        &crate::metrics::Record::new(rt.function)
            .metric("messages_done", f64::from(ok), crate::metrics::Unit::Count)
            .metric("messages_retried", f64::from(retried), crate::metrics::Unit::Count)
            .metric("messages_poisoned", f64::from(poisoned), crate::metrics::Unit::Count),
    );
    json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_receive_and_stops_at_its_cap() {
        let b = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(60),
        };
        assert_eq!(b.delay(1), Duration::from_secs(5));
        assert_eq!(b.delay(2), Duration::from_secs(10));
        assert_eq!(b.delay(4), Duration::from_secs(40));
        assert_eq!(b.delay(5), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
    }
}
