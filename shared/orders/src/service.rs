//! The orders use-cases: place, read, list, cancel, expire and apply a payment notification.
//!
//! Each write runs in one [`OrderTx`]: the order, its stock reservations, its outbox event, its audit row and (for
//! checkout) the idempotency key's answer commit together or not at all. Commercial and supply never meet
//! directly: this module asks commercial for the price and the credit verdict, supply for the route, and stores
//! the result.

use crate::idempotency::{IdempotencyKey, KeyClaim, StoredAnswer};
use crate::model::{AuditEntry, Order, OrderLine, OrderSummary, OutboxEvent};
use crate::payment::{
    Notification, PaymentGateway, PaymentRecord, PaymentState, PaymentVerifier, RefundDue, RefundDueEntry,
};
use crate::ports::{ListPosition, OrderStore, OrderTx};
use crate::status::{IllegalTransition, OrderEvent, OrderStatus};
use chrono::{DateTime, Duration as ChronoDuration, SubsecRound, Utc};
use commercial::{BelowMinimumOrder, CartLine, CreditLimitExceeded, PaymentTerms, Ppn, QuoteError, TaxError};
use identity::{AccessError, Actor, PartnerAttrs, Role};
use kernel::{Money, Sku};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use supply::{Demand, RouteError};
use uuid::Uuid;

/// A checkout request, already parsed at the edge.
#[derive(Debug)]
pub struct PlaceOrder<'a> {
    pub actor: &'a Actor,
    pub key: &'a IdempotencyKey,
    /// [`crate::idempotency::fingerprint`] of the request body.
    pub fingerprint: &'a str,
    pub cart: &'a [CartLine],
    pub now: DateTime<Utc>,
}

/// What checkout answered.
#[derive(Debug)]
pub enum Placed {
    /// A new order; `routing` is how long SLA routing took (`lead_routing_latency_ms`).
    Created { answer: StoredAnswer, routing: Duration },
    /// The stored answer to an earlier request with this key.
    Replayed(StoredAnswer),
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("this Idempotency-Key was already used with a different request body")]
    KeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    InFlight,
    #[error("the partner does not exist")]
    UnknownPartner,
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error(transparent)]
    BelowMinimum(#[from] BelowMinimumOrder),
    #[error(transparent)]
    CreditLimit(#[from] CreditLimitExceeded),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("order storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why reading, cancelling or changing an order failed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("no such order")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("order storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why a payment notification was refused. Nothing is written for any of these.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the notification signature is not valid")]
    BadSignature,
    #[error("no such order")]
    UnknownOrder,
    #[error("gross_amount {got} does not match the order total with PPN {expected}")]
    AmountMismatch { expected: Money, got: Money },
    /// The gateway's Get Status API does not confirm the success the notification reports: another transaction,
    /// another status or another amount. The notification may be forged, or the gateway may not have caught up.
    #[error("the payment gateway does not confirm the notification: {0}")]
    NotConfirmed(String),
    /// The gateway's Get Status API could not confirm the success: unreachable, too slow, or an undocumented answer.
    #[error(transparent)]
    GatewayUnavailable(#[from] crate::payment::GatewayUnavailable),
    #[error("order storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// What a valid notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOutcome {
    /// applied | recorded | already_applied | conflict | duplicate
    pub outcome: &'static str,
    pub status: OrderStatus,
    /// Set when the notification brought money for an order that can no longer take it: the refund owed.
    pub refund_due: Option<RefundDue>,
    /// True when this notification wrote `refund_due` (the first notification of that transaction to arrive
    /// after the order closed); false when it was already recorded.
    pub refund_recorded: bool,
}

/// A page of `GET /admin/refunds-due`.
#[derive(Debug)]
pub struct RefundDuePage {
    pub items: Vec<RefundDueEntry>,
    /// The last item's id, when there may be more.
    pub next: Option<i64>,
}

/// A page of `GET /orders`.
#[derive(Debug)]
pub struct OrderPage {
    pub items: Vec<OrderSummary>,
    pub next: Option<ListPosition>,
}

/// The orders application service over a store.
#[derive(Debug)]
pub struct Orders<S> {
    store: S,
}

enum Step {
    Commit(StoredAnswer, Duration),
    Replay(StoredAnswer),
}

fn unavailable<E>(e: anyhow::Error) -> E
where
    E: From<Unavailable>,
{
    E::from(Unavailable(e))
}

/// Internal carrier so one helper can build each operation's `Unavailable` variant.
struct Unavailable(anyhow::Error);

impl From<Unavailable> for PlaceOrderError {
    fn from(u: Unavailable) -> Self {
        PlaceOrderError::Unavailable(u.0)
    }
}
impl From<Unavailable> for OrderError {
    fn from(u: Unavailable) -> Self {
        OrderError::Unavailable(u.0)
    }
}
impl From<Unavailable> for PaymentError {
    fn from(u: Unavailable) -> Self {
        PaymentError::Unavailable(u.0)
    }
}

impl<S: OrderStore> Orders<S> {
    pub fn new(store: S) -> Self {
        Orders { store }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Checkout. Replays the stored answer for a key already answered, refuses a reused key with another body,
    /// and otherwise prices, checks credit, routes, reserves and records the order in one transaction.
    #[tracing::instrument(skip_all, fields(partner = tracing::field::Empty, lines = cmd.cart.len()))]
    pub async fn place(&self, cmd: PlaceOrder<'_>) -> Result<Placed, PlaceOrderError> {
        cmd.actor.require_role(&[Role::Partner, Role::SalesAgent])?;
        // Stored timestamps keep microseconds; the answer must read back exactly as it was given.
        let cmd = PlaceOrder {
            now: cmd.now.trunc_subsecs(6),
            ..cmd
        };
        let partner = *cmd.actor.require_partner()?;
        tracing::Span::current().record("partner", partner.id);
        // Keys are per caller and per partner acted for: nobody can replay someone else's answer.
        let scope = format!("{}|partner:{}", cmd.actor.subject, partner.id);
        let mut tx = self.store.begin().await.map_err(unavailable::<PlaceOrderError>)?;
        match place_in(&mut tx, &cmd, &partner, &scope).await {
            Ok(Step::Commit(answer, routing)) => {
                tx.commit().await.map_err(unavailable::<PlaceOrderError>)?;
                Ok(Placed::Created { answer, routing })
            }
            Ok(Step::Replay(answer)) => {
                rollback(tx).await;
                Ok(Placed::Replayed(answer))
            }
            Err(e) => {
                rollback(tx).await;
                Err(e)
            }
        }
    }

    /// One order, if the caller may see it. Another partner's order is `NotFound`, exactly like a missing one.
    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<Order, OrderError> {
        let partner = visible_partner(actor)?;
        self.store
            .order(id, partner)
            .await
            .map_err(unavailable::<OrderError>)?
            .ok_or(OrderError::NotFound)
    }

    /// The acting partner's orders, newest first.
    pub async fn list(&self, actor: &Actor, after: Option<ListPosition>, limit: u32) -> Result<OrderPage, OrderError> {
        let partner = actor.require_partner()?.id;
        let mut items = self
            .store
            .orders(partner, after, limit + 1)
            .await
            .map_err(unavailable::<OrderError>)?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|o| (o.placed_at, o.id))
        } else {
            None
        };
        Ok(OrderPage { items, next })
    }

    /// Cancels an unpaid order and releases its stock.
    pub async fn cancel(&self, actor: &Actor, id: Uuid, now: DateTime<Utc>) -> Result<Order, OrderError> {
        let partner = visible_partner(actor)?;
        let mut tx = self.store.begin().await.map_err(unavailable::<OrderError>)?;
        let result = async {
            let order = tx
                .lock_order(id, partner)
                .await
                .map_err(unavailable::<OrderError>)?
                .ok_or(OrderError::NotFound)?;
            let order = transition(&mut tx, order, OrderEvent::Cancel, now).await?;
            tx.audit(&AuditEntry {
                actor: actor.subject.clone(),
                acting_for: actor.agent().map(|_| order.partner_id.to_string()),
                action: "order.cancel",
                subject: format!("order:{}", order.id),
                detail: serde_json::json!({ "role": actor.role.as_str() }),
            })
            .await
            .map_err(unavailable::<OrderError>)?;
            Ok::<_, OrderError>(order)
        }
        .await;
        finish(tx, result).await
    }

    /// Records that the ERP has the order (paid → sent to ERP), with the ERP's order number. Safe to repeat: an
    /// order already sent, or fulfilled since, is returned unchanged.
    pub async fn mark_sent_to_erp(
        &self,
        id: Uuid,
        erp_order_no: &str,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let mut tx = self.store.begin().await.map_err(unavailable::<OrderError>)?;
        let result = async {
            let mut order = tx
                .lock_order(id, None)
                .await
                .map_err(unavailable::<OrderError>)?
                .ok_or(OrderError::NotFound)?;
            if order.status == OrderStatus::SentToErp || order.status.has_shipped() {
                // A delivery note can be read before the worker records the ERP's answer: keep the number.
                if order.erp_order_no.is_none() {
                    order.erp_order_no = Some(erp_order_no.to_string());
                    tx.update_status(&order, now).await.map_err(unavailable::<OrderError>)?;
                }
                return Ok(order);
            }
            order.status = order.status.apply(OrderEvent::SendToErp)?;
            order.erp_order_no = Some(erp_order_no.to_string());
            tx.update_status(&order, now).await.map_err(unavailable::<OrderError>)?;
            Ok::<_, OrderError>(order)
        }
        .await;
        finish(tx, result).await
    }

    /// The ERP ledger sweep: PostgreSQL knows which orders the ERP must have and which it has confirmed, so every
    /// order that [must reach the ERP](OrderStatus::must_reach_erp) and has gone unconfirmed for `resend_after`
    /// (since it last changed, or since its last nudge) is put back on the ERP sync queue, at most `limit` per call.
    /// Whatever happened to its first message (dead-lettered, dropped when its receive budget ran out, lost), the
    /// order reaches the ERP once the ERP is back. Orders the ERP refused are left to a person. Safe to run twice
    /// and concurrently: a nudged order waits `resend_after` again, and the ERP sync skips an order already sent.
    pub async fn request_erp_sync(
        &self,
        now: DateTime<Utc>,
        resend_after: Duration,
        limit: u32,
    ) -> Result<Vec<Uuid>, OrderError> {
        let statuses: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.must_reach_erp()).collect();
        let resend_after = ChronoDuration::from_std(resend_after).map_err(|e| OrderError::Unavailable(e.into()))?;
        self.store
            .request_erp_sync(&statuses, now - resend_after, now, limit)
            .await
            .map_err(unavailable::<OrderError>)
    }

    /// Records that the ERP refused the order's document: its message goes to the dead-letter queue for a person,
    /// and the ERP ledger sweep stops sending it. A redrive sends it again all the same.
    pub async fn record_erp_rejection(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<(), OrderError> {
        self.store
            .record_erp_rejection(id, reason, now)
            .await
            .map_err(unavailable::<OrderError>)
    }

    /// Expires up to `limit` unpaid orders past their payment window and releases their stock. Returns how many
    /// it expired; safe to run concurrently and twice (rows another run holds are skipped, expired ones are gone
    /// from the due list).
    pub async fn expire_overdue(&self, now: DateTime<Utc>, limit: u32) -> Result<usize, OrderError> {
        let mut tx = self.store.begin().await.map_err(unavailable::<OrderError>)?;
        let result = async {
            let due = tx.lock_overdue(now, limit).await.map_err(unavailable::<OrderError>)?;
            let n = due.len();
            let leaving = due
                .into_iter()
                .map(|order| Ok((order.status.apply(OrderEvent::Expire)?, order)))
                .collect::<Result<Vec<_>, IllegalTransition>>()?;
            // The whole batch's stock in one call, so its inventory rows are locked in the global (sku, warehouse)
            // order checkout uses. Released order by order, the batch would take the first order's rows, then the
            // second's, which may sort before them: a checkout holding those and waiting for the first's is a
            // deadlock.
            release_reservations(&mut tx, leaving.iter().map(|(next, order)| (order, *next))).await?;
            for (next, order) in leaving {
                let order = record_transition(&mut tx, order, next, now).await?;
                tx.audit(&AuditEntry {
                    actor: "system:order-expiry".into(),
                    acting_for: None,
                    action: "order.expire",
                    subject: format!("order:{}", order.id),
                    detail: serde_json::json!({ "payment_due_at": order.payment_due_at }),
                })
                .await
                .map_err(unavailable::<OrderError>)?;
            }
            Ok::<_, OrderError>(n)
        }
        .await;
        finish(tx, result).await
    }

    /// Applies a payment notification: checks the signature, confirms a success with the gateway when the verifier
    /// has one, checks the amount, records it once, and moves the order (settlement → paid; deny, cancel or
    /// failure → cancelled; expire → expired, releasing stock). Money for an order that has already closed is a
    /// refund due, recorded once per (order, transaction).
    #[tracing::instrument(skip_all, fields(order = %n.order_id, transaction_status = %n.transaction_status))]
    pub async fn apply_payment<G: PaymentGateway>(
        &self,
        n: &Notification,
        verifier: &PaymentVerifier<G>,
        now: DateTime<Utc>,
    ) -> Result<PaymentOutcome, PaymentError> {
        if !n.signature_is_valid(&verifier.server_key()) {
            return Err(PaymentError::BadSignature);
        }
        // Before the transaction, so no order row stays locked while the gateway answers. The order may change
        // meanwhile (expire, say); the transaction below decides on the order as it then is.
        if n.state == PaymentState::Paid {
            if let Some(gateway) = verifier.gateway() {
                confirm(gateway, n).await?;
            }
        }
        let mut tx = self.store.begin().await.map_err(unavailable::<PaymentError>)?;
        let result = async {
            let order = tx
                .lock_order(n.order_id, None)
                .await
                .map_err(unavailable::<PaymentError>)?
                .ok_or(PaymentError::UnknownOrder)?;
            if n.gross_amount != order.tax.total_incl_tax {
                return Err(PaymentError::AmountMismatch {
                    expected: order.tax.total_incl_tax,
                    got: n.gross_amount,
                });
            }
            let (outcome, next) = match n.event() {
                None => ("recorded", None),
                Some(event) => match order.status.apply(event) {
                    Ok(_) => ("applied", Some(event)),
                    Err(_) if already_reflects(order.status, event) => ("already_applied", None),
                    Err(_) => ("conflict", None),
                },
            };
            // Money arrived, and the order cannot take it: it left (cancelled or expired) before the payment came.
            let refund_due = (outcome == "conflict" && n.event() == Some(OrderEvent::Pay)).then(|| RefundDue {
                order_id: order.id,
                partner_id: order.partner_id,
                transaction_id: n.transaction_id.clone(),
                transaction_status: n.transaction_status.clone(),
                amount: n.gross_amount,
                currency: kernel::Currency::Idr,
                order_status: order.status,
                recorded_at: now,
            });
            let fresh = tx
                .record_payment(&PaymentRecord {
                    order_id: order.id,
                    transaction_id: n.transaction_id.clone(),
                    transaction_status: n.transaction_status.clone(),
                    gross_amount: n.gross_amount,
                    outcome,
                    payload: n.payload.clone(),
                })
                .await
                .map_err(unavailable::<PaymentError>)?;
            if !fresh {
                return Ok(PaymentOutcome {
                    outcome: "duplicate",
                    status: order.status,
                    refund_due,
                    refund_recorded: false,
                });
            }
            let order_id = order.id;
            let status = match next {
                Some(event) => {
                    transition(&mut tx, order, event, now)
                        .await
                        .map_err(|e| match e {
                            OrderError::Unavailable(e) => PaymentError::Unavailable(e),
                            other => PaymentError::Unavailable(anyhow::anyhow!("{other}")),
                        })?
                        .status
                }
                None => order.status,
            };
            let refund_recorded = match &refund_due {
                Some(refund) => tx
                    .record_refund_due(refund)
                    .await
                    .map_err(unavailable::<PaymentError>)?,
                None => false,
            };
            if let Some(refund) = &refund_due {
                tracing::warn!(
                    order = %order_id,
                    transaction = %n.transaction_id,
                    order_status = %refund.order_status,
                    amount = refund.amount.minor(),
                    first = refund_recorded,
                    "payment for a closed order: refund due"
                );
            }
            tx.audit(&AuditEntry {
                actor: "payment-gateway".into(),
                acting_for: None,
                action: "payment.notification",
                subject: format!("order:{order_id}"),
                detail: serde_json::json!({
                    "transaction_id": n.transaction_id,
                    "transaction_status": n.transaction_status,
                    "outcome": outcome,
                    "refund_due": refund_due.is_some(),
                }),
            })
            .await
            .map_err(unavailable::<PaymentError>)?;
            Ok(PaymentOutcome {
                outcome,
                status,
                refund_due,
                refund_recorded,
            })
        }
        .await;
        match result {
            Ok(o) if o.outcome == "duplicate" => {
                rollback(tx).await;
                Ok(o)
            }
            other => finish(tx, other).await,
        }
    }

    /// Refunds due, newest first: money that arrived for orders that had already closed. Admins only.
    pub async fn refunds_due(
        &self,
        actor: &Actor,
        before: Option<i64>,
        limit: u32,
    ) -> Result<RefundDuePage, OrderError> {
        actor.require_role(&[Role::Admin])?;
        let mut items = self
            .store
            .refunds_due(before, limit + 1)
            .await
            .map_err(unavailable::<OrderError>)?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| r.id)
        } else {
            None
        };
        Ok(RefundDuePage { items, next })
    }
}

/// Asks the gateway whether the success `n` reports is real: the same transaction, paid, for the same amount.
async fn confirm<G: PaymentGateway>(gateway: &G, n: &Notification) -> Result<(), PaymentError> {
    let status = gateway.status(&n.raw_order_id).await?;
    let disagreement = match &status {
        None => Some("the gateway has no transaction for the order".to_string()),
        Some(s) => s.disagreement(n),
    };
    match disagreement {
        None => Ok(()),
        Some(why) => {
            tracing::warn!(
                order = %n.order_id,
                transaction = %n.transaction_id,
                reason = %why,
                "payment gateway does not confirm the notification"
            );
            Err(PaymentError::NotConfirmed(why))
        }
    }
}

/// True when the order is already where `event` would take it (a second settlement for a paid order, a cancel
/// for a cancelled one): the notification changes nothing and is not a conflict.
fn already_reflects(status: OrderStatus, event: OrderEvent) -> bool {
    match event {
        OrderEvent::Pay => matches!(status, OrderStatus::Paid | OrderStatus::SentToErp) || status.has_shipped(),
        OrderEvent::Cancel | OrderEvent::Expire => status.is_exit(),
        OrderEvent::SendToErp | OrderEvent::Ship | OrderEvent::Fulfil => false,
    }
}

/// The partner filter for reading an order: admins see every order; everyone else only the partner they act
/// for.
fn visible_partner(actor: &Actor) -> Result<Option<i64>, AccessError> {
    if actor.role == Role::Admin && actor.partner.is_none() {
        return Ok(None);
    }
    Ok(Some(actor.require_partner()?.id))
}

async fn rollback<T: OrderTx>(tx: T) {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = format!("{e:#}"), "rollback failed; the connection is discarded");
    }
}

/// Commits on success, rolls back on failure.
async fn finish<T: OrderTx, V, E: From<Unavailable>>(tx: T, result: Result<V, E>) -> Result<V, E> {
    match result {
        Ok(v) => {
            tx.commit().await.map_err(unavailable::<E>)?;
            Ok(v)
        }
        Err(e) => {
            rollback(tx).await;
            Err(e)
        }
    }
}

/// Moves a locked order through `event`, releasing its stock when it leaves unpaid, and writes the event.
async fn transition<T: OrderTx>(
    tx: &mut T,
    order: Order,
    event: OrderEvent,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let next = order.status.apply(event)?;
    release_reservations(tx, std::iter::once((&order, next))).await?;
    record_transition(tx, order, next, now).await
}

/// Releases, in one [`OrderTx::adjust_reserved`] call, the stock of every order that moves to an exit while still
/// holding an unpaid reservation. One call for many orders matters: it locks all their inventory rows in the
/// global (sku, warehouse) order, which is what keeps this transaction out of a lock cycle with checkout.
async fn release_reservations<'a, T: OrderTx>(
    tx: &mut T,
    moves: impl Iterator<Item = (&'a Order, OrderStatus)>,
) -> Result<(), OrderError> {
    let mut release: BTreeMap<(Sku, String), i64> = BTreeMap::new();
    for (order, next) in moves {
        if order.status.holds_unpaid_reservation() && next.is_exit() {
            for (sku, warehouse, quantity) in order.reservations() {
                *release.entry((sku, warehouse)).or_default() -= i64::from(quantity);
            }
        }
    }
    if release.is_empty() {
        return Ok(());
    }
    let release: Vec<(Sku, String, i64)> = release.into_iter().map(|((s, w), d)| (s, w, d)).collect();
    tx.adjust_reserved(&release).await.map_err(unavailable::<OrderError>)
}

/// Writes a locked order's move to `next` (its stock already released) and the event it causes.
async fn record_transition<T: OrderTx>(
    tx: &mut T,
    mut order: Order,
    next: OrderStatus,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    order.status = next;
    if next == OrderStatus::Paid {
        order.paid_at = Some(now);
    }
    tx.update_status(&order, now).await.map_err(unavailable::<OrderError>)?;
    let kind = match next {
        OrderStatus::Paid => Some(OutboxEvent::PAID),
        OrderStatus::Cancelled => Some(OutboxEvent::CANCELLED),
        OrderStatus::Expired => Some(OutboxEvent::EXPIRED),
        _ => None,
    };
    if let Some(kind) = kind {
        tx.append_event(&OutboxEvent::for_order(kind, &order))
            .await
            .map_err(unavailable::<OrderError>)?;
    }
    Ok(order)
}

async fn place_in<T: OrderTx>(
    tx: &mut T,
    cmd: &PlaceOrder<'_>,
    partner: &PartnerAttrs,
    scope: &str,
) -> Result<Step, PlaceOrderError> {
    match tx
        .claim_key(scope, cmd.key.as_str())
        .await
        .map_err(unavailable::<PlaceOrderError>)?
    {
        KeyClaim::Busy => return Err(PlaceOrderError::InFlight),
        KeyClaim::Answered(answer) if answer.fingerprint == cmd.fingerprint => return Ok(Step::Replay(answer)),
        KeyClaim::Answered(_) => return Err(PlaceOrderError::KeyReused),
        KeyClaim::Fresh => {}
    }
    let account = tx
        .lock_account(partner.id)
        .await
        .map_err(unavailable::<PlaceOrderError>)?
        .ok_or(PlaceOrderError::UnknownPartner)?;
    let settings = tx.checkout_settings().await.map_err(unavailable::<PlaceOrderError>)?;
    let skus: Vec<Sku> = cmd.cart.iter().map(|l| l.sku.clone()).collect();
    let prices = tx
        .list_prices(partner.tier, &skus)
        .await
        .map_err(unavailable::<PlaceOrderError>)?;
    let quote = commercial::quote(partner.tier, cmd.cart, &prices, &settings.pricing)?;
    quote.check_minimum()?;
    let tax = ppn_on(&settings.ppn, quote.total, cmd.now)?;
    // The partner owes the PPN too, so it is the total with PPN that must fit the credit limit.
    account.credit.check(tax.total_incl_tax)?;

    let (warehouses, stock) = tx.lock_stock(&skus).await.map_err(unavailable::<PlaceOrderError>)?;
    let demand: Vec<Demand> = cmd
        .cart
        .iter()
        .map(|l| Demand {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect();
    let started = Instant::now();
    let plan = supply::route(partner.geo, &demand, &warehouses, &stock)?;
    let routing = started.elapsed();

    let priced: BTreeMap<&Sku, &commercial::PricedLine> = quote.lines.iter().map(|l| (&l.sku, l)).collect();
    let mut lines = Vec::with_capacity(plan.allocations.len());
    for a in &plan.allocations {
        let p = priced
            .get(&a.sku)
            .ok_or_else(|| PlaceOrderError::Unavailable(anyhow::anyhow!("route returned an unpriced SKU")))?;
        lines.push(OrderLine {
            sku: a.sku.clone(),
            warehouse: a.warehouse.clone(),
            quantity: a.quantity,
            list_price: p.list_price,
            unit_price: p.unit_price,
            line_total: p.unit_price.times(a.quantity).map_err(|_| QuoteError::Overflow)?,
            shipped: 0,
            returned: 0,
        });
    }
    // Cash waits for the gateway within the payment window; terms are confirmed now and due when the ERP's invoice
    // is.
    let (status, payment_due_at, event) = match account.terms {
        PaymentTerms::Cash => (
            OrderStatus::PendingPayment,
            cmd.now + ChronoDuration::minutes(settings.payment_window_minutes),
            OutboxEvent::PLACED,
        ),
        PaymentTerms::Credit { days } => (
            OrderStatus::Confirmed,
            cmd.now + ChronoDuration::days(i64::from(days)),
            OutboxEvent::CONFIRMED,
        ),
    };
    let order = Order {
        id: Uuid::new_v4(),
        status,
        partner_id: partner.id,
        tier: partner.tier,
        placed_by: cmd.actor.subject.clone(),
        placed_by_agent: cmd.actor.agent().map(str::to_string),
        placed_at: cmd.now,
        payment_due_at,
        paid_at: None,
        lines,
        list_total: quote.list_total,
        discount: quote.discount,
        total: quote.total,
        tax,
        currency: kernel::Currency::Idr,
        payment_terms_days: account.terms.days(),
        promised_sla_hours: plan.promised_sla_hours,
        erp_order_no: None,
    };
    tx.insert_order(&order).await.map_err(unavailable::<PlaceOrderError>)?;
    let reserve: Vec<(Sku, String, i64)> = order
        .reservations()
        .into_iter()
        .map(|(s, w, q)| (s, w, i64::from(q)))
        .collect();
    tx.adjust_reserved(&reserve)
        .await
        .map_err(unavailable::<PlaceOrderError>)?;
    tx.append_event(&OutboxEvent::for_order(event, &order))
        .await
        .map_err(unavailable::<PlaceOrderError>)?;
    tx.audit(&AuditEntry {
        actor: cmd.actor.subject.clone(),
        acting_for: cmd.actor.agent().map(|_| partner.id.to_string()),
        action: "order.place",
        subject: format!("order:{}", order.id),
        detail: serde_json::json!({
            "total": order.total,
            "total_incl_tax": order.tax.total_incl_tax,
            "payment_terms_days": order.payment_terms_days,
            "split": plan.split,
            "masquerade": cmd.actor.masquerading,
        }),
    })
    .await
    .map_err(unavailable::<PlaceOrderError>)?;
    let body = serde_json::to_value(&order).map_err(|e| PlaceOrderError::Unavailable(e.into()))?;
    let answer = StoredAnswer {
        fingerprint: cmd.fingerprint.to_string(),
        status: 201,
        body,
        resource_id: Some(order.id.to_string()),
    };
    tx.save_answer(scope, cmd.key.as_str(), &answer, cmd.now)
        .await
        .map_err(unavailable::<PlaceOrderError>)?;
    Ok(Step::Commit(answer, routing))
}

/// Why a cart could not be quoted.
#[derive(Debug, thiserror::Error)]
pub enum QuoteCartError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error("prices unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// A priced cart with the PPN an order placed now would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedCart {
    pub quote: commercial::Quote,
    pub tax: Ppn,
}

/// `POST /quotes`: prices a cart for the partner the caller acts for, with the PPN in force at `now`, without
/// ordering or reserving anything.
pub async fn quote_cart<P>(
    pricing: &P,
    actor: &Actor,
    cart: &[CartLine],
    now: DateTime<Utc>,
) -> Result<QuotedCart, QuoteCartError>
where
    P: commercial::PriceLists + commercial::PricingSettings + commercial::TaxSettings,
{
    let partner = actor.require_partner()?;
    let skus: Vec<Sku> = cart.iter().map(|l| l.sku.clone()).collect();
    let (policy, schedule, prices) = (
        pricing.pricing_policy().await.map_err(QuoteCartError::Unavailable)?,
        pricing.ppn_schedule().await.map_err(QuoteCartError::Unavailable)?,
        pricing
            .list_prices(partner.tier, &skus)
            .await
            .map_err(QuoteCartError::Unavailable)?,
    );
    let quote = commercial::quote(partner.tier, cart, &prices, &policy)?;
    let tax = ppn_on(&schedule, quote.total, now).map_err(|e| match e {
        PlaceOrderError::Quote(q) => QuoteCartError::Quote(q),
        other => QuoteCartError::Unavailable(anyhow::anyhow!("{other}")),
    })?;
    Ok(QuotedCart { quote, tax })
}

/// The PPN on a selling price at `at`. A day the schedule does not cover is a configuration fault, not the
/// caller's: the checkout is unavailable rather than untaxed.
fn ppn_on(schedule: &commercial::PpnSchedule, price: Money, at: DateTime<Utc>) -> Result<Ppn, PlaceOrderError> {
    schedule
        .rate_at(at)
        .and_then(|rate| rate.on(price))
        .map_err(|e| match e {
            TaxError::NoRate(_) => {
                PlaceOrderError::Unavailable(anyhow::anyhow!("system_config `tax.ppn_schedule`: {e}"))
            }
            TaxError::NegativePrice | TaxError::Overflow => PlaceOrderError::Quote(QuoteError::Overflow),
        })
}
