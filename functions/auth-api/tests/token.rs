//! `auth-api` driven by the sample events in `events/auth-api/`, against a seeded PostgreSQL database.

use auth_api::AuthApi;
use identity::Role;
use lambda_glue::http::{dispatch, Runtime};
use serde_json::Value;
use std::time::Duration;
use store::identity::PgIdentity;
use testkit::{event, fresh_db, Template};

struct Harness {
    rt: Runtime,
    api: AuthApi<PgIdentity>,
}

async fn harness() -> Harness {
    let db = fresh_db(Template::Seeded).await.db();
    Harness {
        rt: platform::hooks::runtime("auth-api", None, Some(db.clone()), Duration::from_secs(5)),
        api: AuthApi::new(PgIdentity::new(db), testkit::auth::jwt()),
    }
}

impl Harness {
    async fn call(&self, ev: Value) -> Value {
        dispatch(&self.rt, &self.api, ev, lambda_runtime::Context::default()).await
    }
}

fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_partner_logs_in_with_a_password_and_gets_a_token_carrying_tier_and_geotag() {
    let h = harness().await;
    let resp = h.call(event("auth-api/password-grant.json")).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["headers"]["cache-control"], "no-store");
    let b = body(&resp);
    assert_eq!(b["token_type"], "Bearer");
    assert!(b["expires_in"].as_i64().unwrap() > 0);
    let claims = testkit::auth::jwt()
        .verify(b["access_token"].as_str().unwrap(), chrono::Utc::now().timestamp())
        .unwrap();
    assert_eq!(claims.role, Role::Partner);
    assert_eq!(claims.sub, "partner:P-00001");
    let p = claims.partner().expect("partner attributes in the token");
    assert!(p.id > 0);
}

#[tokio::test]
async fn an_ai_agent_uses_client_credentials_from_a_form_body() {
    let h = harness().await;
    let resp = h.call(event("auth-api/client-credentials-form.json")).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let claims = testkit::auth::jwt()
        .verify(
            body(&resp)["access_token"].as_str().unwrap(),
            chrono::Utc::now().timestamp(),
        )
        .unwrap();
    assert_eq!(claims.role, Role::AiAgent);
    assert_eq!(claims.partner(), None);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_get_the_same_401() {
    let h = harness().await;
    let wrong = h.call(event("auth-api/wrong-password.json")).await;
    let mut unknown = event("auth-api/wrong-password.json");
    unknown["body"] = r#"{"grant_type":"password","username":"nobody","password":"x"}"#.into();
    let unknown = h.call(unknown).await;
    assert_eq!(wrong["statusCode"], 401);
    assert_eq!(unknown["statusCode"], 401);
    assert_eq!(body(&wrong)["detail"], body(&unknown)["detail"]);
    // The AI agent's secret does not work through the password grant.
    let mut bot = event("auth-api/wrong-password.json");
    bot["body"] = r#"{"grant_type":"password","username":"seo-bot","password":"niaga-dev-agent-secret"}"#.into();
    assert_eq!(h.call(bot).await["statusCode"], 401);
}

#[tokio::test]
async fn a_malformed_body_is_a_400_and_a_missing_field_is_named() {
    let h = harness().await;
    let resp = h.call(event("auth-api/malformed-body.json")).await;
    assert_eq!(resp["statusCode"], 400, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "body");
    let mut ev = event("auth-api/password-grant.json");
    ev["body"] = r#"{"grant_type":"password","username":"p-00001"}"#.into();
    let resp = h.call(ev).await;
    assert_eq!(resp["statusCode"], 400, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "password");
    let mut ev = event("auth-api/password-grant.json");
    ev["headers"]["content-type"] = "text/plain".into();
    assert_eq!(h.call(ev).await["statusCode"], 415);
}
