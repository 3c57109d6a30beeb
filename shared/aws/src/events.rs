//! Announcing domain events on EventBridge: the project's own bus, one `PutEvents` entry per event. [`EventBus`]
//! implements the [`agents::EventBus`] port.
//!
//! Consumers subscribe with rules on the bus (source `niaga.<area>`, detail type per event) and dedupe on the id
//! inside the detail: an announcement is sent at least once.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// The physical name of the project's event bus in an environment: `niaga-<env>` (as terraform names it).
pub fn bus_physical_name(env: &str) -> String {
    format!("niaga-{env}")
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("EventBridge refused the call: {0}")]
    Call(String),
    #[error("EventBridge refused the event: {0}")]
    Entry(String),
}

/// Puts events on one bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBus {
    pub fn new(sdk: &aws_config::SdkConfig, env: &str) -> Self {
        EventBus {
            client: aws_sdk_eventbridge::Client::new(sdk),
            bus: bus_physical_name(env),
        }
    }

    pub fn name(&self) -> &str {
        &self.bus
    }

    /// Puts one event; `Ok` only when EventBridge accepted it.
    pub async fn announce(
        &self,
        source: &str,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> Result<(), AnnounceError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(source)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| AnnounceError::Call(crate::error_chain(&e)))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message().or(e.error_code()))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(AnnounceError::Entry(why));
        }
        Ok(())
    }
}

impl agents::EventBus for EventBus {
    async fn announce(&self, source: &str, detail_type: &str, detail: &serde_json::Value) -> anyhow::Result<()> {
        Ok(EventBus::announce(self, source, detail_type, detail).await?)
    }
}
