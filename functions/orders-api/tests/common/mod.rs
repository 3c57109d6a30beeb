//! The orders-api harness: the real handler over real Postgres, driven through the Lambda entry point with the
//! sample events in `events/orders-api/`.

#![allow(dead_code)]

use lambda_glue::http::{dispatch, Runtime};
use orders::{OrderStore, Orders};
use orders_api::OrdersApi;
use platform::auth::Authenticator;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use store::identity::PgIdentity;
use store::orders::PgOrders;
use store::pricing::PgPricing;
use testkit::{fresh_db, Template, TestDb};

pub mod lost_answers;

pub type Api<S = PgOrders> = OrdersApi<S, PgPricing, PgIdentity>;

pub struct Harness<S = PgOrders> {
    pub rt: Runtime,
    pub api: Arc<Api<S>>,
    pub db: TestDb,
    pub client: tokio_postgres::Client,
}

/// A seeded database, a pool of `pool` connections (many Lambda instances at once) and the handler.
pub async fn harness(pool: usize) -> Harness {
    harness_with(pool, false).await
}

/// A rate-limits table of its own on moto, for an environment name of its own.
pub async fn rate_limits(db: &TestDb) -> Arc<platform::limits::RateLimits> {
    let env = testkit::unique_env();
    testkit::create_table(&format!("niaga-{env}-rate-limits")).await;
    testkit::create_table(&format!("niaga-{env}-config-cache")).await;
    // orders-api's own principal: a call its policy does not grant fails the test.
    let sdk = testkit::aws_config_for("orders-api").await;
    let settings = Arc::new(platform::settings::SettingsCache::new(&sdk, &env, db.db()));
    Arc::new(platform::limits::RateLimits::new(&sdk, &env, settings))
}

/// As [`harness`], optionally with the AI-agent budget applied (counted in a table of its own on moto).
pub async fn harness_with(pool: usize, agent_limits: bool) -> Harness {
    harness_over(pool, agent_limits, |orders| orders).await
}

/// As [`harness_with`], with the order store wrapped by `wrap` (a store that fails on demand).
pub async fn harness_over<S: OrderStore>(
    pool: usize,
    agent_limits: bool,
    wrap: impl FnOnce(PgOrders) -> S,
) -> Harness<S> {
    let db = fresh_db(Template::Seeded).await;
    let pools = db.db_with_pool(pool);
    let client = db.client().await;
    testkit::no_minimum_order(&client).await;
    let limits = if agent_limits {
        Some(rate_limits(&db).await)
    } else {
        None
    };
    Harness {
        rt: platform::hooks::runtime("orders-api", None, Some(pools.clone()), Duration::from_secs(5)),
        api: Arc::new(OrdersApi::new(
            Orders::new(wrap(PgOrders::new(pools.clone()))),
            PgPricing::new(pools.clone()),
            match limits {
                Some(l) => Authenticator::new(testkit::auth::jwt(), PgIdentity::new(pools)).with_limits(l),
                None => Authenticator::new(testkit::auth::jwt(), PgIdentity::new(pools)),
            },
        )),
        db,
        client,
    }
}

impl<S: OrderStore> Harness<S> {
    pub async fn call(&self, ev: Value) -> Value {
        call(&self.rt, &self.api, ev).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.client.query_one(sql, &[]).await.unwrap().get(0)
    }

    /// (reserved, on_hand, buffer) summed over warehouses for a SKU.
    pub async fn stock(&self, sku: &str) -> (i64, i64, i64) {
        let r = self
            .client
            .query_one(
                "SELECT coalesce(sum(reserved),0)::int8, coalesce(sum(on_hand),0)::int8, coalesce(sum(buffer),0)::int8
                 FROM inventory WHERE sku = $1",
                &[&sku],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    }
}

pub async fn call<S: OrderStore>(rt: &Runtime, api: &Api<S>, ev: Value) -> Value {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = format!("req-{}", uuid::Uuid::new_v4().simple());
    dispatch(rt, api, ev, ctx).await
}

/// A sample event with this bearer token.
pub fn as_caller(mut ev: Value, token: &str) -> Value {
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    ev
}

/// `events/orders-api/place-order.json` for `token` with this key and cart.
pub fn order_event(token: &str, key: &str, lines: Value) -> Value {
    let mut ev = as_caller(testkit::event("orders-api/place-order.json"), token);
    ev["headers"]["idempotency-key"] = key.into();
    ev["body"] = serde_json::json!({ "lines": lines }).to_string().into();
    ev
}

pub fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().expect("a text body")).expect("a JSON body")
}

pub fn status(resp: &Value) -> u16 {
    resp["statusCode"].as_u64().expect("a status code") as u16
}
