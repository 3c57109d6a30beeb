//! One small world for the lifecycle tests: a fresh seeded database, checkout and payments as the functions run
//! them, the fake ERP as the book of record, and the stock sync.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use erp::HttpErp;
use fake_erp::{FakeErp, StockRow};
use kernel::{Quantity, SecretString, Sku};
use orders::{IdempotencyKey, Order, OrderStore, Orders, PlaceOrder, PlaceOrderError, Placed};
use std::collections::BTreeMap;
use std::time::Duration;
use store::erp_sync::PgErpSync;
use store::orders::PgOrders;
use supply_sync::{ErpClient, SyncLedger};
use testkit::{fresh_db, Template, TestDb};

/// How many SKUs the ERP reports stock for in these tests: the first active ones priced at every tier and stocked
/// in more than one warehouse.
pub const SKU_COUNT: usize = 3;

pub struct World {
    pub db: TestDb,
    pub client: tokio_postgres::Client,
    pub orders: Orders<PgOrders>,
    pub erp: FakeErp,
    pub http: HttpErp,
    pub sync: PgErpSync,
    pub key: SecretString,
    /// The SKUs in play.
    pub skus: Vec<String>,
    /// Every (warehouse, SKU) row of `skus`, in (sku, warehouse) order.
    pub rows: Vec<(String, String)>,
}

/// An order's status and its lines' (warehouse, SKU, shipped, returned).
pub type OrderState = (String, Vec<(String, String, i64, i64)>);

/// One inventory row as the database has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    pub on_hand: i64,
    pub reserved: i64,
    pub buffer: i64,
}

impl World {
    /// A fresh world whose ERP holds `each` units of every [`SKUS`] row in every warehouse, synced once so that
    /// Niaga's on hand starts at the ERP's count.
    pub async fn new(each: i64) -> World {
        let db = fresh_db(Template::Seeded).await;
        let client = db.client().await;
        testkit::no_minimum_order(&client).await;
        let skus: Vec<String> = client
            .query(
                "SELECT p.sku FROM products p WHERE p.is_active
                   AND (SELECT count(DISTINCT tier) FROM price_lists l WHERE l.sku = p.sku) = 4
                   AND (SELECT count(*) FROM inventory i WHERE i.sku = p.sku) >= 2
                 ORDER BY p.sku LIMIT $1",
                &[&(SKU_COUNT as i64)],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(skus.len(), SKU_COUNT, "the seed has SKUs to play with");
        let rows: Vec<(String, String)> = client
            .query(
                "SELECT warehouse_code, sku FROM inventory WHERE sku = ANY($1) ORDER BY sku, warehouse_code",
                &[&skus],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        // Reservations from the seed would belong to no order: start from none.
        client
            .execute("UPDATE inventory SET reserved = 0 WHERE sku = ANY($1)", &[&skus])
            .await
            .unwrap();
        let erp = FakeErp::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        erp.set_stock(rows.iter().map(|(w, s)| StockRow::new(w, s, each)).collect());
        let http = HttpErp::new(&erp.url(), Duration::from_secs(5)).unwrap();
        let world = World {
            orders: Orders::new(PgOrders::new(db.db())),
            sync: PgErpSync::new(db.db()),
            db,
            client,
            erp,
            http,
            key: SecretString::new("lifecycle-server-key"),
            skus,
            rows,
        };
        world.full_sync(Utc::now()).await;
        world
    }

    /// The stock-sync job, forced: stock, then movements (and balances).
    pub async fn full_sync(&self, now: DateTime<Utc>) -> serde_json::Value {
        let report = supply_sync::stock::sync_stock(
            &self.http,
            &self.sync,
            &store::settings::PgSettings::new(self.db.db()),
            true,
            now,
        )
        .await
        .unwrap();
        assert!(report["stock"]["error"].is_null(), "{report}");
        assert!(report["movements"]["error"].is_null(), "{report}");
        report
    }

    /// Reads and applies the movement feed only.
    pub async fn sync_movements(&self) {
        let cursor = self.sync.movement_cursor().await.unwrap();
        let feed = self.http.movements(cursor).await.unwrap();
        let last = feed.rows.iter().map(|m| m.seq).chain(feed.seq).max().unwrap_or(cursor);
        self.sync
            .apply_movements(feed.as_of, last, &feed.rows, feed.skipped)
            .await
            .unwrap();
    }

    /// Reads a stock snapshot now, to apply now or later.
    pub async fn snapshot(&self) -> supply_sync::Snapshot<supply_sync::ErpStock> {
        self.http.stock().await.unwrap()
    }

    pub async fn apply_snapshot(&self, snap: &supply_sync::Snapshot<supply_sync::ErpStock>) {
        let rows: Vec<(String, String, u32)> = snap
            .rows
            .iter()
            .map(|r| (r.warehouse.clone(), r.sku.to_string(), r.on_hand))
            .collect();
        self.sync
            .apply_stock(
                snap.as_of,
                snap.seq.expect("the fake says its Urutan"),
                &rows,
                snap.skipped,
            )
            .await
            .unwrap();
    }

    pub async fn actor(&self, partner: &str) -> identity::Actor {
        testkit::auth::partner_actor(&self.client, partner).await
    }

    /// Checkout as orders-api runs it. `Err` with the reason for a business refusal (out of stock, over the credit
    /// limit).
    pub async fn place(
        &self,
        actor: &identity::Actor,
        key: &str,
        cart: &[(&str, u32)],
        now: DateTime<Utc>,
    ) -> Result<Order, String> {
        let cart: Vec<commercial::CartLine> = cart
            .iter()
            .map(|(sku, q)| commercial::CartLine {
                sku: Sku::parse(sku).unwrap(),
                quantity: Quantity::new(i64::from(*q)).unwrap(),
            })
            .collect();
        let placed = self
            .orders
            .place(PlaceOrder {
                actor,
                key: &IdempotencyKey::parse(key).unwrap(),
                fingerprint: key,
                cart: &cart,
                now,
            })
            .await;
        match placed {
            Ok(Placed::Created { answer, .. }) => {
                let id = uuid::Uuid::parse_str(answer.body["id"].as_str().unwrap()).unwrap();
                Ok(self.order(id).await)
            }
            Ok(Placed::Replayed(_)) => panic!("key {key} was used twice"),
            Err(PlaceOrderError::Unavailable(e)) => panic!("checkout failed: {e:#}"),
            Err(e) => Err(e.to_string()),
        }
    }

    pub async fn order(&self, id: uuid::Uuid) -> Order {
        self.orders.store().order(id, None).await.unwrap().unwrap()
    }

    /// A settlement notification from the gateway, signed as the gateway signs it.
    pub async fn pay(&self, order: &Order, now: DateTime<Utc>) -> orders::PaymentOutcome {
        let id = order.id.to_string();
        let amount = format!("{}.00", order.tax.total_incl_tax.minor());
        let n = orders::Notification::parse(serde_json::json!({
            "order_id": id, "status_code": "200", "gross_amount": amount,
            "transaction_id": format!("t-{id}"), "transaction_status": "settlement",
            "signature_key": orders::payment::signature(&id, "200", &amount, &self.key),
        }))
        .unwrap();
        self.orders
            .apply_payment(&n, &orders::PaymentVerifier::signature_only(self.key.clone()), now)
            .await
            .unwrap()
    }

    /// What erp-sync-worker does with a paid order: the sales order to the ERP, then sent_to_erp.
    pub async fn send_to_erp(&self, id: uuid::Uuid, now: DateTime<Utc>) {
        let order = self.order(id).await;
        let delivery = self.http.send_order(&order).await.unwrap();
        self.orders
            .mark_sent_to_erp(id, &delivery.erp_order_no, now)
            .await
            .unwrap();
    }

    /// Every row of the SKUs in play.
    pub async fn stock(&self) -> BTreeMap<(String, String), Stock> {
        self.client
            .query(
                "SELECT warehouse_code, sku, on_hand, reserved, buffer FROM inventory WHERE sku = ANY($1)",
                &[&self.skus],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let n = |i: usize| i64::from(r.get::<_, i32>(i));
                (
                    (r.get(0), r.get(1)),
                    Stock {
                        on_hand: n(2),
                        reserved: n(3),
                        buffer: n(4),
                    },
                )
            })
            .collect()
    }

    /// Every order's status and its lines' (warehouse, SKU, shipped, returned), in line order, in one read.
    pub async fn order_states(&self) -> BTreeMap<uuid::Uuid, OrderState> {
        let mut out: BTreeMap<uuid::Uuid, OrderState> = BTreeMap::new();
        for r in self
            .client
            .query(
                "SELECT o.id, o.status, l.warehouse_code, l.sku, l.shipped, l.returned
                   FROM orders o JOIN order_lines l ON l.order_id = o.id AND l.placed_at = o.placed_at
                  ORDER BY o.id, l.line_no",
                &[],
            )
            .await
            .unwrap()
        {
            let e = out.entry(r.get(0)).or_insert_with(|| (r.get(1), Vec::new()));
            e.1.push((
                r.get(2),
                r.get(3),
                i64::from(r.get::<_, i32>(4)),
                i64::from(r.get::<_, i32>(5)),
            ));
        }
        out
    }

    pub async fn stock_of(&self, warehouse: &str, sku: &str) -> Stock {
        self.stock().await[&(warehouse.to_string(), sku.to_string())]
    }
}
