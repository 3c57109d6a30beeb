//! The order lifecycle as a model-based property test: random interleavings of checkout, payment, cancellation,
//! expiry, sending to the ERP, shipments and returns in the ERP, the ERP's own stock changes, and every way the
//! stock and movement feeds can arrive (each alone, a snapshot read early and applied late, the whole job),
//! against real PostgreSQL and the fake ERP. After every step the database is checked against a model that knows
//! only what a person at the warehouse knows: which orders are live, and which delivery notes Niaga has read.
//!
//! - Reserved, per (warehouse, SKU), is exactly the unshipped units of live orders, counting the shipments whose
//!   delivery notes Niaga has read.
//! - Sellable is never negative: checkout never reserves more than `on hand - reserved - buffer` had.
//! - After the stock-sync job has run, on hand is the ERP's own count for every row.
//! - Each order's status and shipped and returned units follow the delivery notes read.
//!
//! `NIAGA_MODEL_CASES` sets the number of runs (default 200 of 50 steps: 10,000 steps).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{World, SKU_COUNT};
use fake_erp::{MovementLine, MovementRow};
use orders::{Order, OrderStatus};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeMap;

const STEPS: usize = 50;
const PARTNERS: [&str; 3] = ["P-00001", "P-00002", "P-00003"];
/// Minutes between steps: the payment window (60) is no multiple of it, so no order is ever due exactly at a step.
const MINUTES_PER_STEP: i64 = 7;

#[derive(Debug, Clone)]
enum Step {
    Place { partner: usize, cart: BTreeMap<usize, u32> },
    Pay(usize),
    Cancel(usize),
    Expire,
    SendToErp(usize),
    Ship { order: usize, whole: bool, qty: u32 },
    Return { order: usize, qty: u32 },
    ErpAdjusts { row: usize, delta: i64 },
    SyncMovements,
    SyncStock,
    ReadSnapshot,
    ApplyReadSnapshot,
    StockSyncJob,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..PARTNERS.len(), prop::collection::btree_map(0..SKU_COUNT, 1u32..=6, 1..=3))
            .prop_map(|(partner, cart)| Step::Place { partner, cart }),
        4 => any::<prop::sample::Index>().prop_map(|i| Step::Pay(i.index(1 << 16))),
        1 => any::<prop::sample::Index>().prop_map(|i| Step::Cancel(i.index(1 << 16))),
        1 => Just(Step::Expire),
        3 => any::<prop::sample::Index>().prop_map(|i| Step::SendToErp(i.index(1 << 16))),
        4 => (any::<prop::sample::Index>(), any::<bool>(), 1u32..=4)
            .prop_map(|(i, whole, qty)| Step::Ship { order: i.index(1 << 16), whole, qty }),
        2 => (any::<prop::sample::Index>(), 1u32..=3).prop_map(|(i, qty)| Step::Return { order: i.index(1 << 16), qty }),
        1 => (any::<prop::sample::Index>(), -4i64..=8).prop_map(|(i, delta)| Step::ErpAdjusts { row: i.index(1 << 16), delta }),
        2 => Just(Step::SyncMovements),
        1 => Just(Step::SyncStock),
        1 => Just(Step::ReadSnapshot),
        1 => Just(Step::ApplyReadSnapshot),
        2 => Just(Step::StockSyncJob),
    ]
}

/// An order as the model knows it: what checkout allocated, and what Niaga was told of its payment and the ERP.
#[derive(Debug, Clone)]
struct ModelOrder {
    order: Order,
    partner: usize,
    placed_step: usize,
    /// Pending, paid, sent to the ERP, cancelled or expired: shipping is derived from the delivery notes.
    status: OrderStatus,
}

struct Model {
    orders: Vec<ModelOrder>,
    /// The last ERP movement Niaga has read.
    read_upto: u64,
    held: Option<supply_sync::Snapshot<supply_sync::ErpStock>>,
    payment_window: Duration,
}

impl Model {
    /// Units shipped and returned per (order, warehouse, SKU), from the delivery notes Niaga has read.
    fn moved(&self, movements: &[MovementRow]) -> BTreeMap<(String, String, String), (i64, i64)> {
        let mut out: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
        for m in movements.iter().filter(|m| m.seq <= self.read_upto) {
            for l in &m.lines {
                let e = out
                    .entry((m.no_ref.clone(), l.warehouse.clone(), l.sku.clone()))
                    .or_default();
                if m.kind == "KIRIM" {
                    e.0 += l.qty;
                } else {
                    e.1 += l.qty;
                }
            }
        }
        out
    }

    /// The status Niaga should show: shipping, when any delivery note was read, follows the notes.
    fn expected_status(&self, o: &ModelOrder, moved: &BTreeMap<(String, String, String), (i64, i64)>) -> OrderStatus {
        if !matches!(o.status, OrderStatus::Paid | OrderStatus::SentToErp) {
            return o.status;
        }
        let shipped = |l: &orders::OrderLine| {
            moved
                .get(&(o.order.id.to_string(), l.warehouse.clone(), l.sku.to_string()))
                .map_or(0, |m| m.0)
        };
        if o.order.lines.iter().all(|l| shipped(l) == i64::from(l.quantity)) {
            OrderStatus::Fulfilled
        } else if o.order.lines.iter().any(|l| shipped(l) > 0) {
            OrderStatus::PartlyShipped
        } else {
            o.status
        }
    }
}

fn at(t0: DateTime<Utc>, step: usize) -> DateTime<Utc> {
    t0 + Duration::minutes(MINUTES_PER_STEP * step as i64)
}

/// The `i`-th of the orders that `pick` accepts, if any.
fn nth(orders: &[ModelOrder], i: usize, pick: impl Fn(&ModelOrder) -> bool) -> Option<&ModelOrder> {
    let candidates: Vec<&ModelOrder> = orders.iter().filter(|o| pick(o)).collect();
    (!candidates.is_empty()).then(|| candidates[i % candidates.len()])
}

/// Per (order, warehouse, SKU): ordered, shipped and returned, from the ERP's own book (every movement).
fn erp_book(w: &World, o: &ModelOrder) -> Vec<(String, String, i64, i64, i64)> {
    let movements = w.erp.movements();
    o.order
        .lines
        .iter()
        .map(|l| {
            let (mut shipped, mut returned) = (0, 0);
            for m in movements.iter().filter(|m| m.no_ref == o.order.id.to_string()) {
                for x in m
                    .lines
                    .iter()
                    .filter(|x| x.warehouse == l.warehouse && x.sku == l.sku.as_str())
                {
                    if m.kind == "KIRIM" {
                        shipped += x.qty;
                    } else {
                        returned += x.qty;
                    }
                }
            }
            (
                l.warehouse.clone(),
                l.sku.to_string(),
                i64::from(l.quantity),
                shipped,
                returned,
            )
        })
        .collect()
}

async fn run_case(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let w = World::new(12).await;
    let t0 = Utc::now();
    let window: i64 = w
        .client
        .query_one(
            "SELECT value::text::int8 FROM system_config WHERE key = 'orders.payment_window_minutes'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mut actors = Vec::new();
    for p in PARTNERS {
        actors.push(w.actor(p).await);
    }
    let mut model = Model {
        orders: Vec::new(),
        read_upto: w.erp.movements().last().map_or(0, |m| m.seq),
        held: None,
        payment_window: Duration::minutes(window),
    };
    for (i, step) in steps.iter().enumerate() {
        let now = at(t0, i);
        let mut synced = false;
        let before = w.stock().await;
        match step {
            Step::Place { partner, cart } => {
                let cart: Vec<(&str, u32)> = cart.iter().map(|(s, q)| (w.skus[*s].as_str(), *q)).collect();
                if let Ok(order) = w.place(&actors[*partner], &format!("model-{i}"), &cart, now).await {
                    // Sellable is never negative: what checkout reserved was there to sell.
                    for l in &order.lines {
                        let row = before[&(l.warehouse.clone(), l.sku.to_string())];
                        prop_assert!(
                            i64::from(l.quantity) <= row.on_hand - row.reserved - row.buffer,
                            "step {i}: reserved {} of {} at {} with only {:?}",
                            l.quantity,
                            l.sku,
                            l.warehouse,
                            row
                        );
                    }
                    model.orders.push(ModelOrder {
                        order,
                        partner: *partner,
                        placed_step: i,
                        status: OrderStatus::PendingPayment,
                    });
                }
            }
            Step::Pay(n) => {
                if let Some(o) = nth(&model.orders, *n, |o| o.status == OrderStatus::PendingPayment) {
                    let out = w.pay(&o.order, now).await;
                    prop_assert_eq!(out.status, OrderStatus::Paid, "step {}: {:?}", i, out);
                    let id = o.order.id;
                    model.orders.iter_mut().find(|x| x.order.id == id).unwrap().status = OrderStatus::Paid;
                }
            }
            Step::Cancel(n) => {
                if let Some(o) = nth(&model.orders, *n, |o| o.status == OrderStatus::PendingPayment) {
                    let id = o.order.id;
                    w.orders.cancel(&actors[o.partner], id, now).await.unwrap();
                    model.orders.iter_mut().find(|x| x.order.id == id).unwrap().status = OrderStatus::Cancelled;
                }
            }
            Step::Expire => {
                w.orders.expire_overdue(now, 1000).await.unwrap();
                for o in model.orders.iter_mut() {
                    if o.status == OrderStatus::PendingPayment && at(t0, o.placed_step) + model.payment_window < now {
                        o.status = OrderStatus::Expired;
                    }
                }
            }
            Step::SendToErp(n) => {
                if let Some(o) = nth(&model.orders, *n, |o| o.status == OrderStatus::Paid) {
                    let id = o.order.id;
                    w.send_to_erp(id, now).await;
                    model.orders.iter_mut().find(|x| x.order.id == id).unwrap().status = OrderStatus::SentToErp;
                }
            }
            Step::Ship { order, whole, qty } => {
                if let Some(o) = nth(&model.orders, *order, |o| {
                    o.status == OrderStatus::SentToErp && erp_book(&w, o).iter().any(|b| b.3 < b.2)
                }) {
                    let lines = if *whole {
                        None
                    } else {
                        let b = erp_book(&w, o).into_iter().find(|b| b.3 < b.2).unwrap();
                        Some(vec![MovementLine::new(&b.0, &b.1, i64::from(*qty).min(b.2 - b.3))])
                    };
                    // The ERP refuses to ship what its warehouse does not have; then nothing moves.
                    let _ = w.erp.ship(&o.order.id.to_string(), lines);
                }
            }
            Step::Return { order, qty } => {
                if let Some(o) = nth(&model.orders, *order, |o| erp_book(&w, o).iter().any(|b| b.4 < b.3)) {
                    let b = erp_book(&w, o).into_iter().find(|b| b.4 < b.3).unwrap();
                    let line = MovementLine::new(&b.0, &b.1, i64::from(*qty).min(b.3 - b.4));
                    w.erp.receive_return(&o.order.id.to_string(), vec![line]).unwrap();
                }
            }
            Step::ErpAdjusts { row, delta } => {
                let (warehouse, sku) = &w.rows[row % w.rows.len()];
                // A counter sale larger than the shelf is refused by the ERP; then nothing moves.
                let _ = w.erp.adjust_stock(warehouse, sku, *delta);
            }
            Step::SyncMovements => {
                w.sync_movements().await;
                model.read_upto = w.erp.movements().last().map_or(0, |m| m.seq);
            }
            Step::SyncStock => {
                let snap = w.snapshot().await;
                w.apply_snapshot(&snap).await;
            }
            Step::ReadSnapshot => model.held = Some(w.snapshot().await),
            Step::ApplyReadSnapshot => {
                if let Some(snap) = model.held.take() {
                    w.apply_snapshot(&snap).await;
                }
            }
            Step::StockSyncJob => {
                w.full_sync(now).await;
                model.read_upto = w.erp.movements().last().map_or(0, |m| m.seq);
                synced = true;
            }
        }
        check(&w, &model, i, step, synced).await?;
    }
    // In the end the job runs once more: everything the ERP booked is read, and the books agree.
    w.full_sync(at(t0, steps.len())).await;
    model.read_upto = w.erp.movements().last().map_or(0, |m| m.seq);
    check(&w, &model, steps.len(), &Step::StockSyncJob, true).await
}

async fn check(w: &World, model: &Model, i: usize, step: &Step, synced: bool) -> Result<(), TestCaseError> {
    let movements = w.erp.movements();
    let moved = model.moved(&movements);
    let stock = w.stock().await;
    let states = w.order_states().await;
    // Reserved: the unshipped units of live orders.
    let mut reserved: BTreeMap<(String, String), i64> = stock.keys().map(|k| (k.clone(), 0)).collect();
    for o in &model.orders {
        let status = model.expected_status(o, &moved);
        let (db_status, db_lines) = &states[&o.order.id];
        prop_assert_eq!(
            db_status.as_str(),
            status.as_str(),
            "step {} ({:?}): order {}",
            i,
            step,
            o.order.id
        );
        for (l, dbl) in o.order.lines.iter().zip(db_lines) {
            let (shipped, returned) = moved
                .get(&(o.order.id.to_string(), l.warehouse.clone(), l.sku.to_string()))
                .copied()
                .unwrap_or((0, 0));
            prop_assert_eq!(
                (dbl.2, dbl.3),
                (shipped, returned),
                "step {} ({:?}): order {} line {} at {}",
                i,
                step,
                o.order.id,
                l.sku,
                l.warehouse
            );
            if status.holds_stock() {
                *reserved.entry((l.warehouse.clone(), l.sku.to_string())).or_default() +=
                    i64::from(l.quantity) - shipped;
            }
        }
    }
    for (key, row) in &stock {
        prop_assert_eq!(
            row.reserved,
            reserved[key],
            "step {} ({:?}): reserved at {:?}",
            i,
            step,
            key
        );
        prop_assert!(row.on_hand >= 0 && row.reserved >= 0);
        if synced {
            prop_assert_eq!(
                row.on_hand,
                w.erp.stock_of(&key.0, &key.1),
                "step {} ({:?}): on hand at {:?} after the sync job is not the ERP's count",
                i,
                step,
                key
            );
        }
    }
    Ok(())
}

#[test]
fn stock_adds_up_through_any_interleaving_of_orders_shipments_returns_and_erp_syncs() {
    let cases: u32 = std::env::var("NIAGA_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = prop::collection::vec(step(), STEPS..=STEPS);
    let result = runner.run(&steps, |steps| rt.block_on(run_case(steps)));
    if let Err(e) = result {
        panic!("{e}");
    }
}
