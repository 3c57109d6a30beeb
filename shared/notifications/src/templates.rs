//! The messages partners get: what each order event says, in Indonesian, and which blast a blast event names.

use crate::model::Notification;
use kernel::{Envelope, EventType};
use serde_json::Value;

/// The notification an outbox event asks for, if any. `Err` when the body is not an outbox event at all.
pub fn render(body: &str) -> Result<Option<(uuid::Uuid, Notification)>, String> {
    let event = Envelope::from_body(body).map_err(|e| format!("not an outbox event: {e}"))?;
    let (event_id, payload, order) = (event.event_id, &event.payload, &event.aggregate_id);
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
    let (kind, subject, text) = match event.kind() {
        Some(EventType::OrderPlaced) => (
            "order_received",
            format!("Pesanan {order} diterima"),
            format!("Pesanan {order} senilai Rp {total} diterima. Silakan lakukan pembayaran sebelum batas waktu."),
        ),
        Some(EventType::OrderConfirmed) => (
            "order_confirmed",
            format!("Pesanan {order} dikonfirmasi"),
            format!(
                "Pesanan {order} senilai Rp {total} dikonfirmasi dengan tempo pembayaran {} hari; tagihan menyusul.",
                payload.get("payment_terms_days").and_then(Value::as_i64).unwrap_or(0)
            ),
        ),
        Some(EventType::OrderPaid) => (
            "payment_received",
            format!("Pembayaran pesanan {order} diterima"),
            format!("Pembayaran Rp {total} untuk pesanan {order} sudah kami terima; pesanan sedang diproses."),
        ),
        Some(EventType::OrderCancelled) => (
            "order_cancelled",
            format!("Pesanan {order} dibatalkan"),
            format!("Pesanan {order} dibatalkan dan stoknya dilepas."),
        ),
        Some(EventType::OrderExpired) => (
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
    let event = Envelope::from_body(body).ok()?;
    (event.kind() == Some(EventType::BlastRequested)).then(|| {
        event
            .payload
            .get("blast_id")
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| "no `payload.blast_id` UUID".to_string())
    })
}
