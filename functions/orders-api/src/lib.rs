//! `orders-api`: quotes and orders for the partner the caller acts for.
//!
//! - `POST /quotes` prices a cart without ordering.
//! - `POST /orders` (requires `Idempotency-Key`) places an order: price, credit check, SLA routing, stock
//!   reservation, outbox event and the key's answer in one transaction.
//! - `GET /orders` lists the caller's orders (keyset pagination), `GET /orders/{id}` reads one (another
//!   partner's order is a 404), `POST /orders/{id}/cancel` cancels an unpaid order and releases its stock.
//!
//! A sales agent acts for an assigned partner with the `X-Act-For-Partner` header. The handler decodes requests,
//! calls the `orders` use-cases and maps results and errors to HTTP; it holds no SQL and must not depend on the AWS
//! SDK. It emits `lead_routing_latency_ms` and `credit_check_rejection_count`.

use commercial::{CartLine, QuoteError};
use identity::Assignments;
use kernel::{Cursor, Quantity, Sku};
use lambda_glue::body::{from_json, Strict};
use lambda_glue::http::{json_body, private_json, query_pairs, segments, HttpHandler, RequestCtx};
use lambda_glue::metrics::{self, Unit};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use orders::{OrderError, OrderStore, Orders, PlaceOrder, PlaceOrderError, Placed, QuoteCartError};
use platform::auth::{access_problem, Authenticator};
use serde_json::Value;
use supply::RouteError;

/// The header that makes `POST /orders` safe to retry.
pub use platform::idempotency::IDEMPOTENCY_KEY;

/// The orders handler.
#[derive(Debug)]
pub struct OrdersApi<S, P, A> {
    orders: Orders<S>,
    pricing: P,
    auth: Authenticator<A>,
    /// Publishes an order's outbox events right after its commit; `None` leaves them to the sweeper.
    relay: Option<platform::outbox::Relay>,
}

impl<S, P, A> OrdersApi<S, P, A>
where
    S: OrderStore,
    P: commercial::PriceLists + commercial::PricingSettings + commercial::TaxSettings + 'static,
    A: Assignments + 'static,
{
    pub fn new(orders: Orders<S>, pricing: P, auth: Authenticator<A>) -> Self {
        OrdersApi {
            orders,
            pricing,
            auth,
            relay: None,
        }
    }

    /// Publishes each order's events right after the commit that wrote them.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn publish(&self, order_id: &str) {
        if let Some(r) = &self.relay {
            r.after_commit(order_id).await;
        }
    }

    /// The use-cases, for tests that inject faults.
    pub fn orders(&self) -> &Orders<S> {
        &self.orders
    }

    async fn quote(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let cart: Vec<CartLine> = from_json::<CartRequest>(&json_body(req)?)?.try_into()?;
        let quoted = orders::quote_cart(&self.pricing, &actor, &cart, chrono::Utc::now())
            .await
            .map_err(|e| match e {
                QuoteCartError::Access(a) => access_problem(a),
                QuoteCartError::Quote(q) => quote_problem(q, &cart),
                QuoteCartError::Unavailable(cause) => Problem::unavailable(1, cause),
            })?;
        let shortfall = quoted.quote.check_minimum().err().map(|b| b.short_by);
        let doc = QuoteView {
            currency: kernel::Currency::Idr,
            meets_minimum: shortfall.is_none(),
            short_of_minimum: shortfall.unwrap_or_default(),
            quote: quoted.quote,
            tax: quoted.tax,
        };
        Ok(private_json(
            200,
            &serde_json::to_value(&doc).map_err(Problem::internal)?,
        ))
    }

    async fn place(&self, req: &Request, ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let key = platform::idempotency::idempotency_key(req)?;
        let body = json_body(req)?;
        let cart: Vec<CartLine> = from_json::<CartRequest>(&body)?.try_into()?;
        let fingerprint = orders::fingerprint(&body);
        let placed = self
            .orders
            .place(PlaceOrder {
                actor: &actor,
                key: &key,
                fingerprint: &fingerprint,
                cart: &cart,
                now: chrono::Utc::now(),
            })
            .await;
        match placed {
            Ok(Placed::Created { answer, routing }) => {
                metrics::emit(
                    &metrics::Record::new(&platform::NIAGA, "orders-api")
                        .metric(
                            "lead_routing_latency_ms",
                            routing.as_secs_f64() * 1000.0,
                            Unit::Milliseconds,
                        )
                        .metric("orders_placed", 1.0, Unit::Count)
                        .property("request_id", ctx.request_id.clone()),
                );
                if let Some(id) = answer.resource_id.as_deref() {
                    self.publish(id).await;
                }
                let mut r = private_json(answer.status, &answer.body);
                if let Some(id) = answer.resource_id.as_deref() {
                    if let Ok(v) = http::HeaderValue::from_str(&format!("/orders/{id}")) {
                        r.headers_mut().insert(http::header::LOCATION, v);
                    }
                }
                Ok(r)
            }
            Ok(Placed::Replayed(answer)) => {
                let mut r = private_json(answer.status, &answer.body);
                r.headers_mut()
                    .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
                Ok(r)
            }
            Err(e) => Err(self.place_problem(e, &cart, ctx)),
        }
    }

    fn place_problem(&self, e: PlaceOrderError, cart: &[CartLine], ctx: &RequestCtx) -> Problem {
        match e {
            PlaceOrderError::Access(a) => access_problem(a),
            PlaceOrderError::KeyReused => Problem::key_reused(),
            PlaceOrderError::InFlight => Problem::client(
                409,
                "request-in-flight",
                "Request in progress",
                "a request with this Idempotency-Key is still being processed; retry after a moment",
            )
            .retry_after(1),
            PlaceOrderError::UnknownPartner => Problem::forbidden("the partner this request acts for does not exist"),
            PlaceOrderError::Quote(q) => quote_problem(q, cart),
            PlaceOrderError::BelowMinimum(b) => {
                Problem::client(422, "below-minimum-order", "Below the minimum order", b.to_string())
                    .with("minimum", b.minimum.minor())
                    .with("total", b.total.minor())
                    .with("short_by", b.short_by.minor())
            }
            PlaceOrderError::CreditLimit(c) => {
                metrics::emit(
                    &metrics::Record::new(&platform::NIAGA, "orders-api")
                        .metric("credit_check_rejection_count", 1.0, Unit::Count)
                        .property("request_id", ctx.request_id.clone()),
                );
                Problem::client(422, "credit-limit-exceeded", "Credit limit exceeded", c.to_string())
                    .with("credit_limit", c.limit.minor())
                    .with("erp_debt", c.erp_debt.minor())
                    .with("open_unpaid", c.open_unpaid.minor())
                    .with("available", c.available.minor())
                    .with("order_total", c.order_total.minor())
                    .with("short_by", c.short_by.minor())
            }
            PlaceOrderError::Route(RouteError::OutOfStock(shortages)) => {
                let names: Vec<String> = shortages.iter().map(|s| s.sku.to_string()).collect();
                let mut p = Problem::client(
                    409,
                    "out-of-stock",
                    "Not enough stock",
                    format!("not enough sellable stock for {}", names.join(", ")),
                )
                .with("skus", names.clone())
                .with("shortages", serde_json::to_value(&shortages).unwrap_or(Value::Null));
                for s in &shortages {
                    p = p.field(
                        &line_field(cart, &s.sku, "quantity"),
                        format!("{} requested, {} sellable", s.requested, s.sellable),
                    );
                }
                p
            }
            PlaceOrderError::Route(other) => Problem::client(422, "invalid-cart", "Invalid cart", other.to_string()),
            PlaceOrderError::Unavailable(cause) => Problem::unavailable(1, cause),
        }
    }

    async fn get(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let id = parse_order_id(id)?;
        let order = self.orders.get(&actor, id).await.map_err(order_problem)?;
        Ok(private_json(
            200,
            &serde_json::to_value(&order).map_err(Problem::internal)?,
        ))
    }

    async fn list(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let mut limit = 20u32;
        let mut after = None;
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "limit" => {
                    limit =
                        v.parse::<u32>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                            Problem::invalid_parameter("limit", "must be a whole number from 1 to 100")
                        })?
                }
                "cursor" => after = Some(decode_position(&v)?),
                other => return Err(Problem::invalid_parameter(other, "is not a parameter of GET /orders")),
            }
        }
        let page = self.orders.list(&actor, after, limit).await.map_err(order_problem)?;
        let next = page
            .next
            .map(|(at, id)| Cursor::from_position(&format!("{}|{id}", at.timestamp_micros())).encode());
        let doc = OrderList {
            items: page.items,
            limit,
            next_cursor: next,
        };
        Ok(private_json(
            200,
            &serde_json::to_value(&doc).map_err(Problem::internal)?,
        ))
    }

    async fn cancel(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let id = parse_order_id(id)?;
        let order = self
            .orders
            .cancel(&actor, id, chrono::Utc::now())
            .await
            .map_err(order_problem)?;
        self.publish(&order.id.to_string()).await;
        Ok(private_json(
            200,
            &serde_json::to_value(&order).map_err(Problem::internal)?,
        ))
    }
}

impl<S, P, A> HttpHandler for OrdersApi<S, P, A>
where
    S: OrderStore,
    P: commercial::PriceLists + commercial::PricingSettings + commercial::TaxSettings + 'static,
    A: Assignments + 'static,
{
    async fn handle(&self, req: Request, ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        use http::Method as M;
        match (req.method(), path.as_slice()) {
            (&M::POST, ["quotes"]) => self.quote(&req).await,
            (&M::POST, ["orders"]) => self.place(&req, ctx).await,
            (&M::GET, ["orders"]) => self.list(&req).await,
            (&M::GET, ["orders", id]) => self.get(&req, id).await,
            (&M::POST, ["orders", id, "cancel"]) => self.cancel(&req, id).await,
            (_, ["quotes"] | ["orders"] | ["orders", _] | ["orders", _, "cancel"]) => {
                Err(Problem::method_not_allowed())
            }
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

/// `POST /quotes`'s answer: the priced cart, the PPN an order placed now would carry (`total_incl_tax` is what it
/// would cost), and whether it meets the minimum order (which `total`, before PPN, must reach).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct QuoteView {
    #[serde(flatten)]
    pub quote: commercial::Quote,
    #[serde(flatten)]
    pub tax: commercial::Ppn,
    pub currency: kernel::Currency,
    pub meets_minimum: bool,
    /// How much more the cart needs to reach the minimum; 0 when it meets it.
    pub short_of_minimum: kernel::Money,
}

/// One page of `GET /orders`, newest first.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct OrderList {
    pub items: Vec<orders::OrderSummary>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A cart, as `POST /quotes` and `POST /orders` take it. A refusal names the member at fault (`lines[3].quantity`).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CartRequest {
    #[schemars(length(min = 1, max = MAX_LINES))]
    pub lines: Vec<Strict<CartLineRequest>>,
}

/// The lines of a cart read with [`from_json`]: 1 to [`MAX_LINES`] lines, each SKU at most once (the line that
/// repeats one is named).
impl TryFrom<CartRequest> for Vec<CartLine> {
    type Error = Problem;

    fn try_from(cart: CartRequest) -> Result<Self, Problem> {
        if cart.lines.is_empty() || cart.lines.len() > MAX_LINES {
            return Err(Problem::invalid_body(
                "lines",
                format!("must hold 1 to {MAX_LINES} lines"),
            ));
        }
        let mut lines: Vec<CartLine> = Vec::with_capacity(cart.lines.len());
        for (i, Strict(CartLineRequest { sku, quantity })) in cart.lines.into_iter().enumerate() {
            if lines.iter().any(|l| l.sku == sku) {
                return Err(Problem::invalid_body(
                    &format!("lines[{i}].sku"),
                    format!("{sku} appears twice; put the whole quantity on one line"),
                ));
            }
            lines.push(CartLine { sku, quantity });
        }
        Ok(lines)
    }
}

/// One cart line; each SKU at most once per cart.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLineRequest {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    use platform::openapi::Operation;
    let id = serde_json::json!({ "type": "string", "format": "uuid" });
    vec![
        Operation::new("POST", "/quotes", "quoteCart", "Price a cart at the caller's tier")
            .tag("orders-api")
            .bearer()
            .acting_for()
            .json_body::<CartRequest>()
            .answers::<QuoteView>(200, "The priced cart."),
        Operation::new("POST", "/orders", "placeOrder", "Place an order")
            .tag("orders-api")
            .describe(
                "Prices the cart with PPN, checks credit, routes it to a warehouse and reserves stock in one \
                 transaction. A partner on payment terms gets a confirmed order that goes to the ERP at once. \
                 A retry with the same Idempotency-Key and body gets the first answer (`Idempotent-Replayed: true`).",
            )
            .bearer()
            .acting_for()
            .idempotency_key()
            .json_body::<CartRequest>()
            .answers::<orders::Order>(
                201,
                "The order: awaiting payment of `total_incl_tax`, or confirmed when the partner buys on payment terms.",
            )
            .with_header("Location", "The order's URL.")
            .link("GetOrder", "getOrder", "id", "$response.body#/id")
            .link("CancelOrder", "cancelOrder", "id", "$response.body#/id"),
        Operation::new("GET", "/orders", "listOrders", "List the caller's orders")
            .tag("orders-api")
            .bearer()
            .acting_for()
            .paged(20, 100)
            .answers::<OrderList>(200, "A page of orders."),
        Operation::new("GET", "/orders/{id}", "getOrder", "Read one order")
            .tag("orders-api")
            .bearer()
            .acting_for()
            .param_with("path", "id", true, "The order's id.", id.clone())
            .answers::<orders::Order>(200, "The order."),
        Operation::new("POST", "/orders/{id}/cancel", "cancelOrder", "Cancel an unpaid order")
            .tag("orders-api")
            .bearer()
            .acting_for()
            .param_with("path", "id", true, "The order's id.", id)
            .answers::<orders::Order>(200, "The cancelled order; its stock is released."),
    ]
}

/// The most lines a cart may have.
pub const MAX_LINES: usize = commercial::MAX_LINES;

fn line_field(cart: &[CartLine], sku: &Sku, member: &str) -> String {
    match cart.iter().position(|l| &l.sku == sku) {
        Some(i) => format!("lines[{i}].{member}"),
        None => "lines".to_string(),
    }
}

fn quote_problem(e: QuoteError, cart: &[CartLine]) -> Problem {
    match &e {
        QuoteError::NoPrice(sku) => Problem::client(422, "unknown-sku", "Unknown SKU", e.to_string())
            .field(&line_field(cart, sku, "sku"), format!("{sku} is not sold at your tier"))
            .with("sku", sku.to_string()),
        _ => Problem::client(422, "invalid-cart", "Invalid cart", e.to_string()),
    }
}

fn order_problem(e: OrderError) -> Problem {
    match e {
        OrderError::Access(a) => access_problem(a),
        OrderError::NotFound => Problem::not_found("no such order"),
        OrderError::Illegal(t) => Problem::client(409, "illegal-transition", "Illegal order transition", t.to_string())
            .with("status", t.from.as_str()),
        OrderError::Unavailable(cause) => Problem::unavailable(1, cause),
    }
}

fn parse_order_id(raw: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(raw).map_err(|_| Problem::invalid_parameter("id", "must be an order id (a UUID)"))
}

fn decode_position(token: &str) -> Result<orders::ports::ListPosition, Problem> {
    let bad = || Problem::invalid_parameter("cursor", "is not a cursor this API issued");
    let c = Cursor::decode(token).map_err(|_| bad())?;
    let (micros, id) = c.position().split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, uuid::Uuid::parse_str(id).map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The cart `body` reads as, or the member its problem names.
    fn cart(body: Value) -> Result<Vec<CartLine>, String> {
        from_json::<CartRequest>(&body)
            .and_then(Vec::<CartLine>::try_from)
            .map_err(|p| {
                assert_eq!(p.status, 400, "{body}");
                p.errors[0].field.clone()
            })
    }

    #[test]
    fn a_cart_reads_with_its_skus_upper_cased() {
        let lines =
            cart(json!({"lines": [{"sku": "shm-00001", "quantity": 2}, {"sku": "SHM-00002", "quantity": 1}]})).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].sku.as_str(), "SHM-00001");
        assert_eq!(lines[0].quantity.get(), 2);
    }

    #[test]
    fn bad_carts_name_the_member_at_fault() {
        let line = |sku: Value, quantity: Value| json!({"lines": [{"sku": "SHM-00009", "quantity": 1}, {"sku": sku, "quantity": quantity}]});
        let too_many: Vec<Value> = (0..=MAX_LINES)
            .map(|i| json!({"sku": format!("SHM-{i:05}"), "quantity": 1}))
            .collect();
        for (body, field) in [
            (json!([{"sku": "SHM-00001", "quantity": 1}]), "body"),
            (json!({"lines": [["SHM-00001", 2]]}), "lines[0]"),
            (json!({"lines": "twelve shampoos"}), "lines"),
            (json!({"lines": []}), "lines"),
            (json!({"lines": too_many}), "lines"),
            (json!({}), "lines"),
            (
                json!({"lines": [{"sku": "SHM-00001", "quantity": 1}], "coupon": "X"}),
                "coupon",
            ),
            (
                json!({"lines": [{"sku": "SHM-00001", "quantity": 1, "price": 1}]}),
                "lines[0].price",
            ),
            (
                json!({"lines": [{"sku": "SHM-00001", "quantity": 1}, {"sku": "SHM-00002"}]}),
                "lines[1].quantity",
            ),
            (line(json!(12345), json!(1)), "lines[1].sku"),
            (line(json!("x'); DROP TABLE orders;--"), json!(1)), "lines[1].sku"),
            (line(json!("SHM-00001"), json!("12")), "lines[1].quantity"),
            (line(json!("SHM-00001"), json!(0)), "lines[1].quantity"),
            (line(json!("SHM-00001"), json!(-5)), "lines[1].quantity"),
            (line(json!("SHM-00001"), json!(1.5)), "lines[1].quantity"),
            (line(json!("SHM-00001"), json!(10_001)), "lines[1].quantity"),
            (line(json!("SHM-00001"), json!(u64::MAX)), "lines[1].quantity"),
            (line(json!("shm-00009"), json!(3)), "lines[1].sku"),
        ] {
            assert_eq!(cart(body.clone()).unwrap_err(), field, "{body}");
        }
    }
}
