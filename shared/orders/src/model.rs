//! Orders as the store keeps them and as clients see them.

use crate::status::OrderStatus;
use chrono::{DateTime, Utc};
use commercial::Ppn;
use kernel::{Money, Sku, Tier};
use serde::Serialize;
use uuid::Uuid;

/// One line of an order: a SKU from one warehouse at one price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OrderLine {
    pub sku: Sku,
    pub warehouse: String,
    pub quantity: u32,
    pub list_price: Money,
    pub unit_price: Money,
    pub line_total: Money,
    /// Units the ERP has shipped; the rest (`quantity - shipped`) is still reserved while the order is live.
    pub shipped: u32,
    /// Units that came back into stock (never more than shipped).
    pub returned: u32,
}

/// An order with its lines: what the store writes and reads, and (serialised) what the API returns.
///
/// Money fields are whole rupiah (`currency` is always IDR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Order {
    pub id: Uuid,
    pub status: OrderStatus,
    pub partner_id: i64,
    pub tier: Tier,
    /// The subject who placed it (a partner, or the sales agent acting for the partner).
    pub placed_by: String,
    /// Set when a sales agent placed the order for the partner.
    pub placed_by_agent: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub payment_due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub lines: Vec<OrderLine>,
    pub list_total: Money,
    pub discount: Money,
    /// The selling price (harga jual): Σ line totals, PPN excluded.
    pub total: Money,
    /// The PPN invoiced on `total`, fixed when the order was placed; `total_incl_tax` is what the partner owes.
    #[serde(flatten)]
    pub tax: Ppn,
    pub currency: kernel::Currency,
    /// Days of credit for an order on payment terms (confirmed without the gateway, invoiced by the ERP);
    /// absent when the order is paid through the gateway.
    pub payment_terms_days: Option<u32>,
    pub promised_sla_hours: u32,
    /// The ERP's order number, once the ERP has the order.
    pub erp_order_no: Option<String>,
}

impl Order {
    /// Warehouses shipping this order, in order, without repeats.
    pub fn warehouses(&self) -> Vec<&str> {
        let mut w: Vec<&str> = self.lines.iter().map(|l| l.warehouse.as_str()).collect();
        w.sort_unstable();
        w.dedup();
        w
    }

    /// The reservations this order holds: (sku, warehouse, quantity).
    pub fn reservations(&self) -> Vec<(Sku, String, u32)> {
        self.lines
            .iter()
            .map(|l| (l.sku.clone(), l.warehouse.clone(), l.quantity))
            .collect()
    }
}

/// A row of `GET /orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OrderSummary {
    pub id: Uuid,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub total: Money,
    /// `total` plus its PPN: what the partner owes.
    pub total_incl_tax: Money,
    pub currency: kernel::Currency,
    pub placed_by_agent: Option<String>,
}

/// An event for the outbox, written in the transaction that caused it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    pub event_type: &'static str,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
}

impl OutboxEvent {
    pub const PLACED: &'static str = kernel::EventType::OrderPlaced.as_str();
    pub const PAID: &'static str = kernel::EventType::OrderPaid.as_str();
    /// A terms order, confirmed without payment: it goes to the ERP at once, like a paid one.
    pub const CONFIRMED: &'static str = kernel::EventType::OrderConfirmed.as_str();
    pub const CANCELLED: &'static str = kernel::EventType::OrderCancelled.as_str();
    pub const EXPIRED: &'static str = kernel::EventType::OrderExpired.as_str();
    /// The ERP shipped some of the order (a delivery note), and more is to come.
    pub const SHIPPED: &'static str = kernel::EventType::OrderShipped.as_str();
    /// The ERP shipped the last unit.
    pub const FULFILLED: &'static str = kernel::EventType::OrderFulfilled.as_str();
    /// The ERP ledger's nudge: the order must reach the ERP and has not been confirmed there yet. It goes only to
    /// the ERP sync queue (a second `order.paid` would notify the partner again).
    pub const ERP_SYNC_REQUESTED: &'static str = kernel::EventType::OrderErpSyncRequested.as_str();

    pub fn for_order(event_type: &'static str, order: &Order) -> OutboxEvent {
        OutboxEvent {
            event_type,
            aggregate_id: order.id,
            payload: serde_json::json!({
                "order_id": order.id,
                "partner_id": order.partner_id,
                "status": order.status,
                "total": order.total,
                "ppn": order.tax.ppn,
                "total_incl_tax": order.tax.total_incl_tax,
                "payment_terms_days": order.payment_terms_days,
                "currency": order.currency,
                "placed_by": order.placed_by,
                "placed_by_agent": order.placed_by_agent,
                "lines": order.lines.iter().map(|l| serde_json::json!({
                    "sku": l.sku, "warehouse": l.warehouse, "quantity": l.quantity, "unit_price": l.unit_price,
                })).collect::<Vec<_>>(),
            }),
        }
    }
}

/// One audit-log row: who did what to which subject, and for which partner when acting for one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub actor: String,
    pub acting_for: Option<String>,
    pub action: &'static str,
    pub subject: String,
    pub detail: serde_json::Value,
}
