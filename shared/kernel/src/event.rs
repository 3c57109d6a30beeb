//! The events Niaga's outbox carries, and the envelope a relayed event travels in. Writers name their events by
//! [`EventType`]; the relay serialises an [`Envelope`] onto the queues and buses; every consumer reads the same
//! struct back, so the message's shape has one definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every kind of event the outbox carries, with its name on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    OrderPlaced,
    OrderPaid,
    OrderConfirmed,
    OrderCancelled,
    OrderExpired,
    OrderShipped,
    OrderFulfilled,
    OrderErpSyncRequested,
    BlastRequested,
    AgentJobRequested,
    ExportRequested,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 11] = [
        EventType::OrderPlaced,
        EventType::OrderPaid,
        EventType::OrderConfirmed,
        EventType::OrderCancelled,
        EventType::OrderExpired,
        EventType::OrderShipped,
        EventType::OrderFulfilled,
        EventType::OrderErpSyncRequested,
        EventType::BlastRequested,
        EventType::AgentJobRequested,
        EventType::ExportRequested,
    ];

    /// The name on the wire (`order.paid`), as stored in the outbox and routed by `niaga.json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "order.placed",
            EventType::OrderPaid => "order.paid",
            EventType::OrderConfirmed => "order.confirmed",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderExpired => "order.expired",
            EventType::OrderShipped => "order.shipped",
            EventType::OrderFulfilled => "order.fulfilled",
            EventType::OrderErpSyncRequested => "order.erp_sync_requested",
            EventType::BlastRequested => "notification.blast_requested",
            EventType::AgentJobRequested => "agent_job.requested",
            EventType::ExportRequested => "export.requested",
        }
    }

    /// The event type with this wire name, if Niaga has one.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A relayed outbox event: the body of every queue message and the detail of every bus event Niaga sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event: consumers deduplicate on it.
    pub event_id: Uuid,
    /// The wire name; [`Envelope::kind`] reads it. Kept as sent, so a consumer that meets a newer event type can
    /// skip it rather than fail on it.
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl Envelope {
    /// The event's type, `None` for a name Niaga does not know.
    pub fn kind(&self) -> Option<EventType> {
        EventType::parse(&self.event_type)
    }

    /// Reads a message body; the error says what is missing or malformed.
    pub fn from_body(body: &str) -> Result<Envelope, serde_json::Error> {
        serde_json::from_str(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_reads_back_from_its_wire_name_and_no_two_share_one() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::parse("order.refunded"), None);
    }

    #[test]
    fn an_envelope_keeps_an_unknown_event_type_as_sent_and_names_a_missing_member() {
        let body = r#"{"event_id":"5f0c6f5e-7d6b-4c43-9b5e-0d7e4b8c9a10","event_type":"order.refunded",
            "aggregate_type":"order","aggregate_id":"o-1","occurred_at":"2026-12-01T00:00:00Z","payload":{}}"#;
        let e = Envelope::from_body(body).unwrap();
        assert_eq!((e.event_type.as_str(), e.kind()), ("order.refunded", None));
        let missing = Envelope::from_body(r#"{"event_type":"order.paid"}"#).unwrap_err();
        assert!(missing.to_string().contains("event_id"), "{missing}");
    }
}
