//! `admin-api` over real Postgres, driven through the Lambda entry point with the sample events in
//! `events/admin-api/`.

use identity::Role;
use lambda_glue::http::{dispatch, Runtime};
use platform::settings::SettingsCache;
use serde_json::Value;
use std::time::Duration;
use testkit::{fresh_db, Template};

mod support;

async fn call(rt: &Runtime, api: &support::Api, mut ev: Value, token: &str) -> (u16, Value, Value) {
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    let r = dispatch(rt, api, ev, lambda_runtime::Context::default()).await;
    let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (r["statusCode"].as_u64().unwrap() as u16, body, r["headers"].clone())
}

#[tokio::test]
async fn an_admin_queues_a_blast_once_per_key_and_nobody_else_may() {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    let rt = platform::hooks::runtime("admin-api", None, Some(pool.clone()), Duration::from_secs(5));
    let api = support::admin_api(&pool, SettingsCache::with_table(pool.clone(), None));
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);
    let client = db.client().await;
    let gold: i64 = client
        .query_one("SELECT count(*) FROM partners WHERE tier = 'gold'", &[])
        .await
        .unwrap()
        .get(0);

    let (status, blast, headers) = call(&rt, &api, testkit::event("admin-api/create-blast.json"), &admin).await;
    assert_eq!(status, 202, "{blast}");
    let id = blast["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/admin/notification-blasts/{id}"));
    assert_eq!(blast["progress"]["total_recipients"], gold);
    let (status, again, headers) = call(&rt, &api, testkit::event("admin-api/create-blast.json"), &admin).await;
    assert_eq!(
        (status, again["id"].as_str(), headers["idempotent-replayed"].as_str()),
        (202, Some(id.as_str()), Some("true"))
    );

    let mut get = testkit::event("admin-api/get-blast.json");
    get["rawPath"] = format!("/admin/notification-blasts/{id}").into();
    let (status, shown, _) = call(&rt, &api, get.clone(), &admin).await;
    assert_eq!((status, shown["status"].as_str()), (200, Some("queued")));

    let (_, partner) = testkit::auth::partner_token(&client, "P-00001").await;
    assert_eq!(
        call(&rt, &api, testkit::event("admin-api/create-blast.json"), &partner)
            .await
            .0,
        403
    );
    assert_eq!(call(&rt, &api, get, &partner).await.0, 403);
    let (status, p, _) = call(
        &rt,
        &api,
        testkit::event("admin-api/create-blast-malformed.json"),
        &admin,
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("body")), "{p}");

    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM notification_blasts").await, 1);
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE event_type = 'notification.blast_requested'").await,
        1
    );
}
