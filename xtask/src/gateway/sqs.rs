//! The local SQS event-source mapping: long-poll a queue, hand each batch to a function as a real `SqsEvent`,
//! and delete what succeeded, honouring `ReportBatchItemFailures` the way Lambda does:
//!
//! - a function error (or an invoke that never reached the function) deletes nothing;
//! - a `batchItemFailures` list deletes every message not listed;
//! - an `itemIdentifier` that is missing, empty or not a message id of the batch fails the whole batch;
//! - a response that is not an object (or `null`) fails the whole batch;
//! - anything else (`null`, `{}`, an empty or `null` list) deletes the whole batch.
//!
//! Messages that are not deleted become visible again after the queue's visibility timeout.

use crate::localrt::{FunctionError, Invoker, ACCOUNT_ID, REGION};
use anyhow::{Context, Result};
use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a failing poller waits before trying again.
const ERROR_BACKOFF: Duration = Duration::from_secs(3);

/// `arn:aws:sqs:us-east-1:000000000000:<physical name>`.
pub fn queue_arn(physical_name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical_name}")
}

/// One event-source mapping: which queue feeds which function, and how.
#[derive(Debug, Clone)]
pub struct SqsSource {
    pub function: String,
    pub queue_url: String,
    /// The `eventSourceARN` written into each record.
    pub queue_arn: String,
    /// Messages per batch, 1-10.
    pub batch_size: i32,
    /// Batches in flight at once (independent poll workers).
    pub max_concurrency: usize,
    /// ReceiveMessage long-poll wait, seconds.
    pub wait_time_s: i32,
}

impl SqsSource {
    /// Batches of up to 10, two in flight, 1 s long polls.
    pub fn new(function: impl Into<String>, queue_url: impl Into<String>, queue_arn: impl Into<String>) -> Self {
        SqsSource {
            function: function.into(),
            queue_url: queue_url.into(),
            queue_arn: queue_arn.into(),
            batch_size: 10,
            max_concurrency: 2,
            wait_time_s: 1,
        }
    }

    pub fn with_batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = batch_size.clamp(1, 10) as i32;
        self
    }

    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency.max(1);
        self
    }

    pub fn with_wait_time_s(mut self, wait_time_s: u32) -> Self {
        self.wait_time_s = wait_time_s.min(20) as i32;
        self
    }
}

/// What to delete after an invocation, by message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The batch succeeded.
    DeleteAll,
    /// Partial failure: keep these message ids, delete the rest.
    KeepOnly(HashSet<String>),
    /// The batch failed as a whole; the reason is for logs.
    DeleteNone(String),
}

/// Decides what to delete from the function's result, like Lambda's `ReportBatchItemFailures`.
pub fn settle(message_ids: &[String], response: &Result<Value, FunctionError>) -> Settlement {
    let value = match response {
        Err(e) => return Settlement::DeleteNone(format!("function error {e}")),
        Ok(v) => v,
    };
    let object = match value {
        Value::Null => return Settlement::DeleteAll,
        Value::Object(o) => o,
        other => return Settlement::DeleteNone(format!("invalid batch response {other}")),
    };
    let failures = match object.get("batchItemFailures") {
        None | Some(Value::Null) => return Settlement::DeleteAll,
        Some(Value::Array(items)) => items,
        Some(other) => return Settlement::DeleteNone(format!("batchItemFailures is not a list: {other}")),
    };
    if failures.is_empty() {
        return Settlement::DeleteAll;
    }
    let batch: HashSet<&str> = message_ids.iter().map(String::as_str).collect();
    let mut keep = HashSet::new();
    for failure in failures {
        match failure.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && batch.contains(id) => {
                keep.insert(id.to_string());
            }
            _ => return Settlement::DeleteNone(format!("invalid batch item failure {failure}")),
        }
    }
    Settlement::KeepOnly(keep)
}

/// The Lambda event for a received batch.
pub fn build_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(|m| record(m, queue_arn)).collect();
    event
}

fn record(message: &Message, queue_arn: &str) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = message.message_id().map(str::to_string);
    r.receipt_handle = message.receipt_handle().map(str::to_string);
    r.body = message.body().map(str::to_string);
    r.md5_of_body = message.md5_of_body().map(str::to_string);
    r.md5_of_message_attributes = message.md5_of_message_attributes().map(str::to_string);
    r.attributes = message
        .attributes()
        .map(|attrs| attrs.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
        .unwrap_or_default();
    r.message_attributes = message
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(name, value)| {
                    let mut a = SqsMessageAttribute::default();
                    a.string_value = value.string_value().map(str::to_string);
                    a.binary_value = value.binary_value().map(|b| base64_data(b.as_ref()));
                    a.string_list_values = value.string_list_values().to_vec();
                    a.binary_list_values = value
                        .binary_list_values()
                        .iter()
                        .map(|b| base64_data(b.as_ref()))
                        .collect();
                    a.data_type = Some(value.data_type().to_string());
                    (name.clone(), a)
                })
                .collect::<HashMap<_, _>>()
        })
        .unwrap_or_default();
    r.event_source = Some("aws:sqs".into());
    r.event_source_arn = Some(queue_arn.to_string());
    r.aws_region = Some(REGION.into());
    r
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub received: usize,
    /// Message ids deleted.
    pub deleted: Vec<String>,
    /// Message ids left on the queue.
    pub kept: Vec<String>,
    /// Why messages were kept, when they were.
    pub failure: Option<String>,
}

/// Receives one batch (waiting up to `wait_time_s`), invokes the function, deletes what succeeded.
pub async fn poll_once(client: &aws_sdk_sqs::Client, invoker: &dyn Invoker, source: &SqsSource) -> Result<BatchReport> {
    let received = client
        .receive_message()
        .queue_url(&source.queue_url)
        .max_number_of_messages(source.batch_size.clamp(1, 10))
        .wait_time_seconds(source.wait_time_s)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .with_context(|| format!("ReceiveMessage on {}", source.queue_url))?;
    let messages = received.messages();
    if messages.is_empty() {
        return Ok(BatchReport::default());
    }
    let ids: Vec<String> = messages
        .iter()
        .map(|m| m.message_id().unwrap_or_default().to_string())
        .collect();
    let event = build_event(messages, &source.queue_arn);
    let payload = serde_json::to_value(&event).context("serialising the SqsEvent")?;
    let settlement = match invoker.invoke(&source.function, payload, None).await {
        Ok(invocation) => settle(&ids, &invocation.response),
        Err(e) => Settlement::DeleteNone(format!("invoke failed: {e}")),
    };
    let (to_delete, failure): (Vec<&Message>, Option<String>) = match &settlement {
        Settlement::DeleteAll => (messages.iter().collect(), None),
        Settlement::KeepOnly(keep) => (
            messages
                .iter()
                .filter(|m| !keep.contains(m.message_id().unwrap_or_default()))
                .collect(),
            Some(format!("{} item failure(s) reported", keep.len())),
        ),
        Settlement::DeleteNone(why) => (Vec::new(), Some(why.clone())),
    };
    let mut deleted = Vec::new();
    for chunk in to_delete.chunks(10) {
        let mut request = client.delete_message_batch().queue_url(&source.queue_url);
        for (i, m) in chunk.iter().enumerate() {
            let entry = DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
                .context("building a DeleteMessageBatch entry")?;
            request = request.entries(entry);
        }
        let out = request
            .send()
            .await
            .with_context(|| format!("DeleteMessageBatch on {}", source.queue_url))?;
        for failed in out.failed() {
            tracing::warn!(queue = %source.queue_url, id = %failed.id(), code = %failed.code(), "delete failed");
        }
        let failed: HashSet<&str> = out.failed().iter().map(|f| f.id()).collect();
        for (i, m) in chunk.iter().enumerate() {
            if !failed.contains(i.to_string().as_str()) {
                deleted.push(m.message_id().unwrap_or_default().to_string());
            }
        }
    }
    let kept = ids.iter().filter(|id| !deleted.contains(id)).cloned().collect();
    Ok(BatchReport {
        received: ids.len(),
        deleted,
        kept,
        failure,
    })
}

/// Polls until `shutdown` turns true, with `max_concurrency` workers each running [`poll_once`] in a loop.
/// A batch in flight when shutdown comes is finished, not abandoned.
pub async fn run_poller(
    client: aws_sdk_sqs::Client,
    invoker: Arc<dyn Invoker>,
    source: SqsSource,
    shutdown: watch::Receiver<bool>,
) {
    let source = Arc::new(source);
    let workers: Vec<_> = (0..source.max_concurrency.max(1))
        .map(|worker| {
            let (client, invoker, source, shutdown) =
                (client.clone(), invoker.clone(), source.clone(), shutdown.clone());
            tokio::spawn(worker_loop(worker, client, invoker, source, shutdown))
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
}

async fn worker_loop(
    worker: usize,
    client: aws_sdk_sqs::Client,
    invoker: Arc<dyn Invoker>,
    source: Arc<SqsSource>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match poll_once(&client, invoker.as_ref(), &source).await {
            Ok(report) if report.received == 0 => {}
            Ok(report) => tracing::info!(
                function = %source.function,
                worker,
                received = report.received,
                deleted = report.deleted.len(),
                kept = report.kept.len(),
                failure = report.failure.as_deref().unwrap_or(""),
                "sqs batch"
            ),
            Err(e) => {
                tracing::warn!(function = %source.function, error = format!("{e:#}"), "sqs poll failed");
                tokio::select! {
                    _ = tokio::time::sleep(ERROR_BACKOFF) => {}
                    _ = shutdown.wait_for(|s| *s) => {}
                }
            }
        }
    }
}

/// For a manifest function: resolve the queue URL by physical name (retrying until the queue exists), then
/// [`run_poller`].
pub async fn run_manifest_poller(
    client: aws_sdk_sqs::Client,
    invoker: Arc<dyn Invoker>,
    physical_name: String,
    mut source: SqsSource,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut warned = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        match client.get_queue_url().queue_name(&physical_name).send().await {
            Ok(out) if out.queue_url().is_some() => {
                source.queue_url = out.queue_url().unwrap_or_default().to_string();
                break;
            }
            other => {
                if !warned {
                    let why = other
                        .err()
                        .map(|e| format!("{:#}", anyhow::Error::new(e)))
                        .unwrap_or_default();
                    tracing::warn!(queue = %physical_name, function = %source.function, %why, "queue not found yet; retrying");
                    warned = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(ERROR_BACKOFF) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
    tracing::info!(queue = %source.queue_url, function = %source.function, "sqs poller started");
    run_poller(client, invoker, source, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn success_shapes_delete_the_whole_batch() {
        for response in [
            json!(null),
            json!({}),
            json!({"batchItemFailures": []}),
            json!({"batchItemFailures": null}),
        ] {
            assert_eq!(
                settle(&ids(), &Ok(response.clone())),
                Settlement::DeleteAll,
                "{response}"
            );
        }
    }

    #[test]
    fn listed_failures_are_kept_and_the_rest_deleted() {
        let s = settle(&ids(), &Ok(json!({"batchItemFailures": [{"itemIdentifier": "b"}]})));
        assert_eq!(s, Settlement::KeepOnly(HashSet::from(["b".to_string()])));
    }

    #[test]
    fn a_function_error_or_a_bad_identifier_fails_the_whole_batch() {
        let bad = [
            json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemId": "a"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "nope"}]}),
            json!({"batchItemFailures": "a"}),
            json!("ok"),
        ];
        for response in bad {
            assert!(
                matches!(settle(&ids(), &Ok(response.clone())), Settlement::DeleteNone(_)),
                "{response}"
            );
        }
        let err = Err(FunctionError::new("Unhandled", "boom"));
        assert!(matches!(settle(&ids(), &err), Settlement::DeleteNone(_)));
    }

    #[test]
    fn records_carry_lambda_s_fields() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("rh")
            .body("hello")
            .md5_of_body("5d41402abc4b2a76b9719d911017c592")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .attributes(MessageSystemAttributeName::MessageGroupId, "g")
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("x")
                    .build()
                    .unwrap(),
            )
            .build();
        let event = serde_json::to_value(build_event(&[message], &queue_arn("niaga-local-q"))).unwrap();
        let r = &event["Records"][0];
        assert_eq!(r["messageId"], "m1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:us-east-1:000000000000:niaga-local-q");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(r["attributes"]["MessageGroupId"], "g");
        assert_eq!(r["messageAttributes"]["kind"]["stringValue"], "x");
        assert_eq!(r["messageAttributes"]["kind"]["dataType"], "String");
    }
}
