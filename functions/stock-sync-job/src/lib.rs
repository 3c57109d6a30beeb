//! `stock-sync-job`: brings stock on hand and partner debt from the ERP into the copies checkout reads, at the
//! interval in `system_config` (`supply.stock_sync_interval_minutes`), and on every run the shipments and returns
//! the ERP booked since the last read: shipped lines consume their reservations and move their orders to partly
//! shipped or fulfilled.
//!
//! Stock comes first, then the movements, so that after a run every movement the snapshot includes has also been
//! read, and on hand, reserved and each order's shipped quantities agree with the ERP's book. Any other order of
//! the feeds converges to the same numbers (`supply::movements`), only a run later.
//!
//! The schedule fires every 5 minutes; a run syncs each kind only when its last success is older than the
//! interval, so changing the interval is a config change, not a deploy. An event with `{"force": true}` syncs at
//! once. Each kind is fetched and applied on its own, in one transaction: when the ERP is down, or answers
//! nonsense, the last synced data stands, the failure is recorded, and `GET /health` shows how old the data is.
//! Running twice is harmless: the second run finds nothing due, or applies the same numbers again.
//!
//! The use case is [`supply_sync::stock::sync_stock`]; this crate reads the event and hands it over. It must not
//! hold SQL, see ERP document shapes, or name the `store` and `erp` adapters (only `main.rs` wires them).

use serde_json::Value;

/// `{"force": true}` syncs whatever the interval says.
pub fn forced(event: &Value) -> bool {
    event.get("force").and_then(Value::as_bool) == Some(true)
}
