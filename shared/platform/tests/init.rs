//! Cold start against moto and PostgreSQL: refusals that name their cause, and a rotated database password
//! refetched from Secrets Manager without a restart.

use lambda_glue::env::Env;
use platform::init::{init_from, InitError};
use testkit::{fresh_db, Template};

fn good_key() -> String {
    serde_json::json!({ "jwt_signing_key": "k".repeat(40) }).to_string()
}

#[tokio::test]
async fn a_missing_database_url_stops_the_cold_start_naming_it() {
    let app = testkit::put_secret("niaga/test/app", &good_key()).await;
    let err = init_from::<()>("t", &Env::from_pairs([("NIAGA_APP_SECRET_ID", app.as_str())]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InitError::Config(c) if c.variable == "DATABASE_URL"),
        "{err}"
    );
}

#[tokio::test]
async fn a_short_jwt_key_stops_the_cold_start_without_printing_it() {
    let db = fresh_db(Template::Empty).await;
    let app = testkit::put_secret("niaga/test/app", r#"{"jwt_signing_key":"only-twenty-chars!!!"}"#).await;
    let err = init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", app.as_str()),
            ("DATABASE_URL", &db.url),
            ("DATABASE_CA", &testkit::database_ca()),
        ]),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("at least 32 characters") && text.contains("it has 20"),
        "{text}"
    );
    assert!(!text.contains("only-twenty"));
}

#[tokio::test]
async fn a_secret_that_does_not_exist_stops_the_cold_start_naming_it() {
    let db = fresh_db(Template::Empty).await;
    let err = init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", "niaga/test/nowhere"),
            ("DATABASE_URL", &db.url),
            ("DATABASE_CA", &testkit::database_ca()),
        ]),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("niaga/test/nowhere"), "{err}");
}

#[tokio::test]
async fn a_database_that_is_down_at_cold_start_does_not_stop_the_function() {
    let app = testkit::put_secret("niaga/test/app", &good_key()).await;
    let deps = init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", app.as_str()),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "200"),
            ("DATABASE_CA", &testkit::database_ca()),
        ]),
    )
    .await
    .unwrap();
    assert!(deps.db.ping().await.is_err());
}

#[tokio::test]
async fn a_rotated_database_password_is_refetched_from_the_secret() {
    let db = fresh_db(Template::Empty).await;
    let admin = db.client().await;
    let role = format!("rot_{}", &db.name[2..14]);
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'old-password' IN ROLE {}",
            testkit::PASSWORD_AUTH_ROLE
        ))
        .await
        .unwrap();
    let db_secret = testkit::put_secret(
        "niaga/test/database",
        &format!(r#"{{"username":"{role}","password":"old-password"}}"#),
    )
    .await;
    let app = testkit::put_secret("niaga/test/app", &good_key()).await;
    let url = db.url.replace("postgres@", &format!("{role}@"));
    let deps = init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", app.as_str()),
            ("NIAGA_DB_SECRET_ID", db_secret.as_str()),
            ("DATABASE_URL", url.as_str()),
            ("DATABASE_POOL_SIZE", "1"),
            ("DATABASE_CA", &testkit::database_ca()),
        ]),
    )
    .await
    .unwrap();
    deps.db.ping().await.unwrap();

    // Rotate: the database and the secret change; the cached password is now wrong.
    admin
        .batch_execute(&format!("ALTER ROLE {role} PASSWORD 'new-password'"))
        .await
        .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&testkit::aws_config().await);
    sm.put_secret_value()
        .secret_id(&db_secret)
        .secret_string(format!(r#"{{"username":"{role}","password":"new-password"}}"#))
        .send()
        .await
        .unwrap();
    // Existing sessions survive a password change; end them so the pool must open a new connection.
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
            &[&role],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    deps.db
        .ping()
        .await
        .expect("the pool refetched the rotated password and reconnected");
}

/// A cold start whose secrets cache keeps nothing, so every refresh reads Secrets Manager.
async fn uncached(app: &str, db: &testkit::TestDb) -> platform::init::Deps<()> {
    init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", app),
            ("DATABASE_URL", &db.url),
            ("DATABASE_CA", &testkit::database_ca()),
            ("NIAGA_SECRETS_TTL_SECONDS", "0"),
        ]),
    )
    .await
    .unwrap()
}

fn subject() -> identity::Subject {
    identity::Subject {
        sub: "admin:ops".into(),
        role: identity::Role::Admin,
        partner: None,
    }
}

/// Secrets Manager keeps the value a new version replaced under the `AWSPREVIOUS` stage (AWS, "Secrets Manager
/// concepts: version stages"). A warm instance picks the new key up without a redeploy, and a token signed just
/// before the rotation stays good until it expires or the key rotates again.
#[tokio::test]
async fn a_rotated_signing_key_takes_effect_without_a_restart_and_tokens_of_the_previous_key_stay_good() {
    let db = fresh_db(Template::Empty).await;
    let key = |c: char| serde_json::json!({ "jwt_signing_key": c.to_string().repeat(40) }).to_string();
    let app = testkit::put_secret("niaga/test/app", &key('a')).await;
    let deps = uncached(&app, &db).await;
    let now = chrono::Utc::now().timestamp();
    let before = deps.jwt.issue(&subject(), now, "before").unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&testkit::aws_config().await);
    let rotate = |value: String| {
        let (sm, app) = (sm.clone(), app.clone());
        async move {
            sm.put_secret_value()
                .secret_id(&app)
                .secret_string(value)
                .send()
                .await
                .unwrap();
        }
    };

    rotate(key('b')).await;
    assert!(deps.keys.refresh().await.unwrap(), "the new value was applied");
    let after = deps.jwt.issue(&subject(), now, "after").unwrap();
    let b_only = identity::Jwt::hs256(
        &kernel::SecretString::new("b".repeat(40)),
        identity::JwtConfig::niaga(&deps.common.environment),
    )
    .unwrap();
    assert!(
        b_only.verify(&after, now).is_ok(),
        "new tokens are signed with the new key"
    );
    assert!(
        deps.jwt.verify(&before, now).is_ok(),
        "a token of the previous key is still good"
    );

    rotate(key('c')).await;
    deps.keys.refresh().await.unwrap();
    assert_eq!(
        deps.jwt.verify(&before, now).unwrap_err(),
        identity::TokenError::BadSignature,
        "two rotations later the first key is gone"
    );
    assert!(deps.jwt.verify(&after, now).is_ok());
}

#[tokio::test]
async fn a_followed_key_such_as_the_payment_server_key_follows_its_secret_without_a_restart() {
    let db = fresh_db(Template::Empty).await;
    let app = testkit::put_secret("niaga/test/app", &good_key()).await;
    let payments = testkit::put_secret("niaga/test/payments", r#"{"server_key":"SB-Mid-server-old"}"#).await;
    let deps = uncached(&app, &db).await;
    let key = kernel::SharedSecret::new(kernel::SecretString::new("SB-Mid-server-old"));
    deps.keys.follow(payments.clone(), "server_key", key.clone());
    assert!(!deps.keys.refresh().await.unwrap(), "nothing changed yet");

    aws_sdk_secretsmanager::Client::new(&testkit::aws_config().await)
        .put_secret_value()
        .secret_id(&payments)
        .secret_string(r#"{"server_key":"SB-Mid-server-new"}"#)
        .send()
        .await
        .unwrap();
    assert!(deps.keys.refresh().await.unwrap());
    assert_eq!(
        key.get().expose(),
        "SB-Mid-server-new",
        "every holder of the key sees the new one"
    );
}

/// Behind CloudFront: the origin header's value is rotated by writing a new version of its secret, and CloudFront's
/// edges switch to it over minutes. A warm instance admits the new value and the previous one (`AWSPREVIOUS`) once
/// its cache has read them, so no request is refused during the switch and no restart is needed; two rotations
/// later the first value is refused.
#[tokio::test]
async fn the_origin_header_follows_its_secret_through_rotations_admitting_the_previous_value_meanwhile() {
    let db = fresh_db(Template::Empty).await;
    let app = testkit::put_secret("niaga/test/app", &good_key()).await;
    let origin = testkit::put_secret("niaga/test/origin-verify", "first-origin-value").await;
    let deps = init_from::<()>(
        "t",
        &Env::from_pairs([
            ("NIAGA_APP_SECRET_ID", app.as_str()),
            ("DATABASE_URL", &db.url),
            ("DATABASE_CA", &testkit::database_ca()),
            ("NIAGA_SECRETS_TTL_SECONDS", "0"),
            ("NIAGA_ORIGIN_HEADER", "X-Niaga-Origin-Verify"),
            ("NIAGA_ORIGIN_SECRET_ID", origin.as_str()),
        ]),
    )
    .await
    .unwrap();
    let guard = platform::origin::configured().expect("the guard is installed at cold start");
    let sends = |value: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-niaga-origin-verify", value.parse().unwrap());
        guard.admits(&headers)
    };
    assert!(sends("first-origin-value"));
    assert!(!sends("second-origin-value"));
    let sm = aws_sdk_secretsmanager::Client::new(&testkit::aws_config().await);
    let rotate = |value: &'static str| {
        let (sm, origin) = (sm.clone(), origin.clone());
        async move {
            sm.put_secret_value()
                .secret_id(&origin)
                .secret_string(value)
                .send()
                .await
                .unwrap();
        }
    };

    rotate("second-origin-value").await;
    assert!(deps.keys.refresh().await.unwrap(), "the new value was applied");
    assert!(sends("second-origin-value"), "an edge with the new value");
    assert!(sends("first-origin-value"), "an edge still on the old one");
    assert!(!deps.keys.refresh().await.unwrap(), "nothing changed since");

    rotate("third-origin-value").await;
    deps.keys.refresh().await.unwrap();
    assert!(sends("third-origin-value") && sends("second-origin-value"));
    assert!(
        !sends("first-origin-value"),
        "two rotations later the first value is refused"
    );
}
