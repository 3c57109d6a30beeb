//! `catalog-api` driven by the sample events in `events/catalog-api/`, through the same entry point Lambda
//! calls, against a seeded PostgreSQL database.

use catalog_api::CatalogApi;
use lambda_glue::http::{dispatch, Runtime};
use serde_json::Value;
use std::time::Duration;
use store::catalog::PgCatalog;
use testkit::{event, fresh_db, Template};

struct Harness {
    rt: Runtime,
    api: CatalogApi<PgCatalog>,
}

async fn harness() -> Harness {
    let db = fresh_db(Template::Seeded).await.db();
    Harness {
        rt: platform::hooks::runtime("catalog-api", None, Some(db.clone()), Duration::from_secs(3)),
        api: CatalogApi::new(PgCatalog::new(db)),
    }
}

impl Harness {
    async fn call(&self, ev: Value) -> Value {
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "test-request-1".into();
        dispatch(&self.rt, &self.api, ev, ctx).await
    }
}

fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().expect("a text body")).expect("a JSON body")
}

#[tokio::test]
async fn searching_returns_matching_products_with_cdn_caching_headers() {
    let h = harness().await;
    let resp = h.call(event("catalog-api/search-products.json")).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let cache = resp["headers"]["cache-control"].as_str().unwrap();
    assert!(
        cache.contains("s-maxage=") && cache.contains("stale-while-revalidate="),
        "{cache}"
    );
    assert!(resp["headers"]["etag"].as_str().unwrap().starts_with('"'));
    let b = body(&resp);
    let items = b["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 5);
    for p in items {
        let text = format!("{} {}", p["name"], p["description"]).to_lowercase();
        assert!(text.contains("shampoo") && text.contains("argan"), "{text}");
        assert_eq!(p["list_price"]["currency"], "IDR");
        assert!(p["list_price"]["amount"].as_i64().unwrap() > 0);
    }
}

#[tokio::test]
async fn a_repeated_request_with_the_etag_gets_304_and_no_body() {
    let h = harness().await;
    let first = h.call(event("catalog-api/get-product.json")).await;
    let etag = first["headers"]["etag"].as_str().unwrap().to_string();
    let mut again = event("catalog-api/get-product.json");
    again["headers"]["if-none-match"] = Value::String(etag.clone());
    let second = h.call(again).await;
    assert_eq!(second["statusCode"], 304, "{second}");
    assert!(second.get("body").is_none());
    assert_eq!(second["headers"]["etag"], etag);
}

#[tokio::test]
async fn a_limit_above_100_is_a_400_problem_naming_limit() {
    let h = harness().await;
    let resp = h.call(event("catalog-api/list-products-limit-too-large.json")).await;
    assert_eq!(resp["statusCode"], 400);
    assert_eq!(resp["headers"]["content-type"], "application/problem+json");
    let b = body(&resp);
    assert_eq!(b["errors"][0]["field"], "limit");
    assert_eq!(b["request_id"], "test-request-1");
}

#[tokio::test]
async fn a_known_sku_returns_the_product() {
    let h = harness().await;
    let resp = h.call(event("catalog-api/get-product.json")).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(body(&resp)["sku"], "SHM-00001");
}

#[tokio::test]
async fn an_unknown_sku_is_a_404_problem() {
    let h = harness().await;
    let resp = h.call(event("catalog-api/get-product-unknown.json")).await;
    assert_eq!(resp["statusCode"], 404);
    assert_eq!(resp["headers"]["content-type"], "application/problem+json");
    assert!(body(&resp)["detail"].as_str().unwrap().contains("ZZZ-99999"));
}

#[tokio::test]
async fn filtering_by_category_returns_only_that_category() {
    let h = harness().await;
    let resp = h.call(event("catalog-api/list-products-by-category.json")).await;
    assert_eq!(resp["statusCode"], 200);
    let b = body(&resp);
    assert!(b["items"].as_array().unwrap().iter().all(|p| p["category"] == "serum"));
    assert!(b["next_cursor"].is_string(), "60 serums do not fit on a page of 20");
}

#[tokio::test]
async fn a_warmup_ping_opens_connections_without_running_the_handler() {
    let h = harness().await;
    let resp = h.call(event("warmup.json")).await;
    assert_eq!(resp["warm"], true);
    assert!(resp["connections"].as_u64().unwrap() >= 1, "{resp}");
    assert!(resp.get("statusCode").is_none());
}

#[tokio::test]
async fn a_bare_eventbridge_scheduled_event_is_treated_as_a_warmup_ping() {
    let h = harness().await;
    let resp = h.call(event("schedules/scheduled-event.json")).await;
    assert_eq!(resp["warm"], true, "{resp}");
}

#[tokio::test]
async fn writing_to_the_catalogue_is_method_not_allowed() {
    let h = harness().await;
    let mut ev = event("catalog-api/get-product.json");
    ev["requestContext"]["http"]["method"] = "DELETE".into();
    let resp = h.call(ev).await;
    assert_eq!(resp["statusCode"], 405);
}

#[tokio::test]
async fn a_malformed_sku_is_a_400_naming_sku() {
    let h = harness().await;
    let mut ev = event("catalog-api/get-product.json");
    ev["rawPath"] = "/products/%27%3B%20DROP%20TABLE%20products".into();
    let resp = h.call(ev).await;
    assert_eq!(resp["statusCode"], 400, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "sku");
}
