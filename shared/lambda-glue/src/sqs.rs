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
//! without being handled, so they are retried after it, in order, handed back for as long as it was.
//!
//! A queue [backed by a ledger](SqsRuntime::with_ledger) carries nudges for work that PostgreSQL also records and
//! sends again until it is done (the ERP sync: every paid order the ERP has not confirmed). There, a message that
//! would be retried on the last receive its queue allows (the redrive policy's `maxReceiveCount`, read from the
//! queue) is deleted instead: the ledger brings the work back, so a dependency down for longer than the receive
//! budget fills no dead-letter queue, which is left holding poison only.
//!
//! Handlers must be idempotent: delivery is at least once, and a worker killed mid-batch sees the batch again.

use crate::service::Service;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
    pub service: Service,
    pub function: &'static str,
    /// Changes visibility for backoff; `None` leaves retries to the queue's visibility timeout.
    pub sqs: Option<aws_sdk_sqs::Client>,
    pub backoff: Backoff,
    ledger: bool,
    /// Receives each queue allows before its dead-letter queue, when known without asking the queue.
    receive_budget: Option<u32>,
    queue_urls: Arc<Mutex<BTreeMap<String, String>>>,
    /// Per queue ARN, its `maxReceiveCount` (`None`: no redrive policy, or it could not be read).
    budgets: Arc<Mutex<BTreeMap<String, Option<u32>>>>,
}

impl std::fmt::Debug for SqsRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsRuntime")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl SqsRuntime {
    pub fn new(service: Service, function: &'static str, sqs: Option<aws_sdk_sqs::Client>, backoff: Backoff) -> Self {
        SqsRuntime {
            service,
            function,
            sqs,
            backoff,
            ledger: false,
            receive_budget: None,
            queue_urls: Arc::default(),
            budgets: Arc::default(),
        }
    }

    /// The queue's messages are nudges for work a ledger records and sends again by itself: a message that would be
    /// retried on its queue's last receive is deleted rather than dead-lettered. Poison still goes to the
    /// dead-letter queue.
    pub fn with_ledger(mut self) -> Self {
        self.ledger = true;
        self
    }

    /// The queue's `maxReceiveCount`, for a runtime without an SQS client to read it with (handler tests).
    pub fn with_receive_budget(mut self, max_receive_count: u32) -> Self {
        self.receive_budget = Some(max_receive_count);
        self
    }

    /// The receives the message's queue allows before its dead-letter queue, read once per queue from its redrive
    /// policy.
    async fn receive_budget(&self, queue_arn: &str) -> Option<u32> {
        if self.receive_budget.is_some() {
            return self.receive_budget;
        }
        let client = self.sqs.as_ref()?;
        if let Some(budget) = self.budgets.lock().await.get(queue_arn) {
            return *budget;
        }
        let url = self.queue_url(client, queue_arn).await?;
        let budget = match client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
        {
            Ok(out) => out
                .attributes
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy).cloned())
                .and_then(|policy| max_receive_count(&policy)),
            Err(e) => {
                // Not cached: the next message asks again.
                crate::failopen::fail_open(
                    &format!("cannot read the redrive policy of {queue_arn}"),
                    &crate::failopen::sdk_error_text(&e),
                );
                return None;
            }
        };
        self.budgets.lock().await.insert(queue_arn.to_string(), budget);
        budget
    }

    /// True when the message is on the last receive its queue allows and its work is the ledger's to bring back.
    async fn leave_to_ledger(&self, message: &Message) -> bool {
        self.ledger
            && self
                .receive_budget(&message.queue_arn)
                .await
                .is_some_and(|budget| message.receive_count >= budget)
    }

    /// Queue URL from its ARN (`arn:aws:sqs:<region>:<account>:<name>`), resolved once.
    async fn queue_url(&self, client: &aws_sdk_sqs::Client, arn: &str) -> Option<String> {
        if let Some(url) = self.queue_urls.lock().await.get(arn) {
            return Some(url.clone());
        }
        let parts: Vec<&str> = arn.split(':').collect();
        let (account, name) = (parts.get(4)?, parts.get(5)?);
        let url = match client
            .get_queue_url()
            .queue_name(*name)
            .queue_owner_aws_account_id(*account)
            .send()
            .await
        {
            Ok(out) => out.queue_url?,
            Err(e) => {
                crate::failopen::fail_open(
                    &format!("cannot resolve the URL of {arn}"),
                    &crate::failopen::sdk_error_text(&e),
                );
                return None;
            }
        };
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
            crate::failopen::fail_open(
                &format!("backoff of message {} failed", message.message_id),
                &crate::failopen::sdk_error_text(&e),
            );
        }
    }
}

/// `maxReceiveCount` from a redrive policy document (SQS writes it as a number, some clients as a string).
fn max_receive_count(policy: &str) -> Option<u32> {
    let v: Value = serde_json::from_str(policy).ok()?;
    match v.get("maxReceiveCount")? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
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

/// Parses an SQS event's records (`aws_lambda_events`' [`SqsMessage`]); records that are not SQS messages are
/// skipped and logged, so one malformed record does not fail its batch.
pub fn messages(event: &Value) -> Vec<Message> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Vec::new();
    };
    records
        .iter()
        .filter_map(|r| match SqsMessage::deserialize(r) {
            Ok(m) => message(m),
            Err(e) => {
                tracing::error!(error = %e, "an SQS record that is not an SQS message was skipped");
                None
            }
        })
        .collect()
}

fn message(mut m: SqsMessage) -> Option<Message> {
    let Some(message_id) = m.message_id else {
        tracing::error!("an SQS record without a message id was skipped");
        return None;
    };
    Some(Message {
        message_id,
        body: m.body.unwrap_or_default(),
        receive_count: m
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        group: m.attributes.remove("MessageGroupId"),
        event_id: m.message_attributes.remove("event_id").and_then(|a| a.string_value),
        queue_arn: m.event_source_arn.unwrap_or_default(),
        receipt_handle: m.receipt_handle.unwrap_or_default(),
    })
}

/// Handles one batch and returns the [`SqsBatchResponse`] document. Public so handler tests can drive a worker with
/// the JSON files in `events/` without a runtime.
pub async fn dispatch<H: MessageHandler>(rt: &SqsRuntime, handler: &H, event: Value) -> Value {
    if crate::http::is_warmup_ping(&event) {
        return json!({ "warm": true, "function": rt.function });
    }
    let mut failures = Vec::new();
    // Each failed group, with how long its failed message was handed back for (`None`: poison, not backed off).
    let mut failed_groups: BTreeMap<String, Option<Duration>> = BTreeMap::new();
    let (mut ok, mut retried, mut poisoned, mut left) = (0u32, 0u32, 0u32, 0u32);
    for message in messages(&event) {
        let held_back = message.group.as_ref().and_then(|g| failed_groups.get(g)).copied();
        let outcome = match held_back {
            // Behind a failed message of its group: not handled, retried after it, in order.
            Some(Some(delay)) => Err(MessageError::Retry {
                after: Some(delay),
                cause: anyhow::anyhow!("an earlier message of its group failed"),
            }),
            Some(None) if rt.leave_to_ledger(&message).await => {
                left += 1;
                continue;
            }
            Some(None) => {
                failures.push(failure(&message));
                continue;
            }
            None => handler.handle(&message).await,
        };
        match outcome {
            Ok(()) => ok += 1,
            Err(MessageError::Retry { .. }) if rt.leave_to_ledger(&message).await => {
                left += 1;
                tracing::warn!(message_id = %message.message_id, receives = message.receive_count, "last receive before the dead-letter queue: deleted, the ledger sends the work again");
            }
            Err(e) => {
                let delay = match &e {
                    MessageError::Retry { after, .. } => {
                        retried += 1;
                        let delay = after.unwrap_or_else(|| rt.backoff.delay(message.receive_count));
                        tracing::warn!(message_id = %message.message_id, receives = message.receive_count, delay_s = delay.as_secs(), error = %e, "message will be retried");
                        rt.back_off(&message, delay).await;
                        Some(delay)
                    }
                    MessageError::Poison(_) => {
                        poisoned += 1;
                        tracing::error!(message_id = %message.message_id, receives = message.receive_count, error = %e, "poison message");
                        None
                    }
                };
                if let Some(g) = &message.group {
                    failed_groups.entry(g.clone()).or_insert(delay);
                }
                failures.push(failure(&message));
            }
        }
    }
    crate::metrics::emit(
        &crate::metrics::Record::new(&rt.service, rt.function)
            .metric("messages_done", f64::from(ok), crate::metrics::Unit::Count)
            .metric("messages_retried", f64::from(retried), crate::metrics::Unit::Count)
            .metric("messages_poisoned", f64::from(poisoned), crate::metrics::Unit::Count)
            .metric("messages_left_to_ledger", f64::from(left), crate::metrics::Unit::Count),
    );
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    serde_json::to_value(response).expect("a batch response serialises")
}

fn failure(message: &Message) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = message.message_id.clone();
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each message by its body: `ok`, `retry` or `poison`.
    struct ByBody;

    impl MessageHandler for ByBody {
        async fn handle(&self, message: &Message) -> Result<(), MessageError> {
            match message.body.as_str() {
                "ok" => Ok(()),
                "retry" => Err(MessageError::Retry {
                    after: None,
                    cause: anyhow::anyhow!("down"),
                }),
                _ => Err(MessageError::Poison(anyhow::anyhow!("never"))),
            }
        }
    }

    fn batch(messages: &[(&str, &str, u32)]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, (body, group, receives))| {
                json!({
                    "messageId": format!("m-{i}"), "receiptHandle": format!("r-{i}"), "body": body,
                    "attributes": { "ApproximateReceiveCount": receives.to_string(), "MessageGroupId": group },
                    "messageAttributes": {}, "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q.fifo",
                })
            })
            .collect();
        json!({ "Records": records })
    }

    async fn failed(rt: &SqsRuntime, messages: &[(&str, &str, u32)]) -> Vec<String> {
        let response = dispatch(rt, &ByBody, batch(messages)).await;
        response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn on_a_ledger_backed_queue_a_retry_on_the_last_receive_is_deleted_and_poison_still_fails() {
        let rt = SqsRuntime::new(crate::service::EXAMPLE, "t", None, Backoff::default())
            .with_ledger()
            .with_receive_budget(5);
        // Before the last receive a retry comes back; on it, the ledger takes over; poison fails on every receive.
        assert_eq!(failed(&rt, &[("retry", "a", 4)]).await, ["m-0"]);
        assert!(failed(&rt, &[("retry", "a", 5)]).await.is_empty());
        assert!(failed(&rt, &[("retry", "a", 9)]).await.is_empty());
        assert_eq!(failed(&rt, &[("poison", "a", 5)]).await, ["m-0"]);
        // A message held back behind its group's failure on its own last receive is the ledger's too.
        assert_eq!(
            failed(&rt, &[("retry", "a", 2), ("ok", "a", 5), ("ok", "b", 1)]).await,
            ["m-0"]
        );
        assert_eq!(failed(&rt, &[("poison", "a", 2), ("ok", "a", 5)]).await, ["m-0"]);
        assert_eq!(failed(&rt, &[("poison", "a", 2), ("ok", "a", 3)]).await, ["m-0", "m-1"]);
    }

    #[tokio::test]
    async fn without_a_ledger_a_retry_on_the_last_receive_still_fails_toward_the_dead_letter_queue() {
        let rt = SqsRuntime::new(crate::service::EXAMPLE, "t", None, Backoff::default()).with_receive_budget(5);
        assert_eq!(failed(&rt, &[("retry", "a", 5)]).await, ["m-0"]);
        assert_eq!(failed(&rt, &[("retry", "a", 1), ("ok", "a", 5)]).await, ["m-0", "m-1"]);
        // A ledger runtime that cannot learn its queue's budget never drops a message.
        let unknown = SqsRuntime::new(crate::service::EXAMPLE, "t", None, Backoff::default()).with_ledger();
        assert_eq!(failed(&unknown, &[("retry", "a", 50)]).await, ["m-0"]);
    }

    /// A record that is not an SQS message (no id, or a member of the wrong type) is skipped; the batch's other
    /// messages are still handled and only theirs can fail.
    #[tokio::test]
    async fn a_record_that_is_not_an_sqs_message_is_skipped_and_the_rest_of_the_batch_is_handled() {
        let mut event = batch(&[("retry", "a", 1), ("ok", "b", 1)]);
        let records = event["Records"].as_array_mut().unwrap();
        records.insert(0, json!({ "body": "ok", "attributes": {} }));
        records.insert(1, json!({ "messageId": "m-x", "body": 7 }));
        let parsed = messages(&event);
        assert_eq!(
            parsed.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(),
            ["m-0", "m-1"]
        );
        assert_eq!(parsed[0].group.as_deref(), Some("a"));
        assert_eq!(parsed[0].queue_arn, "arn:aws:sqs:us-east-1:000000000000:q.fifo");
        let rt = SqsRuntime::new(crate::service::EXAMPLE, "t", None, Backoff::default());
        let response = dispatch(&rt, &ByBody, event).await;
        assert_eq!(response, json!({ "batchItemFailures": [{ "itemIdentifier": "m-0" }] }));
    }

    #[test]
    fn the_event_id_attribute_and_the_receive_count_are_read_from_the_record() {
        let event = json!({ "Records": [{
            "messageId": "m-1", "receiptHandle": "r", "body": "{}",
            "attributes": { "ApproximateReceiveCount": "3" },
            "messageAttributes": { "event_id": { "stringValue": "e-42", "dataType": "String" } },
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        }]});
        let m = &messages(&event)[0];
        assert_eq!(
            (m.receive_count, m.event_id.as_deref(), m.group.as_deref()),
            (3, Some("e-42"), None)
        );
    }

    #[test]
    fn the_receive_budget_is_read_from_the_redrive_policy_as_sqs_or_a_client_writes_it() {
        assert_eq!(
            max_receive_count(r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq","maxReceiveCount":5}"#),
            Some(5)
        );
        assert_eq!(max_receive_count(r#"{"maxReceiveCount": "12"}"#), Some(12));
        assert_eq!(max_receive_count(r#"{"deadLetterTargetArn":"x"}"#), None);
        assert_eq!(max_receive_count("not json"), None);
    }

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
