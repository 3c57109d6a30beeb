//! catalog-api behind CloudFront, through the entry point Lambda calls: every request arrives from the same edge
//! address (`requestContext.http.sourceIp`), so per-source budgets must count the viewer CloudFront names in
//! `CloudFront-Viewer-Address` (IP:port), and only on requests that carry the secret origin header CloudFront
//! adds; anything else is refused with 403 problem+json before the handler runs. Budgets are counted in moto's
//! DynamoDB.
//!
//! The origin guard is process-wide (cold start installs it), so this file holds one test.

use catalog_api::CatalogApi;
use lambda_glue::http::dispatch;
use platform::limits::RateLimits;
use platform::origin::{configure, OriginGuard};
use serde_json::Value;
use std::time::Duration;
use store::catalog::PgCatalog;
use testkit::{event, fresh_db, Template};

const HEADER: &str = "x-niaga-origin-verify";
const SECRET: &str = "a-value-only-cloudfront-and-the-functions-know";
const EDGE: &str = "130.176.0.10";

fn through_edge(viewer: &str, origin_value: Option<&str>) -> Value {
    let mut ev = event("catalog-api/get-product.json");
    ev["requestContext"]["http"]["sourceIp"] = EDGE.into();
    let headers = ev["headers"].as_object_mut().expect("the sample event has headers");
    headers.insert("cloudfront-viewer-address".into(), viewer.into());
    if let Some(v) = origin_value {
        headers.insert(HEADER.into(), v.into());
    }
    ev
}

#[tokio::test]
async fn viewers_behind_one_edge_have_their_own_budgets_and_requests_around_the_cdn_are_refused() {
    let db = fresh_db(Template::Seeded).await;
    db.client()
        .await
        .execute(
            "UPDATE system_config SET value = '2' WHERE key = 'ratelimit.public_reads_per_source_per_minute'",
            &[],
        )
        .await
        .unwrap();
    let env = testkit::unique_env();
    testkit::create_table(&format!("niaga-{env}-rate-limits")).await;
    testkit::create_table(&format!("niaga-{env}-config-cache")).await;
    let sdk = testkit::aws_config().await;
    let settings = std::sync::Arc::new(platform::settings::SettingsCache::new(&sdk, &env, db.db()));
    let api = CatalogApi::new(PgCatalog::new(db.db())).with_limits(RateLimits::new(&sdk, &env, settings));
    let rt = platform::hooks::runtime("catalog-api", None, Some(db.db()), Duration::from_secs(5));
    configure(OriginGuard::new(HEADER, kernel::SecretString::new(SECRET)).expect("a valid guard"));
    let call = |ev| dispatch(&rt, &api, ev, lambda_runtime::Context::default());

    // Around CloudFront: a forged viewer address without the origin header, or with a wrong one, is refused.
    for origin in [
        None,
        Some("a-guess"),
        Some("a-value-only-cloudfront-and-the-functions-knoW"),
    ] {
        let resp = call(through_edge("198.51.100.1:5000", origin)).await;
        assert_eq!(resp["statusCode"], 403, "{origin:?}: {resp}");
        assert!(
            resp["headers"]["content-type"]
                .as_str()
                .is_some_and(|c| c.starts_with("application/problem+json")),
            "{resp}"
        );
    }

    // Two viewers behind the same edge: the first uses up its budget of 2, the second still has its own.
    let first = "198.51.100.7:40001";
    let second = "2001:db8::7:40002";
    for _ in 0..2 {
        let resp = call(through_edge(first, Some(SECRET))).await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
    }
    // Another port of the same viewer is the same source.
    let over = call(through_edge("198.51.100.7:40999", Some(SECRET))).await;
    assert_eq!(over["statusCode"], 429, "the first viewer is over its budget: {over}");
    let other = call(through_edge(second, Some(SECRET))).await;
    assert_eq!(
        other["statusCode"], 200,
        "the second viewer has its own budget: {other}"
    );
}
