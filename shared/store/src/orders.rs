//! [`orders::OrderStore`] over PostgreSQL: checkout's transaction, order reads, payments, refunds due and expiry.
//!
//! One [`PgTx`] holds one pooled connection inside `BEGIN … COMMIT`, the `BEGIN` sent with its first statement.
//! Idempotency keys are claimed with a row, not a lock function (RDS Proxy pins a session on advisory lock
//! functions; see `0017_idempotency_claims.sql`): the claim row is inserted on its own before the transaction
//! begins, so a duplicate sees it at once, then locked `FOR UPDATE NOWAIT` inside it. A duplicate request arriving
//! while the first still runs fails to take the row lock at once and is told "busy" instead of queueing behind the
//! first. The key's answer row is written in the same transaction as the order. Nothing here sends a statement
//! on AWS's pinning list (`SET`, SQL `PREPARE`/`EXECUTE`, cursors, temporary tables, `LISTEN`, sequence or lock
//! functions).
//!
//! Lock order, the same everywhere, so concurrent checkouts never deadlock: idempotency key → partner row →
//! inventory rows by (sku, warehouse); or order rows → inventory rows by (sku, warehouse), an expiry batch taking
//! every order's rows in one statement, so the (sku, warehouse) order holds across the whole batch.

use crate::pool::{describe, Db};
use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use commercial::{CreditPosition, PaymentTerms, Ppn, PpnRate, PpnSchedule, PricingPolicy};
use kernel::{GeoPoint, Money, Sku, Tier};
use orders::idempotency::KEY_TTL_HOURS;
use orders::ports::{CheckoutSettings, ListPosition, OrderStore, OrderTx, PartnerAccount};
use orders::{
    AuditEntry, KeyClaim, Order, OrderLine, OrderStatus, OrderSummary, OutboxEvent, PaymentRecord, RefundDue,
    RefundDueEntry, StoredAnswer,
};
use std::collections::BTreeMap;
use supply::{StockLevel, Warehouse};
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

/// The Postgres order store (writer pool).
#[derive(Debug, Clone)]
pub struct PgOrders {
    db: Db,
}

impl PgOrders {
    pub fn new(db: Db) -> Self {
        PgOrders { db }
    }
}

fn q(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

/// An open transaction. Dropped without commit or rollback (a panic, a cancelled request), its connection is
/// taken out of the pool and closed, so the server rolls back and no half-finished transaction is reused.
pub struct PgTx {
    client: Option<deadpool_postgres::Object>,
    /// Whether `BEGIN` has been sent. It goes with the first statement, so a claim can commit its row first.
    begun: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx").field("open", &self.client.is_some()).finish()
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(obj) = self.client.take() {
            drop(deadpool_postgres::Object::take(obj));
        }
    }
}

impl PgTx {
    fn c(&self) -> anyhow::Result<&deadpool_postgres::Object> {
        self.client
            .as_ref()
            .ok_or_else(|| anyhow!("transaction already finished"))
    }

    /// The connection, inside the transaction (sending `BEGIN` first if nothing has been sent yet).
    async fn tx(&self) -> anyhow::Result<&deadpool_postgres::Object> {
        use std::sync::atomic::Ordering;
        let client = self.c()?;
        if !self.begun.load(Ordering::Acquire) {
            client.batch_execute("BEGIN").await.map_err(q)?;
            self.begun.store(true, Ordering::Release);
        }
        Ok(client)
    }

    async fn exec(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> anyhow::Result<u64> {
        self.tx().await?.execute_typed(sql, params).await.map_err(q)
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> anyhow::Result<Vec<tokio_postgres::Row>> {
        self.tx().await?.query_typed(sql, params).await.map_err(q)
    }

    /// The first column of the first row, if any.
    async fn scalar<T>(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> anyhow::Result<Option<T>>
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        Ok(self.rows(sql, params).await?.first().map(|r| r.get(0)))
    }

    async fn end(mut self, sql: &str) -> anyhow::Result<()> {
        let client = self
            .client
            .take()
            .ok_or_else(|| anyhow!("transaction already finished"))?;
        match client.batch_execute(sql).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The connection's state is unknown: discard it rather than return it to the pool.
                drop(deadpool_postgres::Object::take(client));
                Err(q(e))
            }
        }
    }
}

impl OrderStore for PgOrders {
    type Tx = PgTx;

    async fn begin(&self) -> anyhow::Result<PgTx> {
        let client = self.db.write_client().await?;
        Ok(PgTx {
            client: Some(client),
            begun: std::sync::atomic::AtomicBool::new(false),
        })
    }

    async fn order(&self, id: Uuid, partner: Option<i64>) -> anyhow::Result<Option<Order>> {
        // The writer: the port promises read-your-writes, which an asynchronous replica cannot keep.
        let client = self.db.write_client().await?;
        load_order(&client, id, partner, false).await
    }

    async fn orders(&self, partner: i64, after: Option<ListPosition>, limit: u32) -> anyhow::Result<Vec<OrderSummary>> {
        let client = self.db.read_client().await?;
        let (at, id) = after.map_or((None, None), |(t, i)| (Some(t), Some(i)));
        let rows = client
            .query_typed(
                "SELECT id, status, placed_at, total, placed_by_agent, total_incl_tax FROM orders
                 WHERE partner_id = $1 AND ($2::timestamptz IS NULL OR (placed_at, id) < ($2, $3))
                 ORDER BY placed_at DESC, id DESC LIMIT $4",
                &[
                    (&partner, Type::INT8),
                    (&at, Type::TIMESTAMPTZ),
                    (&id, Type::UUID),
                    (&i64::from(limit), Type::INT8),
                ],
            )
            .await
            .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok(OrderSummary {
                    id: r.get(0),
                    status: r.get::<_, String>(1).parse()?,
                    placed_at: r.get(2),
                    total: Money::from_minor(r.get(3)),
                    total_incl_tax: Money::from_minor(r.get(5)),
                    currency: kernel::Currency::Idr,
                    placed_by_agent: r.get(4),
                })
            })
            .collect()
    }

    async fn request_erp_sync(
        &self,
        statuses: &[OrderStatus],
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<Uuid>> {
        let client = self.db.write_client().await?;
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        // One statement: the nudge and its event commit together. The first two conditions repeat the partial
        // index's predicate so the planner can use it.
        let rows = client
            .query_typed(
                "WITH due AS (
                    SELECT id, placed_at FROM orders
                    WHERE erp_sent_at IS NULL AND status NOT IN ('cancelled', 'expired')
                      AND status = ANY($1) AND erp_rejected_at IS NULL
                      AND greatest(updated_at, erp_nudged_at) < $2
                    ORDER BY updated_at, id LIMIT $4
                    FOR UPDATE SKIP LOCKED
                 ), nudged AS (
                    UPDATE orders o SET erp_nudged_at = $3 FROM due
                    WHERE o.id = due.id AND o.placed_at = due.placed_at
                    RETURNING o.id, o.status
                 )
                 INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
                 SELECT 'order', id::text, $5, jsonb_build_object('order_id', id, 'status', status) FROM nudged
                 RETURNING aggregate_id::uuid",
                &[
                    (&statuses, Type::TEXT_ARRAY),
                    (&cutoff, Type::TIMESTAMPTZ),
                    (&now, Type::TIMESTAMPTZ),
                    (&i64::from(limit), Type::INT8),
                    (&OutboxEvent::ERP_SYNC_REQUESTED, Type::TEXT),
                ],
            )
            .await
            .map_err(q)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn record_erp_rejection(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE orders SET erp_rejected_at = $2, erp_rejection = $3 WHERE id = $1",
                &[(&id, Type::UUID), (&now, Type::TIMESTAMPTZ), (&reason, Type::TEXT)],
            )
            .await
            .map_err(q)?;
        Ok(())
    }

    async fn refunds_due(&self, before: Option<i64>, limit: u32) -> anyhow::Result<Vec<RefundDueEntry>> {
        let client = self.db.read_client().await?;
        let rows = client
            .query_typed(
                "SELECT id, order_id, partner_id, transaction_id, transaction_status, amount, order_status, recorded_at
                 FROM refunds_due WHERE ($1::int8 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                &[(&before, Type::INT8), (&i64::from(limit), Type::INT8)],
            )
            .await
            .map_err(q)?;
        rows.iter()
            .map(|r| {
                Ok(RefundDueEntry {
                    id: r.get(0),
                    refund: RefundDue {
                        order_id: r.get(1),
                        partner_id: r.get(2),
                        transaction_id: r.get(3),
                        transaction_status: r.get(4),
                        amount: Money::from_minor(r.get(5)),
                        currency: kernel::Currency::Idr,
                        order_status: r.get::<_, String>(6).parse()?,
                        recorded_at: r.get(7),
                    },
                })
            })
            .collect()
    }
}

const ORDER_COLUMNS: &str = "id, status, partner_id, tier, placed_by, placed_by_agent, placed_at, payment_due_at, \
                             paid_at, list_total, total, promised_sla_hours, erp_order_no, ppn_tariff_bp, \
                             ppn_dpp_numerator, ppn_dpp_denominator, dpp, ppn, total_incl_tax, payment_terms_days";

async fn load_order(
    client: &tokio_postgres::Client,
    id: Uuid,
    partner: Option<i64>,
    lock: bool,
) -> anyhow::Result<Option<Order>> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 AND ($2::int8 IS NULL OR partner_id = $2){}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let rows = client
        .query_typed(&sql, &[(&id, Type::UUID), (&partner, Type::INT8)])
        .await
        .map_err(q)?;
    let Some(r) = rows.first() else { return Ok(None) };
    let placed_at: DateTime<Utc> = r.get(6);
    let lines = client
        .query_typed(
            "SELECT sku, warehouse_code, quantity, list_price, unit_price, shipped, returned FROM order_lines
             WHERE order_id = $1 AND placed_at = $2 ORDER BY line_no",
            &[(&id, Type::UUID), (&placed_at, Type::TIMESTAMPTZ)],
        )
        .await
        .map_err(q)?
        .iter()
        .map(|l| {
            let quantity = u32::try_from(l.get::<_, i32>(2))?;
            let unit_price = Money::from_minor(l.get(4));
            Ok(OrderLine {
                sku: Sku::parse(l.get(0))?,
                warehouse: l.get(1),
                quantity,
                list_price: Money::from_minor(l.get(3)),
                unit_price,
                line_total: unit_price.times(quantity)?,
                shipped: u32::try_from(l.get::<_, i32>(5))?,
                returned: u32::try_from(l.get::<_, i32>(6))?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let list_total = Money::from_minor(r.get(9));
    let total = Money::from_minor(r.get(10));
    let count = |i: usize| u32::try_from(r.get::<_, i32>(i));
    let tax = Ppn {
        ppn_tariff_bp: count(13)?,
        dpp_numerator: count(14)?,
        dpp_denominator: count(15)?,
        dpp: Money::from_minor(r.get(16)),
        ppn: Money::from_minor(r.get(17)),
        total_incl_tax: Money::from_minor(r.get(18)),
    };
    Ok(Some(Order {
        id: r.get(0),
        status: r.get::<_, String>(1).parse()?,
        partner_id: r.get(2),
        tier: r.get::<_, String>(3).parse()?,
        placed_by: r.get(4),
        placed_by_agent: r.get(5),
        placed_at,
        payment_due_at: r.get(7),
        paid_at: r.get(8),
        lines,
        list_total,
        discount: list_total.checked_sub(total)?,
        total,
        tax,
        currency: kernel::Currency::Idr,
        payment_terms_days: r.get::<_, Option<i32>>(19).map(u32::try_from).transpose()?,
        promised_sla_hours: u32::try_from(r.get::<_, i32>(11))?,
        erp_order_no: r.get(12),
    }))
}

/// Checkout settings from `system_config`.
pub async fn read_checkout_settings(client: &tokio_postgres::Client) -> anyhow::Result<CheckoutSettings> {
    let rows = client
        .query_typed(
            "SELECT key, value FROM system_config
             WHERE key LIKE 'pricing.%' OR key IN ('orders.payment_window_minutes', 'tax.ppn_schedule')",
            &[],
        )
        .await
        .map_err(q)?;
    let values: BTreeMap<String, serde_json::Value> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let int = |key: &str| -> anyhow::Result<i64> {
        values
            .get(key)
            .and_then(serde_json::Value::as_i64)
            .with_context(|| format!("system_config `{key}` is missing or not an integer"))
    };
    let mut loyalty = Vec::new();
    for tier in Tier::ALL {
        let bp = int(&format!("pricing.loyalty_multiplier_bp.{tier}"))?;
        loyalty.push((tier, u32::try_from(bp).context("loyalty multiplier out of range")?));
    }
    let pricing = PricingPolicy::new(loyalty, Money::from_minor(int("pricing.minimum_order_total")?))
        .map_err(|e| anyhow!("system_config pricing settings: {e}"))?;
    Ok(CheckoutSettings {
        pricing,
        payment_window_minutes: int("orders.payment_window_minutes")?,
        ppn: ppn_schedule(values.get(PPN_SCHEDULE))?,
    })
}

const PPN_SCHEDULE: &str = "tax.ppn_schedule";

/// `[{"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11}, ...]` (its schema in migration 0016) as a
/// schedule. Fails on anything else: a guessed rate would put the wrong tax on invoices.
fn ppn_schedule(value: Option<&serde_json::Value>) -> anyhow::Result<PpnSchedule> {
    let bad = |why: String| anyhow!("system_config `{PPN_SCHEDULE}`: {why}");
    let entries = value
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| bad("missing or not a list".into()))?;
    let mut from = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let int = |k: &str| {
            e.get(k)
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(format!("entry {i} has no `{k}`")))
        };
        let day = e
            .get("from")
            .and_then(serde_json::Value::as_str)
            .and_then(settings::parse_day)
            .ok_or_else(|| bad(format!("entry {i} has no `from` day")))?;
        let rate = PpnRate::new(int("tariff_bp")?, int("dpp_twelfths")?, 12).map_err(|e| bad(e.to_string()))?;
        from.push((day, rate));
    }
    PpnSchedule::new(from).map_err(|e| bad(e.to_string()))
}

/// Active list prices at a tier.
pub async fn read_list_prices(
    client: &tokio_postgres::Client,
    tier: Tier,
    skus: &[Sku],
) -> anyhow::Result<BTreeMap<Sku, Money>> {
    let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
    let rows = client
        .query_typed(
            "SELECT pl.sku, pl.price FROM price_lists pl JOIN products p ON p.sku = pl.sku
             WHERE pl.tier = $1 AND pl.sku = ANY($2) AND p.is_active",
            &[(&tier.as_str(), Type::TEXT), (&skus, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(q)?;
    rows.iter()
        .map(|r| Ok((Sku::parse(r.get(0))?, Money::price(r.get(1))?)))
        .collect()
}

fn count(n: i32) -> anyhow::Result<u32> {
    u32::try_from(n).map_err(|_| anyhow!("negative stock count {n}"))
}

impl OrderTx for PgTx {
    async fn claim_key(&mut self, scope: &str, key: &str) -> anyhow::Result<KeyClaim> {
        use std::sync::atomic::Ordering;
        if self.begun.load(Ordering::Acquire) {
            // The claim row must be committed before this transaction's lock on it, or a duplicate would wait on
            // the uncommitted insert instead of being told "busy".
            bail!("an idempotency key must be claimed before anything else in its transaction");
        }
        // On its own, committed at once: visible to a duplicate before either takes the row lock. DO NOTHING never
        // waits for a row another transaction has locked (DO UPDATE would).
        self.c()?
            .execute_typed(
                "INSERT INTO idempotency_claims (scope, key, expires_at)
                 VALUES ($1, $2, now() + make_interval(hours => $3))
                 ON CONFLICT (scope, key) DO NOTHING",
                &[
                    (&scope, Type::TEXT),
                    (&key, Type::TEXT),
                    (&(KEY_TTL_HOURS as i32), Type::INT4),
                ],
            )
            .await
            .map_err(q)?;
        let locked = self
            .tx()
            .await?
            .query_typed(
                "SELECT 1 FROM idempotency_claims WHERE scope = $1 AND key = $2 FOR UPDATE NOWAIT",
                &[(&scope, Type::TEXT), (&key, Type::TEXT)],
            )
            .await;
        match locked {
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                return Ok(KeyClaim::Busy);
            }
            Err(e) => return Err(q(e)),
            Ok(rows) if rows.is_empty() => bail!("idempotency claim for `{key}` vanished before it was locked"),
            Ok(_) => {}
        }
        // A separate statement, so its snapshot is taken after the lock: a first request that committed while we
        // waited for nothing is visible here.
        let rows = self
            .rows(
                "SELECT request_hash, status_code, response, resource_id FROM idempotency_keys
                 WHERE scope = $1 AND key = $2 AND expires_at > now()",
                &[(&scope, Type::TEXT), (&key, Type::TEXT)],
            )
            .await?;
        Ok(match rows.first() {
            None => KeyClaim::Fresh,
            Some(r) => KeyClaim::Answered(StoredAnswer {
                fingerprint: r.get(0),
                status: u16::try_from(r.get::<_, i32>(1))?,
                body: r.get(2),
                resource_id: r.get(3),
            }),
        })
    }

    async fn save_answer(
        &mut self,
        scope: &str,
        key: &str,
        a: &StoredAnswer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let expires = now + chrono::Duration::hours(KEY_TTL_HOURS);
        let n = self
            .exec(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response, resource_id, created_at,
                                               expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash,
                    status_code = excluded.status_code, response = excluded.response,
                    resource_id = excluded.resource_id, created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                 WHERE idempotency_keys.expires_at <= now()",
                &[
                    (&scope, Type::TEXT),
                    (&key, Type::TEXT),
                    (&a.fingerprint, Type::TEXT),
                    (&i32::from(a.status), Type::INT4),
                    (&a.body, Type::JSONB),
                    (&a.resource_id, Type::TEXT),
                    (&now, Type::TIMESTAMPTZ),
                    (&expires, Type::TIMESTAMPTZ),
                ],
            )
            .await?;
        if n != 1 {
            bail!("idempotency key already answered");
        }
        Ok(())
    }

    async fn lock_account(&mut self, partner: i64) -> anyhow::Result<Option<PartnerAccount>> {
        let rows = self
            .rows(
                "SELECT credit_limit, erp_debt, erp_synced_at, payment_terms_days FROM partners WHERE id = $1 FOR UPDATE",
                &[(&partner, Type::INT8)],
            )
            .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let synced_at: Option<DateTime<Utc>> = r.get(2);
        // A second statement, so its snapshot is taken after the lock: orders committed by the checkout we waited
        // for are counted. (A subquery in the locking statement would read the snapshot from before the wait.)
        // Terms orders count until a debt snapshot taken after the ERP had them (`erp_sent_at` is set once the ERP
        // answered, so a snapshot as of then or later includes them); the commercial crate states the rule.
        let open: i64 = self
            .scalar(
                "SELECT ((SELECT coalesce(sum(total_incl_tax), 0) FROM orders
                          WHERE partner_id = $1 AND status = 'pending_payment')
                       + (SELECT coalesce(sum(total_incl_tax), 0) FROM orders
                          WHERE partner_id = $1 AND payment_terms_days IS NOT NULL
                            AND (erp_sent_at IS NULL OR $2::timestamptz IS NULL OR erp_sent_at > $2)))::int8",
                &[(&partner, Type::INT8), (&synced_at, Type::TIMESTAMPTZ)],
            )
            .await?
            .unwrap_or(0);
        Ok(Some(PartnerAccount {
            credit: CreditPosition {
                limit: Money::from_minor(r.get(0)),
                erp_debt: Money::from_minor(r.get(1)),
                open_unpaid: Money::from_minor(open),
            },
            terms: PaymentTerms::from_days(r.get::<_, Option<i32>>(3).map(i64::from))?,
        }))
    }

    async fn checkout_settings(&mut self) -> anyhow::Result<CheckoutSettings> {
        read_checkout_settings(self.tx().await?).await
    }

    async fn list_prices(&mut self, tier: Tier, skus: &[Sku]) -> anyhow::Result<BTreeMap<Sku, Money>> {
        read_list_prices(self.tx().await?, tier, skus).await
    }

    async fn lock_stock(&mut self, skus: &[Sku]) -> anyhow::Result<(Vec<Warehouse>, Vec<StockLevel>)> {
        let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        // ORDER BY sits below the row-locking step, so rows are locked in (sku, warehouse) order.
        let stock = self
            .rows(
                "SELECT warehouse_code, sku, on_hand, reserved, buffer FROM inventory
                 WHERE sku = ANY($1) ORDER BY sku, warehouse_code FOR UPDATE",
                &[(&names, Type::TEXT_ARRAY)],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(StockLevel {
                    warehouse: r.get(0),
                    sku: Sku::parse(r.get(1))?,
                    on_hand: count(r.get(2))?,
                    reserved: count(r.get(3))?,
                    buffer: count(r.get(4))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let warehouses = self
            .rows(
                "SELECT code, lat_e6, lon_e6, sla_hours, service_radius_km FROM warehouses ORDER BY code",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Warehouse {
                    code: r.get(0),
                    location: GeoPoint::new(r.get(1), r.get(2))?,
                    sla_hours: count(r.get(3))?,
                    service_radius_km: count(r.get(4))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((warehouses, stock))
    }

    async fn adjust_reserved(&mut self, changes: &[(Sku, String, i64)]) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<&(Sku, String, i64)> = changes.iter().collect();
        sorted.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let skus: Vec<&str> = sorted.iter().map(|c| c.0.as_str()).collect();
        let warehouses: Vec<&str> = sorted.iter().map(|c| c.1.as_str()).collect();
        let deltas: Vec<i64> = sorted.iter().map(|c| c.2).collect();
        // Lock first, in the fixed order (a no-op for rows this transaction already holds), then update. Only a
        // reservation is bounded by on hand: a release must go through even when on hand has fallen below what is
        // reserved (the ERP shipped goods whose delivery note is not read yet, or sold them elsewhere).
        self.rows(
            "SELECT 1 FROM inventory i JOIN unnest($1::text[], $2::text[]) AS x(s, w)
               ON i.sku = x.s AND i.warehouse_code = x.w
             ORDER BY i.sku, i.warehouse_code FOR UPDATE OF i",
            &[(&skus, Type::TEXT_ARRAY), (&warehouses, Type::TEXT_ARRAY)],
        )
        .await?;
        let n = self
            .exec(
                "UPDATE inventory i SET reserved = i.reserved + x.d, updated_at = now()
                 FROM unnest($1::text[], $2::text[], $3::int8[]) AS x(s, w, d)
                 WHERE i.sku = x.s AND i.warehouse_code = x.w
                   AND i.reserved + x.d >= 0 AND (x.d <= 0 OR i.reserved + x.d <= i.on_hand)",
                &[
                    (&skus, Type::TEXT_ARRAY),
                    (&warehouses, Type::TEXT_ARRAY),
                    (&deltas, Type::INT8_ARRAY),
                ],
            )
            .await?;
        if n != changes.len() as u64 {
            bail!("stock reservation out of bounds: {n} of {} rows changed", changes.len());
        }
        Ok(())
    }

    async fn insert_order(&mut self, o: &Order) -> anyhow::Result<()> {
        let amount = |m: Money| m.minor();
        self.exec(
            "INSERT INTO orders (id, placed_at, partner_id, placed_by, placed_by_agent, status, total, list_total,
                                 tier, payment_due_at, promised_sla_hours, ppn_tariff_bp, ppn_dpp_numerator,
                                 ppn_dpp_denominator, dpp, ppn, payment_terms_days)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            &[
                (&o.id, Type::UUID),
                (&o.placed_at, Type::TIMESTAMPTZ),
                (&o.partner_id, Type::INT8),
                (&o.placed_by, Type::TEXT),
                (&o.placed_by_agent, Type::TEXT),
                (&o.status.as_str(), Type::TEXT),
                (&amount(o.total), Type::INT8),
                (&amount(o.list_total), Type::INT8),
                (&o.tier.as_str(), Type::TEXT),
                (&o.payment_due_at, Type::TIMESTAMPTZ),
                (&i32::try_from(o.promised_sla_hours)?, Type::INT4),
                (&i32::try_from(o.tax.ppn_tariff_bp)?, Type::INT4),
                (&i32::try_from(o.tax.dpp_numerator)?, Type::INT4),
                (&i32::try_from(o.tax.dpp_denominator)?, Type::INT4),
                (&amount(o.tax.dpp), Type::INT8),
                (&amount(o.tax.ppn), Type::INT8),
                (&o.payment_terms_days.map(i32::try_from).transpose()?, Type::INT4),
            ],
        )
        .await?;
        let line_no: Vec<i32> = (1..=o.lines.len() as i32).collect();
        let skus: Vec<&str> = o.lines.iter().map(|l| l.sku.as_str()).collect();
        let warehouses: Vec<&str> = o.lines.iter().map(|l| l.warehouse.as_str()).collect();
        let quantities: Vec<i32> = o.lines.iter().map(|l| l.quantity as i32).collect();
        let unit: Vec<i64> = o.lines.iter().map(|l| l.unit_price.minor()).collect();
        let list: Vec<i64> = o.lines.iter().map(|l| l.list_price.minor()).collect();
        self.exec(
            "INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, list_price,
                                      unit_cost)
             SELECT $1, $2, t.n, t.s, t.w, t.q, t.u, t.l, p.cost_price
             FROM unnest($3::int4[], $4::text[], $5::text[], $6::int4[], $7::int8[], $8::int8[]) AS t (n, s, w, q, u, l)
             JOIN products p ON p.sku = t.s",
            &[
                (&o.id, Type::UUID),
                (&o.placed_at, Type::TIMESTAMPTZ),
                (&line_no, Type::INT4_ARRAY),
                (&skus, Type::TEXT_ARRAY),
                (&warehouses, Type::TEXT_ARRAY),
                (&quantities, Type::INT4_ARRAY),
                (&unit, Type::INT8_ARRAY),
                (&list, Type::INT8_ARRAY),
            ],
        )
        .await?;
        Ok(())
    }

    async fn lock_order(&mut self, id: Uuid, partner: Option<i64>) -> anyhow::Result<Option<Order>> {
        load_order(self.tx().await?, id, partner, true).await
    }

    async fn lock_overdue(&mut self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Order>> {
        let ids: Vec<Uuid> = self
            .rows(
                "SELECT id FROM orders WHERE status = 'pending_payment' AND payment_due_at < $1
                 ORDER BY payment_due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[(&now, Type::TIMESTAMPTZ), (&i64::from(limit), Type::INT8)],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(o) = load_order(self.tx().await?, id, None, false).await? {
                out.push(o);
            }
        }
        Ok(out)
    }

    async fn update_status(&mut self, o: &Order, now: DateTime<Utc>) -> anyhow::Result<()> {
        let closed = matches!(o.status, OrderStatus::Cancelled | OrderStatus::Expired).then_some(now);
        let n = self
            .exec(
                "UPDATE orders SET status = $3, paid_at = $4, closed_at = coalesce($5, closed_at), updated_at = $6,
                        erp_order_no = coalesce($7, erp_order_no),
                        erp_sent_at = CASE WHEN ($3 = 'sent_to_erp' OR $7 IS NOT NULL) AND erp_sent_at IS NULL THEN $6 ELSE erp_sent_at END
                 WHERE id = $1 AND placed_at = $2",
                &[
                    (&o.id, Type::UUID),
                    (&o.placed_at, Type::TIMESTAMPTZ),
                    (&o.status.as_str(), Type::TEXT),
                    (&o.paid_at, Type::TIMESTAMPTZ),
                    (&closed, Type::TIMESTAMPTZ),
                    (&now, Type::TIMESTAMPTZ),
                    (&o.erp_order_no, Type::TEXT),
                ],
            )
            .await?;
        if n != 1 {
            bail!("order {} vanished while locked", o.id);
        }
        Ok(())
    }

    async fn record_payment(&mut self, r: &PaymentRecord) -> anyhow::Result<bool> {
        let n = self
            .exec(
                "INSERT INTO payment_notifications (order_id, transaction_id, transaction_status, gross_amount,
                                                    outcome, payload)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (order_id, transaction_id, transaction_status) DO NOTHING",
                &[
                    (&r.order_id, Type::UUID),
                    (&r.transaction_id, Type::TEXT),
                    (&r.transaction_status, Type::TEXT),
                    (&r.gross_amount.minor(), Type::INT8),
                    (&r.outcome, Type::TEXT),
                    (&r.payload, Type::JSONB),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn record_refund_due(&mut self, r: &RefundDue) -> anyhow::Result<bool> {
        let n = self
            .exec(
                "INSERT INTO refunds_due (order_id, partner_id, transaction_id, transaction_status, amount, order_status,
                                          recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (order_id, transaction_id) DO NOTHING",
                &[
                    (&r.order_id, Type::UUID),
                    (&r.partner_id, Type::INT8),
                    (&r.transaction_id, Type::TEXT),
                    (&r.transaction_status, Type::TEXT),
                    (&r.amount.minor(), Type::INT8),
                    (&r.order_status.as_str(), Type::TEXT),
                    (&r.recorded_at, Type::TIMESTAMPTZ),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn append_event(&mut self, e: &OutboxEvent) -> anyhow::Result<()> {
        let id = e.aggregate_id.to_string();
        self.exec(
            "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, $3)",
            &[
                (&id, Type::TEXT),
                (&e.event_type, Type::TEXT),
                (&e.payload, Type::JSONB),
            ],
        )
        .await?;
        Ok(())
    }

    async fn audit(&mut self, a: &AuditEntry) -> anyhow::Result<()> {
        self.exec(
            "INSERT INTO audit_log (actor, acting_for, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            &[
                (&a.actor, Type::TEXT),
                (&a.acting_for, Type::TEXT),
                (&a.action, Type::TEXT),
                (&a.subject, Type::TEXT),
                (&a.detail, Type::JSONB),
            ],
        )
        .await?;
        Ok(())
    }

    async fn commit(self) -> anyhow::Result<()> {
        self.end("COMMIT").await
    }

    async fn rollback(self) -> anyhow::Result<()> {
        self.end("ROLLBACK").await
    }
}
