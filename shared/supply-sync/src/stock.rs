//! Stock on hand, shipments and returns, and partner debt from the ERP into the copies checkout reads.
//!
//! Stock comes first, then the movements, so that after a run every movement the snapshot includes has also been
//! read, and on hand, reserved and each order's shipped quantities agree with the ERP's book. Any other order of
//! the feeds converges to the same numbers (`supply::movements`), only a run later.
//!
//! Stock and balances sync only when their last success is older than `supply.stock_sync_interval_minutes`
//! (default 15), unless forced; movements are read on every run. Each kind is fetched and applied on its own: when
//! the ERP is down, or answers nonsense, the last synced data stands, the failure is recorded, and health shows how
//! old the data is. Running twice is harmless: the second run finds nothing due, or applies the same numbers again.

use crate::{ErpClient, SyncLedger};
use serde_json::{json, Value};
use settings::SettingsSource;

/// One run at `now`.
pub async fn sync_stock(
    erp: &impl ErpClient,
    sync: &impl SyncLedger,
    settings: &impl SettingsSource,
    force: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let minutes = settings
        .ints("supply.stock_sync_interval_minutes")
        .await?
        .get("supply.stock_sync_interval_minutes")
        .copied()
        .unwrap_or(15);
    let interval = chrono::Duration::minutes(minutes);
    let mut report = json!({ "interval_minutes": minutes });

    if force || sync.due("stock", interval, now).await? {
        report["stock"] = match erp.stock().await {
            Ok(snap) => match snap.seq {
                Some(seq) => {
                    let rows: Vec<(String, String, u32)> = snap
                        .rows
                        .iter()
                        .map(|r| (r.warehouse.clone(), r.sku.to_string(), r.on_hand))
                        .collect();
                    let applied = sync.apply_stock(snap.as_of, seq, &rows, snap.skipped).await?;
                    json!({ "applied": applied.rows, "short": applied.short, "stale": applied.stale,
                            "skipped": snap.skipped, "as_of": snap.as_of, "seq": seq })
                }
                None => {
                    let e = "the stock feed does not say which movements its counts include (no Urutan)";
                    tracing::warn!(error = e, "stock sync refused; the last synced stock stands");
                    sync.failed("stock", e).await?;
                    json!({ "error": e })
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "stock sync failed; the last synced stock stands");
                sync.failed("stock", &e.to_string()).await?;
                json!({ "error": e.to_string() })
            }
        };
    }
    let cursor = sync.movement_cursor().await?;
    report["movements"] = match erp.movements(cursor).await {
        Ok(feed) => {
            let last = feed.rows.iter().map(|m| m.seq).chain(feed.seq).max().unwrap_or(cursor);
            let applied = sync.apply_movements(feed.as_of, last, &feed.rows, feed.skipped).await?;
            json!({ "applied": applied.applied, "already": applied.already, "consumed": applied.consumed,
                    "orders_moved": applied.orders_moved, "unmatched_lines": applied.unmatched_lines,
                    "skipped": feed.skipped, "seq": applied.seq })
        }
        Err(e) => {
            tracing::warn!(error = %e, "movement sync failed; shipments are read on the next run");
            sync.failed("movements", &e.to_string()).await?;
            json!({ "error": e.to_string() })
        }
    };
    if force || sync.due("balances", interval, now).await? {
        report["balances"] = match erp.balances().await {
            Ok(snap) => {
                let rows: Vec<(i64, i64)> = snap
                    .rows
                    .iter()
                    .map(|r| (r.partner_id, r.outstanding.minor()))
                    .collect();
                let applied = sync.apply_balances(snap.as_of, &rows, snap.skipped).await?;
                json!({ "applied": applied.rows, "skipped": snap.skipped, "as_of": snap.as_of })
            }
            Err(e) => {
                tracing::warn!(error = %e, "balance sync failed; the last synced debt stands");
                sync.failed("balances", &e.to_string()).await?;
                json!({ "error": e.to_string() })
            }
        };
    }
    Ok(report)
}
