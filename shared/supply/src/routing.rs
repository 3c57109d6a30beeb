//! SLA routing (seed 004): which warehouses serve an order for a destination, and the delivery time that promises.

use crate::StockLevel;
use kernel::{GeoPoint, Quantity, Sku};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Hours added to a warehouse's SLA when the destination lies outside its service radius: the courier leg beyond
/// the radius is not covered by the warehouse's own promise.
pub const OUT_OF_RADIUS_PENALTY_HOURS: u32 = 48;

/// A warehouse as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    pub code: String,
    pub location: GeoPoint,
    /// Promised delivery time, in hours, to destinations within the service radius.
    pub sla_hours: u32,
    pub service_radius_km: u32,
}

/// One line of demand: a SKU and how many units of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Units of one SKU to take from one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub warehouse: String,
    pub sku: Sku,
    pub quantity: u32,
}

/// Where an order's units come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutePlan {
    /// Sorted by (sku, warehouse), the lock order; every quantity > 0.
    pub allocations: Vec<Allocation>,
    /// True when more than one warehouse is used.
    pub split: bool,
    /// The slowest effective SLA among the warehouses used: `sla_hours`, plus [`OUT_OF_RADIUS_PENALTY_HOURS`] for a
    /// warehouse whose service radius does not cover the destination.
    pub promised_sla_hours: u32,
}

/// A SKU that cannot be served in full from all warehouses together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub sku: Sku,
    pub requested: u32,
    /// Total sellable across every known warehouse; less than `requested`.
    pub sellable: u32,
}

/// Why no route was planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Every SKU that cannot be served in full, sorted by SKU. The message names each of them, so a partner learns
    /// everything to change in one answer rather than one SKU per attempt.
    #[error("out of stock: {}", describe(.0))]
    OutOfStock(Vec<Shortage>),
    #[error("SKU {0} appears on more than one demand line")]
    DuplicateSku(Sku),
    #[error("nothing to route: the demand is empty")]
    EmptyDemand,
}

fn describe(shortages: &[Shortage]) -> String {
    shortages
        .iter()
        .map(|s| format!("{} (requested {}, sellable {})", s.sku, s.requested, s.sellable))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A warehouse in rank order, with the SLA it would promise for this destination.
struct Ranked<'a> {
    code: &'a str,
    effective_sla_hours: u32,
}

/// Ranks warehouses for a destination: those whose service radius covers it first, by SLA, then distance, then
/// code; those outside their radius after, by distance, then code (their SLA all carries the same penalty, so
/// nearness decides). A code listed twice keeps only its best-ranked entry, so its stock is never counted twice.
fn rank(destination: GeoPoint, warehouses: &[Warehouse]) -> Vec<Ranked<'_>> {
    let mut keyed: Vec<_> = warehouses
        .iter()
        .map(|w| {
            let distance = w.location.distance_km(destination);
            let outside = distance > w.service_radius_km;
            let (sla_key, effective_sla_hours) = if outside {
                (0, w.sla_hours.saturating_add(OUT_OF_RADIUS_PENALTY_HOURS))
            } else {
                (w.sla_hours, w.sla_hours)
            };
            ((outside, sla_key, distance, w.code.as_str()), effective_sla_hours)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = BTreeSet::new();
    keyed
        .into_iter()
        .filter(|((_, _, _, code), _)| seen.insert(*code))
        .map(|((_, _, _, code), effective_sla_hours)| Ranked {
            code,
            effective_sla_hours,
        })
        .collect()
}

/// SLA routing (seed 004). Ranking of warehouses for a destination: warehouses whose service radius covers the
/// destination come first, ordered by `sla_hours` then distance then code; warehouses outside their radius follow,
/// ordered by distance then code, and their effective SLA is `sla_hours` + [`OUT_OF_RADIUS_PENALTY_HOURS`].
///
/// Policy: (1) if one warehouse can serve every line in full, use the best-ranked such warehouse (no split: one
/// parcel, one courier); (2) otherwise split: for each SKU, take from warehouses in rank order until the quantity is
/// met. A SKU whose total sellable across all warehouses is short makes the whole route fail with
/// [`RouteError::OutOfStock`] listing every short SKU. Never allocates more than a row's sellable.
///
/// Stock rows whose warehouse is not in `warehouses`, or whose SKU is not demanded, are ignored. If two rows share a
/// (warehouse, SKU) key, only the first counts (the inventory table's primary key means an adapter never sends
/// both; ignoring one can only under-allocate, never over-allocate).
///
/// Checks run in this order: empty demand, a SKU on two lines (the first repeated one is named), then stock.
pub fn route(
    destination: GeoPoint,
    demand: &[Demand],
    warehouses: &[Warehouse],
    stock: &[StockLevel],
) -> Result<RoutePlan, RouteError> {
    if demand.is_empty() {
        return Err(RouteError::EmptyDemand);
    }
    let mut demanded = BTreeSet::new();
    for d in demand {
        if !demanded.insert(&d.sku) {
            return Err(RouteError::DuplicateSku(d.sku.clone()));
        }
    }

    let ranked = rank(destination, warehouses);
    let known: BTreeSet<&str> = ranked.iter().map(|w| w.code).collect();
    let mut sellable: BTreeMap<(&str, &Sku), u32> = BTreeMap::new();
    for row in stock {
        if known.contains(row.warehouse.as_str()) && demanded.contains(&row.sku) {
            sellable
                .entry((row.warehouse.as_str(), &row.sku))
                .or_insert(row.sellable());
        }
    }
    let available = |code: &str, sku: &Sku| sellable.get(&(code, sku)).copied().unwrap_or(0);

    let mut shortages: Vec<Shortage> = demand
        .iter()
        .filter_map(|d| {
            // Summed in u64: many warehouses with large rows could exceed u32.
            let total: u64 = ranked.iter().map(|w| u64::from(available(w.code, &d.sku))).sum();
            let requested = d.quantity.get();
            (total < u64::from(requested)).then(|| Shortage {
                sku: d.sku.clone(),
                requested,
                // Less than `requested`, so it fits.
                sellable: u32::try_from(total).unwrap_or(u32::MAX),
            })
        })
        .collect();
    if !shortages.is_empty() {
        shortages.sort_by(|a, b| a.sku.cmp(&b.sku));
        return Err(RouteError::OutOfStock(shortages));
    }

    let single = ranked
        .iter()
        .find(|w| demand.iter().all(|d| available(w.code, &d.sku) >= d.quantity.get()));
    let mut allocations = Vec::new();
    match single {
        Some(w) => {
            for d in demand {
                allocations.push(Allocation {
                    warehouse: w.code.to_string(),
                    sku: d.sku.clone(),
                    quantity: d.quantity.get(),
                });
            }
        }
        None => {
            for d in demand {
                let mut remaining = d.quantity.get();
                for w in &ranked {
                    if remaining == 0 {
                        break;
                    }
                    let take = remaining.min(available(w.code, &d.sku));
                    if take > 0 {
                        allocations.push(Allocation {
                            warehouse: w.code.to_string(),
                            sku: d.sku.clone(),
                            quantity: take,
                        });
                        remaining -= take;
                    }
                }
            }
        }
    }
    allocations.sort_by(|a, b| (&a.sku, &a.warehouse).cmp(&(&b.sku, &b.warehouse)));

    let used: BTreeSet<&str> = allocations.iter().map(|a| a.warehouse.as_str()).collect();
    let promised_sla_hours = ranked
        .iter()
        .filter(|w| used.contains(w.code))
        .map(|w| w.effective_sla_hours)
        .max()
        .unwrap_or(0);
    Ok(RoutePlan {
        split: used.len() > 1,
        allocations,
        promised_sla_hours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_out_of_stock_message_names_every_short_sku() {
        let e = RouteError::OutOfStock(vec![
            Shortage {
                sku: Sku::parse("AAA-1").unwrap(),
                requested: 5,
                sellable: 2,
            },
            Shortage {
                sku: Sku::parse("BBB-2").unwrap(),
                requested: 3,
                sellable: 0,
            },
        ]);
        assert_eq!(
            e.to_string(),
            "out of stock: AAA-1 (requested 5, sellable 2), BBB-2 (requested 3, sellable 0)"
        );
    }
}
