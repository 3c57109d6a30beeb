//! The synced copies of ERP data that checkout reads: stock on hand per (warehouse, SKU) and partner debt, the
//! shipments and returns the ERP booked for Niaga's orders, and the sync state saying when each last succeeded.
//!
//! Each feed is applied in one transaction: all of it or none. The rules for stock are supply's
//! ([`supply::movements`]): a shipment consumes its order line's reservation and, unless the row's count already
//! includes it, takes the units off on hand; a return puts them back; a snapshot sets on hand to the ERP's count
//! less what moved after it. On hand is the ERP's count told honestly, even below what is reserved (sellable is
//! then zero); such rows are counted as short.
//!
//! Locks: inventory rows first, in (sku, warehouse) order like checkout, then the orders a feed touches, in id
//! order. Checkout, cancellation and expiry take an order's inventory rows in the same order, and no other path
//! locks an order that a shipment can touch (a shipment is only ever for an order the ERP has, so paid or later)
//! while holding inventory rows.

use crate::pool::{describe, Db};
use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use orders::{OrderEvent, OrderStatus, OutboxEvent};
use std::collections::{BTreeMap, BTreeSet};
use supply::movements::{self as rules, Movement, MovementKind};
use supply_sync::{Applied, MovementsApplied, SyncLedger, SyncStatus};
use tokio_postgres::types::Type;
use tokio_postgres::Transaction;

/// One inventory row as a feed reads and writes it.
#[derive(Debug, Clone, Copy)]
struct Row {
    on_hand: u32,
    reserved: u32,
    erp_seq: u64,
    changed: bool,
}

/// One order line as a shipment or return moves it.
#[derive(Debug, Clone)]
struct Line {
    line_no: i32,
    sku: String,
    warehouse: String,
    quantity: u32,
    unit_price: i64,
    shipped: u32,
    returned: u32,
    changed: bool,
}

#[derive(Debug, Clone)]
pub struct PgErpSync {
    db: Db,
}

fn q(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

impl PgErpSync {
    pub fn new(db: Db) -> Self {
        PgErpSync { db }
    }
}

impl SyncLedger for PgErpSync {
    /// True when `kind` last succeeded longer than `interval` ago (or never).
    async fn due(&self, kind: &str, interval: chrono::Duration, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let client = self.db.read_client().await?;
        let last: Option<DateTime<Utc>> = client
            .query_typed_one(
                "SELECT last_success_at FROM erp_sync_state WHERE kind = $1",
                &[(&kind, Type::TEXT)],
            )
            .await
            .map_err(q)?
            .get(0);
        Ok(last.is_none_or(|t| now - t >= interval))
    }

    /// The movement feed's cursor: the last ERP movement (`Urutan`) read.
    async fn movement_cursor(&self) -> anyhow::Result<u64> {
        let client = self.db.write_client().await?;
        let seq: i64 = client
            .query_typed_one("SELECT seq FROM erp_sync_state WHERE kind = 'movements'", &[])
            .await
            .map_err(q)?
            .get(0);
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// Applies shipments and returns the ERP booked, in one transaction, each movement once (by its document
    /// number): a shipment consumes what it shipped of its order line's reservation, moves the order to partly
    /// shipped or fulfilled (with an outbox event), and takes the units off on hand unless the row's count already
    /// includes it; a return puts units back the same way. `feed_seq` is the last movement the ERP had booked when
    /// it answered: the cursor moves to it.
    async fn apply_movements(
        &self,
        as_of: DateTime<Utc>,
        feed_seq: u64,
        movements: &[Movement],
        skipped: usize,
    ) -> anyhow::Result<MovementsApplied> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(q)?;
        let mut report = MovementsApplied::default();
        let keys: BTreeSet<(String, String)> = movements
            .iter()
            .flat_map(|m| {
                m.lines
                    .iter()
                    .map(|l| (l.sku.as_str().to_string(), l.warehouse.clone()))
            })
            .collect();
        let mut rows = lock_rows(&tx, &keys).await?;
        let mut ordered: Vec<&Movement> = movements.iter().collect();
        ordered.sort_by_key(|m| m.seq);
        // Orders in id order, after the inventory rows.
        let order_ids: BTreeSet<uuid::Uuid> = ordered
            .iter()
            .filter_map(|m| m.order_ref.as_deref().and_then(|r| uuid::Uuid::parse_str(r).ok()))
            .collect();
        let mut orders = BTreeMap::new();
        for id in order_ids {
            if let Some(o) = lock_order(&tx, id).await? {
                orders.insert(id, o);
            }
        }
        for m in ordered {
            let fresh = tx
                .execute_typed(
                    "INSERT INTO erp_movements (document_no, kind, seq, order_id) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (document_no) DO NOTHING",
                    &[
                        (&m.document_no, Type::TEXT),
                        (&m.kind.as_str(), Type::TEXT),
                        (&seq_i64(m.seq)?, Type::INT8),
                        (
                            &m.order_ref.as_deref().and_then(|r| uuid::Uuid::parse_str(r).ok()),
                            Type::UUID,
                        ),
                    ],
                )
                .await
                .map_err(q)?;
            if fresh == 0 {
                report.already += 1;
                continue;
            }
            report.applied += 1;
            let order = m
                .order_ref
                .as_deref()
                .and_then(|r| uuid::Uuid::parse_str(r).ok())
                .and_then(|id| orders.get_mut(&id));
            apply_movement(&tx, m, as_of, &mut rows, order, &mut report).await?;
        }
        for o in orders.values() {
            if o.moved {
                report.orders_moved += 1;
            }
        }
        write_orders(&tx, &orders, as_of).await?;
        write_rows(&tx, &rows).await?;
        let cursor = movements.iter().map(|m| m.seq).chain([feed_seq]).max().unwrap_or(0);
        let row: i64 = tx
            .query_typed_one(
                "UPDATE erp_sync_state SET last_attempt_at = now(), last_success_at = now(), as_of = $1,
                        rows_applied = $2, rows_skipped = $3, last_error = NULL, seq = greatest(seq, $4)
                 WHERE kind = 'movements' RETURNING seq",
                &[
                    (&as_of, Type::TIMESTAMPTZ),
                    (&i32::try_from(report.applied).unwrap_or(i32::MAX), Type::INT4),
                    (&i32::try_from(skipped).unwrap_or(i32::MAX), Type::INT4),
                    (&seq_i64(cursor)?, Type::INT8),
                ],
            )
            .await
            .map_err(q)?
            .get(0);
        report.seq = u64::try_from(row).unwrap_or(0);
        tx.commit().await.map_err(q)?;
        Ok(report)
    }

    /// Sets on hand for each (warehouse, sku, on_hand) row of an ERP snapshot whose counts include movements up to
    /// `snapshot_seq`, in one transaction: the ERP's count less what moved after it that Niaga already applied. A
    /// row whose count already includes a later movement keeps it (the snapshot is stale for that row).
    async fn apply_stock(
        &self,
        as_of: DateTime<Utc>,
        snapshot_seq: u64,
        rows: &[(String, String, u32)],
        skipped: usize,
    ) -> anyhow::Result<Applied> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(q)?;
        let keys: BTreeSet<(String, String)> = rows.iter().map(|(w, s, _)| (s.clone(), w.clone())).collect();
        let mut locked = lock_rows(&tx, &keys).await?;
        // What moved after the snapshot, per row, that this database has already applied.
        let (skus, warehouses): (Vec<&str>, Vec<&str>) = keys.iter().map(|(s, w)| (s.as_str(), w.as_str())).unzip();
        let after: BTreeMap<(String, String), (u64, u64)> = tx
            .query_typed(
                "SELECT l.sku, l.warehouse_code,
                        coalesce(sum(l.quantity) FILTER (WHERE l.kind = 'shipment'), 0)::int8,
                        coalesce(sum(l.quantity) FILTER (WHERE l.kind = 'return'), 0)::int8
                 FROM erp_movement_lines l JOIN unnest($1::text[], $2::text[]) AS x(s, w)
                   ON l.sku = x.s AND l.warehouse_code = x.w
                 WHERE l.seq > $3 GROUP BY l.sku, l.warehouse_code",
                &[
                    (&skus, Type::TEXT_ARRAY),
                    (&warehouses, Type::TEXT_ARRAY),
                    (&seq_i64(snapshot_seq)?, Type::INT8),
                ],
            )
            .await
            .map_err(q)?
            .iter()
            .map(|r| {
                let n = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
                ((r.get(0), r.get(1)), (n(2), n(3)))
            })
            .collect();
        let mut applied = Applied::default();
        for (warehouse, sku, erp_on_hand) in rows {
            let key = (sku.clone(), warehouse.clone());
            let Some(row) = locked.get_mut(&key) else { continue };
            if !rules::snapshot_is_current(snapshot_seq, row.erp_seq) {
                applied.stale += 1;
                continue;
            }
            let (shipped, returned) = after.get(&key).copied().unwrap_or((0, 0));
            row.on_hand = rules::on_hand_from_snapshot(*erp_on_hand, shipped, returned);
            row.erp_seq = snapshot_seq;
            row.changed = true;
            applied.rows += 1;
            if row.on_hand < row.reserved {
                applied.short += 1;
            }
        }
        write_rows(&tx, &locked).await?;
        tx.execute_typed(
            "UPDATE inventory SET erp_synced_at = $1 WHERE (sku, warehouse_code) IN
               (SELECT * FROM unnest($2::text[], $3::text[]))",
            &[
                (&as_of, Type::TIMESTAMPTZ),
                (&skus, Type::TEXT_ARRAY),
                (&warehouses, Type::TEXT_ARRAY),
            ],
        )
        .await
        .map_err(q)?;
        succeeded(&tx, "stock", as_of, applied.rows, skipped).await?;
        tx.commit().await.map_err(q)?;
        Ok(applied)
    }

    /// Sets each partner's outstanding debt (negative balances, credits, count as no debt), in one transaction.
    async fn apply_balances(
        &self,
        as_of: DateTime<Utc>,
        rows: &[(i64, i64)],
        skipped: usize,
    ) -> anyhow::Result<Applied> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(q)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let debts: Vec<i64> = rows.iter().map(|r| r.1.max(0)).collect();
        let n = tx
            .execute_typed(
                "UPDATE partners p SET erp_debt = x.d, erp_synced_at = $3
                 FROM unnest($1::int8[], $2::int8[]) AS x(id, d) WHERE p.id = x.id",
                &[
                    (&ids, Type::INT8_ARRAY),
                    (&debts, Type::INT8_ARRAY),
                    (&as_of, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .map_err(q)?;
        let applied = Applied {
            rows: n as usize,
            ..Applied::default()
        };
        succeeded(&tx, "balances", as_of, applied.rows, skipped).await?;
        tx.commit().await.map_err(q)?;
        Ok(applied)
    }

    /// Records a failed attempt; the synced data is left as it was.
    async fn failed(&self, kind: &str, error: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE erp_sync_state SET last_attempt_at = now(), last_error = $2 WHERE kind = $1",
                &[(&kind, Type::TEXT), (&error, Type::TEXT)],
            )
            .await
            .map_err(q)?;
        Ok(())
    }

    async fn status(&self) -> anyhow::Result<Vec<SyncStatus>> {
        let client = self.db.read_client().await?;
        let rows = client
            .query_typed(
                "SELECT kind, last_attempt_at, last_success_at, as_of, last_error FROM erp_sync_state ORDER BY kind",
                &[],
            )
            .await
            .map_err(q)?;
        Ok(rows
            .iter()
            .map(|r| SyncStatus {
                kind: r.get(0),
                last_attempt_at: r.get(1),
                last_success_at: r.get(2),
                as_of: r.get(3),
                last_error: r.get(4),
            })
            .collect())
    }
}

fn seq_i64(seq: u64) -> anyhow::Result<i64> {
    i64::try_from(seq).map_err(|_| anyhow!("ERP movement number {seq} is out of range"))
}

/// Locks the inventory rows of `keys` ((sku, warehouse) pairs) in (sku, warehouse) order, the order checkout uses.
/// Pairs Niaga does not stock are absent from the answer.
async fn lock_rows(
    tx: &Transaction<'_>,
    keys: &BTreeSet<(String, String)>,
) -> anyhow::Result<BTreeMap<(String, String), Row>> {
    let (skus, warehouses): (Vec<&str>, Vec<&str>) = keys.iter().map(|(s, w)| (s.as_str(), w.as_str())).unzip();
    tx.query_typed(
        "SELECT i.sku, i.warehouse_code, i.on_hand, i.reserved, i.erp_seq
         FROM inventory i JOIN unnest($1::text[], $2::text[]) AS x(s, w) ON i.sku = x.s AND i.warehouse_code = x.w
         ORDER BY i.sku, i.warehouse_code FOR UPDATE OF i",
        &[(&skus, Type::TEXT_ARRAY), (&warehouses, Type::TEXT_ARRAY)],
    )
    .await
    .map_err(q)?
    .iter()
    .map(|r| {
        let row = Row {
            on_hand: u32::try_from(r.get::<_, i32>(2)).context("on_hand")?,
            reserved: u32::try_from(r.get::<_, i32>(3)).context("reserved")?,
            erp_seq: u64::try_from(r.get::<_, i64>(4)).context("erp_seq")?,
            changed: false,
        };
        Ok(((r.get(0), r.get(1)), row))
    })
    .collect()
}

async fn write_rows(tx: &Transaction<'_>, rows: &BTreeMap<(String, String), Row>) -> anyhow::Result<()> {
    let changed: Vec<(&(String, String), &Row)> = rows.iter().filter(|(_, r)| r.changed).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let skus: Vec<&str> = changed.iter().map(|(k, _)| k.0.as_str()).collect();
    let warehouses: Vec<&str> = changed.iter().map(|(k, _)| k.1.as_str()).collect();
    let on_hand: Vec<i32> = changed
        .iter()
        .map(|(_, r)| i32::try_from(r.on_hand).unwrap_or(i32::MAX))
        .collect();
    let reserved: Vec<i32> = changed
        .iter()
        .map(|(_, r)| i32::try_from(r.reserved).unwrap_or(i32::MAX))
        .collect();
    let seqs: Vec<i64> = changed
        .iter()
        .map(|(_, r)| i64::try_from(r.erp_seq).unwrap_or(i64::MAX))
        .collect();
    tx.execute_typed(
        "UPDATE inventory i SET on_hand = x.o, reserved = x.r, erp_seq = x.q, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::int8[]) AS x(s, w, o, r, q)
         WHERE i.sku = x.s AND i.warehouse_code = x.w",
        &[
            (&skus, Type::TEXT_ARRAY),
            (&warehouses, Type::TEXT_ARRAY),
            (&on_hand, Type::INT4_ARRAY),
            (&reserved, Type::INT4_ARRAY),
            (&seqs, Type::INT8_ARRAY),
        ],
    )
    .await
    .map_err(q)?;
    Ok(())
}

/// An order as a movement feed moves it.
#[derive(Debug)]
struct LockedOrder {
    id: uuid::Uuid,
    placed_at: DateTime<Utc>,
    status: OrderStatus,
    lines: Vec<Line>,
    /// The status changed, and events to append.
    moved: bool,
    events: Vec<(&'static str, String)>,
}

async fn lock_order(tx: &Transaction<'_>, id: uuid::Uuid) -> anyhow::Result<Option<LockedOrder>> {
    let rows = tx
        .query_typed(
            "SELECT placed_at, status FROM orders WHERE id = $1 FOR UPDATE",
            &[(&id, Type::UUID)],
        )
        .await
        .map_err(q)?;
    let Some(r) = rows.first() else { return Ok(None) };
    let placed_at: DateTime<Utc> = r.get(0);
    let status: OrderStatus = r.get::<_, &str>(1).parse()?;
    let lines = tx
        .query_typed(
            "SELECT line_no, sku, warehouse_code, quantity, shipped, returned, unit_price FROM order_lines
             WHERE order_id = $1 AND placed_at = $2 ORDER BY line_no",
            &[(&id, Type::UUID), (&placed_at, Type::TIMESTAMPTZ)],
        )
        .await
        .map_err(q)?
        .iter()
        .map(|l| {
            let n = |i: usize| u32::try_from(l.get::<_, i32>(i)).context("order line quantity");
            Ok(Line {
                line_no: l.get(0),
                sku: l.get(1),
                warehouse: l.get(2),
                quantity: n(3)?,
                shipped: n(4)?,
                returned: n(5)?,
                unit_price: l.get(6),
                changed: false,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(LockedOrder {
        id,
        placed_at,
        status,
        lines,
        moved: false,
        events: Vec::new(),
    }))
}

async fn apply_movement(
    tx: &Transaction<'_>,
    m: &Movement,
    as_of: DateTime<Utc>,
    rows: &mut BTreeMap<(String, String), Row>,
    mut order: Option<&mut LockedOrder>,
    report: &mut MovementsApplied,
) -> anyhow::Result<()> {
    for (i, l) in m.lines.iter().enumerate() {
        tx.execute_typed(
            "INSERT INTO erp_movement_lines (document_no, line_no, seq, kind, warehouse_code, sku, quantity)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                (&m.document_no, Type::TEXT),
                (&i32::try_from(i + 1)?, Type::INT4),
                (&seq_i64(m.seq)?, Type::INT8),
                (&m.kind.as_str(), Type::TEXT),
                (&l.warehouse, Type::TEXT),
                (&l.sku.as_str(), Type::TEXT),
                (&i32::try_from(l.quantity)?, Type::INT4),
            ],
        )
        .await
        .map_err(q)?;
        let key = (l.sku.as_str().to_string(), l.warehouse.clone());
        let Some(row) = rows.get_mut(&key) else {
            report.unmatched_lines += 1;
            tracing::warn!(document = %m.document_no, sku = %l.sku, warehouse = %l.warehouse,
                "an ERP movement for a (warehouse, SKU) Niaga does not stock");
            continue;
        };
        row.on_hand = rules::on_hand_after(row.on_hand, row.erp_seq, m.seq, m.kind, l.quantity);
        row.changed = true;
        let Some(order) = order.as_deref_mut() else { continue };
        let holds_stock = order.status.holds_stock();
        let Some(line) = order
            .lines
            .iter_mut()
            .find(|x| x.sku == l.sku.as_str() && x.warehouse == l.warehouse)
        else {
            report.unmatched_lines += 1;
            tracing::warn!(document = %m.document_no, sku = %l.sku, warehouse = %l.warehouse,
                "an ERP movement for a line its order does not have");
            continue;
        };
        match m.kind {
            MovementKind::Shipment => {
                let take = rules::consumed(line.quantity - line.shipped, l.quantity);
                line.shipped += take;
                line.changed = true;
                if holds_stock {
                    row.reserved = row.reserved.saturating_sub(take);
                    report.consumed += u64::from(take);
                }
            }
            MovementKind::Return => {
                let back = l.quantity.min(line.shipped - line.returned);
                line.returned += back;
                line.changed = true;
                if back > 0 {
                    // The monthly profit report takes the refund off revenue, at the price the line was sold at.
                    tx.execute_typed(
                        "INSERT INTO order_returns (order_id, placed_at, sku, quantity, refund, erp_return_no,
                                                    returned_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (erp_return_no) DO NOTHING",
                        &[
                            (&order.id, Type::UUID),
                            (&order.placed_at, Type::TIMESTAMPTZ),
                            (&line.sku, Type::TEXT),
                            (&i32::try_from(back)?, Type::INT4),
                            (&line.unit_price.saturating_mul(i64::from(back)), Type::INT8),
                            (&format!("{}/{}", m.document_no, i + 1), Type::TEXT),
                            (&as_of, Type::TIMESTAMPTZ),
                        ],
                    )
                    .await
                    .map_err(q)?;
                }
            }
        }
    }
    if let (MovementKind::Shipment, Some(order)) = (m.kind, order) {
        let done = order.lines.iter().all(|l| l.shipped == l.quantity);
        let event = if done { OrderEvent::Fulfil } else { OrderEvent::Ship };
        match order.status.apply(event) {
            Ok(next) => {
                order.status = next;
                order.moved = true;
                let name = if done {
                    OutboxEvent::FULFILLED
                } else {
                    OutboxEvent::SHIPPED
                };
                order.events.push((name, m.document_no.clone()));
            }
            // Already fulfilled (a late copy of a delivery note) or not an order the ERP could ship: the stock
            // effect stands, the status does not move.
            Err(e) => tracing::warn!(document = %m.document_no, error = %e, "a shipment left its order's status alone"),
        }
    }
    Ok(())
}

async fn write_orders(
    tx: &Transaction<'_>,
    orders: &BTreeMap<uuid::Uuid, LockedOrder>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for (id, o) in orders {
        for l in o.lines.iter().filter(|l| l.changed) {
            tx.execute_typed(
                "UPDATE order_lines SET shipped = $4, returned = $5
                 WHERE order_id = $1 AND placed_at = $2 AND line_no = $3",
                &[
                    (id, Type::UUID),
                    (&o.placed_at, Type::TIMESTAMPTZ),
                    (&l.line_no, Type::INT4),
                    (&i32::try_from(l.shipped)?, Type::INT4),
                    (&i32::try_from(l.returned)?, Type::INT4),
                ],
            )
            .await
            .map_err(q)?;
        }
        if !o.moved {
            continue;
        }
        tx.execute_typed(
            "UPDATE orders SET status = $3, updated_at = $4, closed_at = CASE WHEN $3 = 'fulfilled' THEN $4 END
             WHERE id = $1 AND placed_at = $2",
            &[
                (id, Type::UUID),
                (&o.placed_at, Type::TIMESTAMPTZ),
                (&o.status.as_str(), Type::TEXT),
                (&now, Type::TIMESTAMPTZ),
            ],
        )
        .await
        .map_err(q)?;
        for (event, document) in &o.events {
            let payload = serde_json::json!({
                "order_id": id,
                "status": o.status,
                "document_no": document,
                "lines": o.lines.iter().map(|l| serde_json::json!({
                    "sku": l.sku, "warehouse": l.warehouse, "quantity": l.quantity, "shipped": l.shipped,
                })).collect::<Vec<_>>(),
            });
            tx.execute_typed(
                "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, $3)",
                &[
                    (&id.to_string(), Type::TEXT),
                    (event, Type::TEXT),
                    (&payload, Type::JSONB),
                ],
            )
            .await
            .map_err(q)?;
        }
    }
    Ok(())
}

async fn succeeded(
    tx: &tokio_postgres::Transaction<'_>,
    kind: &str,
    as_of: DateTime<Utc>,
    rows: usize,
    skipped: usize,
) -> anyhow::Result<()> {
    tx.execute_typed(
        "UPDATE erp_sync_state SET last_attempt_at = now(), last_success_at = now(), as_of = $2, rows_applied = $3,
                rows_skipped = $4, last_error = NULL
         WHERE kind = $1",
        &[
            (&kind, Type::TEXT),
            (&as_of, Type::TIMESTAMPTZ),
            (&i32::try_from(rows).unwrap_or(i32::MAX), Type::INT4),
            (&i32::try_from(skipped).unwrap_or(i32::MAX), Type::INT4),
        ],
    )
    .await
    .map_err(q)?;
    Ok(())
}
