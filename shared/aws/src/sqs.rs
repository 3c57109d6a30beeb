//! Publishing events to SQS queues by their manifest names.
//!
//! Queue URLs are resolved once, at cold start, from the physical names every deployment uses
//! (`niaga-<env>-<name>`, with `.fifo` for FIFO queues). A FIFO queue gets the aggregate id as its message group, so
//! one order's events stay in order while different orders flow in parallel, and the event id as its deduplication
//! id, so a relay that publishes the same event twice within five minutes is absorbed by SQS itself. Every message
//! also carries the event id as an attribute for consumers of standard queues, which must dedupe on it.

use std::collections::BTreeMap;

/// One event as it goes on a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub event_id: String,
    pub event_type: String,
    pub group: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("queue `{0}` is not one this publisher resolved")]
    UnknownQueue(String),
    #[error("queue `{queue}` could not be resolved: {message}")]
    Resolve { queue: String, message: String },
    #[error("publishing to `{queue}` failed: {message}")]
    Send { queue: String, message: String },
}

#[derive(Debug, Clone)]
struct Queue {
    url: String,
    fifo: bool,
}

/// Sends to a fixed set of queues.
#[derive(Debug, Clone)]
pub struct Publisher {
    client: aws_sdk_sqs::Client,
    queues: BTreeMap<String, Queue>,
}

/// The physical name of a queue: `niaga-<env>-<name>`, plus `.fifo` for a FIFO queue.
pub fn queue_physical_name(env: &str, name: &str, fifo: bool) -> String {
    format!("niaga-{env}-{name}{}", if fifo { ".fifo" } else { "" })
}

impl Publisher {
    /// Resolves each `(name, fifo)` queue's URL in environment `env`.
    pub async fn resolve(
        sdk: &aws_config::SdkConfig,
        env: &str,
        queues: impl IntoIterator<Item = (String, bool)>,
    ) -> Result<Publisher, PublishError> {
        let client = aws_sdk_sqs::Client::new(sdk);
        let mut resolved = BTreeMap::new();
        for (name, fifo) in queues {
            let physical = queue_physical_name(env, &name, fifo);
            let out = client
                .get_queue_url()
                .queue_name(&physical)
                .send()
                .await
                .map_err(|e| PublishError::Resolve {
                    queue: physical.clone(),
                    message: crate::error_chain(&e),
                })?;
            let url = out.queue_url.ok_or_else(|| PublishError::Resolve {
                queue: physical.clone(),
                message: "no URL in the answer".into(),
            })?;
            resolved.insert(name, Queue { url, fifo });
        }
        Ok(Publisher {
            client,
            queues: resolved,
        })
    }

    /// Sends one event to the named queue.
    pub async fn publish(&self, queue: &str, message: &Outbound) -> Result<(), PublishError> {
        let q = self
            .queues
            .get(queue)
            .ok_or_else(|| PublishError::UnknownQueue(queue.to_string()))?;
        let attribute = |v: &str| {
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
        };
        let mut request = self
            .client
            .send_message()
            .queue_url(&q.url)
            .message_body(&message.body)
            .message_attributes(
                "event_id",
                attribute(&message.event_id).map_err(|e| send_error(queue, e))?,
            )
            .message_attributes(
                "event_type",
                attribute(&message.event_type).map_err(|e| send_error(queue, e))?,
            );
        if q.fifo {
            request = request
                .message_group_id(&message.group)
                .message_deduplication_id(&message.event_id);
        }
        request
            .send()
            .await
            .map_err(|e| send_error(queue, crate::error_chain(&e)))?;
        Ok(())
    }
}

fn send_error(queue: &str, e: impl std::fmt::Display) -> PublishError {
    PublishError::Send {
        queue: queue.to_string(),
        message: e.to_string(),
    }
}
