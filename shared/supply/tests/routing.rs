//! SLA routing: properties over random warehouses, stock and demand, then the seed-004 examples.

use kernel::{GeoPoint, Quantity, Sku};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use supply::{
    lock_order, route, Allocation, Demand, RouteError, RoutePlan, Shortage, StockLevel, Warehouse,
    OUT_OF_RADIUS_PENALTY_HOURS,
};

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn at(lat_e6: i32, lon_e6: i32) -> GeoPoint {
    GeoPoint::new(lat_e6, lon_e6).unwrap()
}

fn demand(s: &str, q: u32) -> Demand {
    Demand {
        sku: sku(s),
        quantity: Quantity::new(i64::from(q)).unwrap(),
    }
}

fn stock(warehouse: &str, s: &str, on_hand: u32) -> StockLevel {
    StockLevel {
        warehouse: warehouse.into(),
        sku: sku(s),
        on_hand,
        reserved: 0,
        buffer: 0,
    }
}

fn alloc(warehouse: &str, s: &str, quantity: u32) -> Allocation {
    Allocation {
        warehouse: warehouse.into(),
        sku: sku(s),
        quantity,
    }
}

// ---- properties ----

const SKUS: [&str; 5] = ["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"];

#[derive(Debug, Clone)]
struct Scenario {
    destination: GeoPoint,
    demand: Vec<Demand>,
    warehouses: Vec<Warehouse>,
    stock: Vec<StockLevel>,
}

/// A point in or near Indonesia, so some warehouses cover the destination and some do not.
fn point() -> impl Strategy<Value = GeoPoint> {
    (-10_000_000i32..=5_000_000, 95_000_000i32..=141_000_000).prop_map(|(la, lo)| at(la, lo))
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let warehouses = prop::collection::vec((point(), 1u32..=96, 1u32..=2_000), 1..=5).prop_map(|ws| {
        ws.into_iter()
            .enumerate()
            .map(|(i, (location, sla_hours, service_radius_km))| Warehouse {
                code: format!("W{i}"),
                location,
                sla_hours,
                service_radius_km,
            })
            .collect::<Vec<_>>()
    });
    let demand = prop::collection::btree_set(0..SKUS.len(), 1..=SKUS.len())
        .prop_map(|s| s.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
        .prop_flat_map(|idx| {
            let n = idx.len();
            (Just(idx), prop::collection::vec(1u32..=60, n))
        })
        .prop_map(|(idx, qtys)| {
            idx.iter()
                .zip(qtys)
                .map(|(i, q)| demand(SKUS[*i], q))
                .collect::<Vec<_>>()
        });
    // One optional row per (warehouse, SKU) slot, plus generous rows at a warehouse nobody listed.
    let rows = prop::collection::vec(
        prop::option::weighted(0.7, (0u32..=150, 0u32..=60, 0u32..=10)),
        5 * SKUS.len(),
    );
    (point(), demand, warehouses, rows).prop_map(|(destination, demand, warehouses, rows)| {
        let mut stock = Vec::new();
        for (slot, r) in rows.into_iter().enumerate() {
            let (w, s) = (slot / SKUS.len(), slot % SKUS.len());
            if let (Some((on_hand, reserved, buffer)), true) = (r, w < warehouses.len()) {
                stock.push(StockLevel {
                    warehouse: format!("W{w}"),
                    sku: sku(SKUS[s]),
                    on_hand,
                    reserved,
                    buffer,
                });
            }
        }
        for s in SKUS {
            stock.push(StockLevel {
                warehouse: "GHOST".into(),
                sku: sku(s),
                on_hand: 1_000,
                reserved: 0,
                buffer: 0,
            });
        }
        Scenario {
            destination,
            demand,
            warehouses,
            stock,
        }
    })
}

impl Scenario {
    fn sellable(&self, warehouse: &str, s: &Sku) -> u32 {
        self.stock
            .iter()
            .find(|r| r.warehouse == warehouse && &r.sku == s)
            .map_or(0, StockLevel::sellable)
    }

    fn total_sellable(&self, s: &Sku) -> u32 {
        self.warehouses.iter().map(|w| self.sellable(&w.code, s)).sum()
    }

    fn effective_sla(&self, code: &str) -> u32 {
        let w = self.warehouses.iter().find(|w| w.code == code).unwrap();
        let outside = w.location.distance_km(self.destination) > w.service_radius_km;
        w.sla_hours + if outside { OUT_OF_RADIUS_PENALTY_HOURS } else { 0 }
    }

    fn route(&self) -> Result<RoutePlan, RouteError> {
        route(self.destination, &self.demand, &self.warehouses, &self.stock)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_plan_serves_each_sku_exactly_within_sellable_and_sorted(sc in scenario()) {
        let Ok(plan) = sc.route() else { return Ok(()) };
        let mut per_sku: BTreeMap<&Sku, u32> = BTreeMap::new();
        for a in &plan.allocations {
            prop_assert!(a.quantity > 0);
            prop_assert!(a.warehouse != "GHOST", "stock at an unlisted warehouse was used");
            prop_assert!(a.quantity <= sc.sellable(&a.warehouse, &a.sku), "{a:?} exceeds the row's sellable");
            *per_sku.entry(&a.sku).or_default() += a.quantity;
        }
        let wanted: BTreeMap<&Sku, u32> = sc.demand.iter().map(|d| (&d.sku, d.quantity.get())).collect();
        prop_assert_eq!(per_sku, wanted);
        prop_assert!(
            plan.allocations.windows(2).all(|w| (&w[0].sku, &w[0].warehouse) < (&w[1].sku, &w[1].warehouse)),
            "allocations are not strictly sorted by (sku, warehouse)"
        );
        let keys: Vec<(Sku, String)> = plan.allocations.iter().map(|a| (a.sku.clone(), a.warehouse.clone())).collect();
        prop_assert_eq!(lock_order(keys.clone()), keys);

        let used: BTreeSet<&str> = plan.allocations.iter().map(|a| a.warehouse.as_str()).collect();
        prop_assert_eq!(plan.split, used.len() > 1);
        let slowest = used.iter().map(|w| sc.effective_sla(w)).max().unwrap();
        prop_assert_eq!(plan.promised_sla_hours, slowest);
    }

    #[test]
    fn a_plan_never_splits_when_one_warehouse_could_serve_everything(sc in scenario()) {
        let one_can = sc
            .warehouses
            .iter()
            .any(|w| sc.demand.iter().all(|d| sc.sellable(&w.code, &d.sku) >= d.quantity.get()));
        if one_can {
            prop_assert!(!sc.route().unwrap().split);
        }
    }

    #[test]
    fn out_of_stock_lists_exactly_the_skus_that_are_short(sc in scenario()) {
        match sc.route() {
            Ok(_) => {
                for d in &sc.demand {
                    prop_assert!(sc.total_sellable(&d.sku) >= d.quantity.get());
                }
            }
            Err(RouteError::OutOfStock(shortages)) => {
                prop_assert!(!shortages.is_empty());
                prop_assert!(shortages.windows(2).all(|w| w[0].sku < w[1].sku));
                let message = RouteError::OutOfStock(shortages.clone()).to_string();
                for d in &sc.demand {
                    let listed = shortages.iter().find(|s| s.sku == d.sku);
                    let total = sc.total_sellable(&d.sku);
                    match listed {
                        Some(s) => {
                            prop_assert_eq!(s.requested, d.quantity.get());
                            prop_assert_eq!(s.sellable, total);
                            prop_assert!(total < s.requested);
                            prop_assert!(message.contains(d.sku.as_str()));
                        }
                        None => prop_assert!(total >= d.quantity.get(), "{} is short but not listed", d.sku),
                    }
                }
                prop_assert!(shortages.iter().all(|s| sc.demand.iter().any(|d| d.sku == s.sku)));
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

// ---- examples ----

// Jakarta, Bandung (~120 km away), Semarang (~370 km) and Surabaya (~660 km).
const JAKARTA: (i32, i32) = (-6_200_000, 106_816_666);
const BANDUNG: (i32, i32) = (-6_917_464, 107_619_123);
const SEMARANG: (i32, i32) = (-6_966_667, 110_416_667);
const SURABAYA: (i32, i32) = (-7_250_000, 112_750_000);

fn warehouse(code: &str, (lat, lon): (i32, i32), sla_hours: u32, service_radius_km: u32) -> Warehouse {
    Warehouse {
        code: code.into(),
        location: at(lat, lon),
        sla_hours,
        service_radius_km,
    }
}

fn jakarta() -> GeoPoint {
    at(JAKARTA.0, JAKARTA.1)
}

#[test]
fn the_nearest_fast_warehouse_in_radius_wins_over_a_slower_one() {
    let ws = [warehouse("BDG", BANDUNG, 48, 300), warehouse("JKT", JAKARTA, 24, 100)];
    let st = [stock("BDG", "SKU-A", 100), stock("JKT", "SKU-A", 100)];
    let plan = route(jakarta(), &[demand("SKU-A", 5)], &ws, &st).unwrap();
    assert_eq!(
        plan,
        RoutePlan {
            allocations: vec![alloc("JKT", "SKU-A", 5)],
            split: false,
            promised_sla_hours: 24,
        }
    );
}

#[test]
fn among_covering_warehouses_a_faster_sla_beats_a_shorter_distance() {
    // JKT is next door but promises 72 hours; BDG is 120 km away and promises 24.
    let ws = [warehouse("JKT", JAKARTA, 72, 100), warehouse("BDG", BANDUNG, 24, 300)];
    let st = [stock("BDG", "SKU-A", 100), stock("JKT", "SKU-A", 100)];
    let plan = route(jakarta(), &[demand("SKU-A", 5)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("BDG", "SKU-A", 5)]);
    assert_eq!(plan.promised_sla_hours, 24);
}

#[test]
fn with_equal_slas_the_nearer_warehouse_wins_and_then_the_code() {
    let ws = [
        warehouse("SMG", SEMARANG, 24, 1_000),
        warehouse("BDG", BANDUNG, 24, 1_000),
    ];
    let st = [stock("BDG", "SKU-A", 10), stock("SMG", "SKU-A", 10)];
    let plan = route(jakarta(), &[demand("SKU-A", 1)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("BDG", "SKU-A", 1)]);

    let twins = [
        warehouse("JKT-2", JAKARTA, 24, 100),
        warehouse("JKT-1", JAKARTA, 24, 100),
    ];
    let st = [stock("JKT-1", "SKU-A", 10), stock("JKT-2", "SKU-A", 10)];
    let plan = route(jakarta(), &[demand("SKU-A", 1)], &twins, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("JKT-1", "SKU-A", 1)]);
}

#[test]
fn one_warehouse_that_can_serve_everything_beats_splitting_even_if_another_is_closer_for_one_line() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100), warehouse("BDG", BANDUNG, 48, 300)];
    let st = [
        stock("JKT", "SKU-A", 100),
        stock("BDG", "SKU-A", 100),
        stock("BDG", "SKU-B", 100),
    ];
    let plan = route(jakarta(), &[demand("SKU-A", 5), demand("SKU-B", 2)], &ws, &st).unwrap();
    assert_eq!(
        plan,
        RoutePlan {
            allocations: vec![alloc("BDG", "SKU-A", 5), alloc("BDG", "SKU-B", 2)],
            split: false,
            promised_sla_hours: 48,
        }
    );
}

#[test]
fn an_order_no_single_warehouse_can_serve_is_split_in_rank_order() {
    let ws = [warehouse("BDG", BANDUNG, 48, 300), warehouse("JKT", JAKARTA, 24, 100)];
    // SKU-A: JKT has 6 of the 10 wanted, BDG the rest; SKU-B: only JKT has it.
    let st = [
        stock("JKT", "SKU-A", 6),
        stock("BDG", "SKU-A", 50),
        stock("JKT", "SKU-B", 5),
    ];
    let plan = route(jakarta(), &[demand("SKU-B", 5), demand("SKU-A", 10)], &ws, &st).unwrap();
    assert_eq!(
        plan,
        RoutePlan {
            allocations: vec![
                alloc("BDG", "SKU-A", 4),
                alloc("JKT", "SKU-A", 6),
                alloc("JKT", "SKU-B", 5)
            ],
            split: true,
            promised_sla_hours: 48,
        }
    );
}

#[test]
fn an_out_of_radius_warehouse_is_used_only_when_needed_and_carries_the_penalty() {
    // Surabaya promises 12 hours, faster than Jakarta's 24, but its 100 km radius does not reach Jakarta.
    let ws = [warehouse("SBY", SURABAYA, 12, 100), warehouse("JKT", JAKARTA, 24, 100)];
    let st = [
        stock("JKT", "SKU-A", 5),
        stock("SBY", "SKU-A", 4),
        stock("SBY", "SKU-B", 10),
    ];

    // Jakarta can serve it: Surabaya is not touched.
    let plan = route(jakarta(), &[demand("SKU-A", 5)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("JKT", "SKU-A", 5)]);
    assert_eq!(plan.promised_sla_hours, 24);

    // Jakarta runs out: Surabaya tops up, and its penalised SLA is the promise.
    let plan = route(jakarta(), &[demand("SKU-A", 8)], &ws, &st).unwrap();
    assert_eq!(
        plan,
        RoutePlan {
            allocations: vec![alloc("JKT", "SKU-A", 5), alloc("SBY", "SKU-A", 3)],
            split: true,
            promised_sla_hours: 12 + OUT_OF_RADIUS_PENALTY_HOURS,
        }
    );

    // Only Surabaya has it.
    let plan = route(jakarta(), &[demand("SKU-B", 3)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("SBY", "SKU-B", 3)]);
    assert!(!plan.split);
    assert_eq!(plan.promised_sla_hours, 60);
}

#[test]
fn out_of_radius_warehouses_are_ranked_by_distance_not_sla() {
    // Neither covers Jakarta; Semarang is nearer though slower.
    let ws = [warehouse("SBY", SURABAYA, 12, 50), warehouse("SMG", SEMARANG, 72, 50)];
    let st = [stock("SBY", "SKU-A", 10), stock("SMG", "SKU-A", 10)];
    let plan = route(jakarta(), &[demand("SKU-A", 1)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("SMG", "SKU-A", 1)]);
    assert_eq!(plan.promised_sla_hours, 72 + OUT_OF_RADIUS_PENALTY_HOURS);
}

#[test]
fn buffer_stock_is_never_allocated() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100)];
    let st = [StockLevel {
        buffer: 5,
        ..stock("JKT", "SKU-A", 55)
    }];
    let plan = route(jakarta(), &[demand("SKU-A", 50)], &ws, &st).unwrap();
    assert_eq!(plan.allocations, [alloc("JKT", "SKU-A", 50)]);
    assert_eq!(
        route(jakarta(), &[demand("SKU-A", 51)], &ws, &st),
        Err(RouteError::OutOfStock(vec![Shortage {
            sku: sku("SKU-A"),
            requested: 51,
            sellable: 50
        }]))
    );
}

#[test]
fn out_of_stock_names_every_short_sku_in_order() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100), warehouse("BDG", BANDUNG, 48, 300)];
    let st = [
        stock("JKT", "SKU-C", 2),
        stock("BDG", "SKU-C", 1),
        stock("JKT", "SKU-B", 100),
    ];
    let err = route(
        jakarta(),
        &[demand("SKU-C", 4), demand("SKU-B", 1), demand("SKU-A", 1)],
        &ws,
        &st,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RouteError::OutOfStock(vec![
            Shortage {
                sku: sku("SKU-A"),
                requested: 1,
                sellable: 0
            },
            Shortage {
                sku: sku("SKU-C"),
                requested: 4,
                sellable: 3
            },
        ])
    );
    let message = err.to_string();
    assert!(
        message.contains("SKU-A") && message.contains("SKU-C") && !message.contains("SKU-B"),
        "{message}"
    );
}

#[test]
fn stock_at_an_unlisted_warehouse_is_ignored() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100)];
    let st = [stock("JKT", "SKU-A", 1), stock("CLOSED", "SKU-A", 1_000)];
    assert!(matches!(
        route(jakarta(), &[demand("SKU-A", 2)], &ws, &st),
        Err(RouteError::OutOfStock(_))
    ));
}

#[test]
fn a_warehouse_listed_twice_has_its_stock_counted_once() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100), warehouse("JKT", JAKARTA, 24, 100)];
    let st = [stock("JKT", "SKU-A", 3)];
    assert!(matches!(
        route(jakarta(), &[demand("SKU-A", 4)], &ws, &st),
        Err(RouteError::OutOfStock(_))
    ));
}

#[test]
fn an_empty_demand_and_a_repeated_sku_are_refused() {
    let ws = [warehouse("JKT", JAKARTA, 24, 100)];
    let st = [stock("JKT", "SKU-A", 100)];
    assert_eq!(route(jakarta(), &[], &ws, &st), Err(RouteError::EmptyDemand));
    assert_eq!(
        route(jakarta(), &[demand("SKU-A", 1), demand("SKU-A", 2)], &ws, &st),
        Err(RouteError::DuplicateSku(sku("SKU-A")))
    );
}
