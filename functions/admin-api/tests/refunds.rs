//! `GET /admin/refunds-due` over real Postgres, driven through the Lambda entry point with the sample event in
//! `events/admin-api/`.

use identity::Role;
use kernel::Money;
use lambda_glue::http::{dispatch, Runtime};
use orders::{OrderStatus, OrderStore, OrderTx, RefundDue};
use platform::settings::SettingsCache;
use serde_json::Value;
use std::time::Duration;
use store::orders::PgOrders;
use testkit::{fresh_db, Template};

mod support;

async fn call(rt: &Runtime, api: &support::Api, mut ev: Value, token: &str) -> (u16, Value) {
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    let r = dispatch(rt, api, ev, lambda_runtime::Context::default()).await;
    let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (r["statusCode"].as_u64().unwrap() as u16, body)
}

/// The sample listing with this query string.
fn listing(query: &str) -> Value {
    let mut ev = testkit::event("admin-api/list-refunds-due.json");
    ev["rawQueryString"] = query.into();
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    ev["queryStringParameters"] = Value::Object(params);
    ev
}

#[tokio::test]
async fn an_admin_pages_through_refunds_due_newest_first_and_nobody_else_may() {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    let rt = platform::hooks::runtime("admin-api", None, Some(pool.clone()), Duration::from_secs(5));
    let api = support::admin_api(&pool, SettingsCache::with_table(pool.clone(), None));
    let store = PgOrders::new(pool);
    let mut orders = Vec::new();
    for i in 0..3 {
        let order_id = uuid::Uuid::new_v4();
        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .record_refund_due(&RefundDue {
                order_id,
                partner_id: 1,
                transaction_id: format!("tx-{i}"),
                transaction_status: "settlement".into(),
                amount: Money::from_minor(100_000 * (i + 1)),
                currency: kernel::Currency::Idr,
                order_status: OrderStatus::Expired,
                recorded_at: chrono::Utc::now(),
            })
            .await
            .unwrap());
        tx.commit().await.unwrap();
        orders.push(order_id.to_string());
    }
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);

    let (status, first) = call(&rt, &api, listing("limit=2"), &admin).await;
    assert_eq!(status, 200, "{first}");
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["order_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), vec![orders[2].clone(), orders[1].clone()], "newest first");
    assert_eq!(first["items"][0]["amount"], 300_000);
    assert_eq!(first["items"][0]["order_status"], "expired");
    assert_eq!(first["items"][0]["transaction_id"], "tx-2");
    let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
    let (status, second) = call(&rt, &api, listing(&format!("limit=2&cursor={cursor}")), &admin).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(ids(&second), vec![orders[0].clone()]);
    assert!(second["next_cursor"].is_null(), "the last page has no cursor");
    let (status, default) = call(&rt, &api, listing(""), &admin).await;
    assert_eq!(
        (status, ids(&default).len(), default["limit"].as_u64()),
        (200, 3, Some(20))
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=%%%", "cursor"),
        ("sort=asc", "sort"),
    ] {
        let (status, p) = call(&rt, &api, listing(query), &admin).await;
        assert_eq!(
            (status, p["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{query}: {p}"
        );
    }
    let client = db.client().await;
    let (_, partner) = testkit::auth::partner_token(&client, "P-00001").await;
    assert_eq!(call(&rt, &api, listing(""), &partner).await.0, 403);
    let mut post = listing("");
    post["requestContext"]["http"]["method"] = "POST".into();
    assert_eq!(call(&rt, &api, post, &admin).await.0, 405);
}
