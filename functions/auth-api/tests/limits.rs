//! Login attempts per account against moto's DynamoDB: past the budget an account gets 429s, even with the right
//! password, while other accounts log in as usual.

use auth_api::AuthApi;
use lambda_glue::http::dispatch;
use platform::limits::RateLimits;
use std::time::Duration;
use store::identity::PgIdentity;
use testkit::{event, fresh_db, Template};

#[tokio::test]
async fn an_account_past_its_login_budget_is_refused_with_429_and_others_are_not() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    client
        .execute(
            "UPDATE system_config SET value = '3' WHERE key = 'ratelimit.login_per_account_per_minute'",
            &[],
        )
        .await
        .unwrap();
    let env = testkit::unique_env();
    testkit::create_table(&format!("niaga-{env}-rate-limits")).await;
    testkit::create_table(&format!("niaga-{env}-config-cache")).await;
    let sdk = testkit::aws_config_for("auth-api").await;
    let settings = std::sync::Arc::new(platform::settings::SettingsCache::new(&sdk, &env, db.db()));
    let api =
        AuthApi::new(PgIdentity::new(db.db()), testkit::auth::jwt()).with_limits(RateLimits::new(&sdk, &env, settings));
    let rt = platform::hooks::runtime("auth-api", None, Some(db.db()), Duration::from_secs(5));
    let call = |ev| dispatch(&rt, &api, ev, lambda_runtime::Context::default());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(call(event("auth-api/wrong-password.json")).await["statusCode"].clone());
    }
    let right = call(event("auth-api/password-grant.json")).await;
    assert_eq!(statuses, [401, 401, 401]);
    assert_eq!(
        right["statusCode"], 429,
        "the right password does not help past the budget: {right}"
    );
    assert!(right["headers"]["retry-after"].is_string());
    let mut other = event("auth-api/password-grant.json");
    other["body"] = r#"{"grant_type":"password","username":"p-00002","password":"niaga-dev-password"}"#.into();
    assert_eq!(call(other).await["statusCode"], 200);
    // Logins fail open when the limits cannot be read: a refused DynamoDB call must not have happened.
    assert_eq!(
        platform::access_denied_count(),
        0,
        "an AWS call was refused by IAM (see the log)"
    );
}
