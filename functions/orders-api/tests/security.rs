//! The auth attack set against `orders-api`: each gets the right 401/403/404 and changes nothing.

mod common;

use base64::Engine;
use common::{as_caller, body, harness, order_event, status};
use identity::{Jwt, JwtConfig, Role, Subject};
use kernel::SecretString;
use serde_json::json;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_401s_and_order_nothing() {
    let h = harness(2).await;
    let p = testkit::auth::partner(&h.client, "P-00001").await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": "partner:P-00001", "role": "partner", "partner_id": p.id, "tier": p.tier, "geo": p.geo,
        "iss": "niaga-local", "aud": "niaga-api", "iat": now, "nbf": now, "exp": now + 600, "jti": "x",
    });
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims));
    let other_key = Jwt::hs256(
        &SecretString::new("someone-elses-signing-key-0123456789"),
        JwtConfig::niaga("local"),
    )
    .unwrap()
    .issue(
        &Subject {
            sub: "partner:P-00001".into(),
            role: Role::Partner,
            partner: Some(p),
        },
        now,
        "y",
    )
    .unwrap();
    let expired = testkit::auth::jwt()
        .issue(
            &Subject {
                sub: "partner:P-00001".into(),
                role: Role::Partner,
                partner: Some(p),
            },
            now - 7_200,
            "z",
        )
        .unwrap();
    for (name, token) in [("alg none", alg_none), ("another key", other_key), ("expired", expired)] {
        let resp = h
            .call(order_event(
                &token,
                &format!("attack-{name}"),
                json!([{ "sku": "SHM-00001", "quantity": 1 }]),
            ))
            .await;
        assert_eq!(status(&resp), 401, "{name}: {resp}");
        assert!(
            resp["headers"]["www-authenticate"]
                .as_str()
                .unwrap()
                .starts_with("Bearer"),
            "{name}"
        );
    }
    let resp = h
        .call(testkit::event("orders-api/place-order-without-token.json"))
        .await;
    assert_eq!(status(&resp), 401);
    // The sample event's token is signed with a key this deployment does not hold.
    let resp = h.call(testkit::event("orders-api/place-order.json")).await;
    assert_eq!(status(&resp), 401);
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 0);
    assert_eq!(h.count("SELECT count(*) FROM audit_log").await, 0);
}

#[tokio::test]
async fn a_partner_reading_or_cancelling_another_partners_order_gets_a_404_and_changes_nothing() {
    let h = harness(2).await;
    let (_, owner) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let (_, intruder) = testkit::auth::partner_token(&h.client, "P-00002").await;
    let placed = h
        .call(order_event(
            &owner,
            "owner-1",
            json!([{ "sku": "SHM-00001", "quantity": 1 }]),
        ))
        .await;
    let id = body(&placed)["id"].as_str().unwrap().to_string();
    let at = |file: &str, path: String| {
        let mut ev = as_caller(testkit::event(file), &intruder);
        ev["rawPath"] = path.clone().into();
        ev["requestContext"]["http"]["path"] = path.into();
        ev
    };
    let read = h.call(at("orders-api/get-order.json", format!("/orders/{id}"))).await;
    assert_eq!(status(&read), 404, "{read}");
    let cancel = h
        .call(at("orders-api/cancel-order.json", format!("/orders/{id}/cancel")))
        .await;
    assert_eq!(status(&cancel), 404, "{cancel}");
    let missing = h
        .call(at(
            "orders-api/get-order.json",
            format!("/orders/{}", uuid::Uuid::new_v4()),
        ))
        .await;
    assert_eq!(
        body(&read)["detail"],
        body(&missing)["detail"],
        "indistinguishable from a missing order"
    );
    let status_now: String = h
        .client
        .query_one("SELECT status FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status_now, "pending_payment");
}

#[tokio::test]
async fn a_sales_agent_acts_for_an_assigned_partner_and_both_are_recorded() {
    let h = harness(2).await;
    // agent-01 is assigned the first, eleventh, ... partner by code.
    let p = testkit::auth::partner(&h.client, "P-00001").await;
    let token = testkit::auth::token("sales_agent:agent-01", Role::SalesAgent, None);
    let mut ev = as_caller(testkit::event("orders-api/place-order-as-agent.json"), &token);
    ev["headers"]["x-act-for-partner"] = p.id.to_string().into();
    let resp = h.call(ev).await;
    assert_eq!(status(&resp), 201, "{resp}");
    let order = body(&resp);
    assert_eq!(order["partner_id"], p.id);
    assert_eq!(order["placed_by_agent"], "sales_agent:agent-01");
    let row = h
        .client
        .query_one(
            "SELECT actor, acting_for FROM audit_log WHERE action = 'order.place'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sales_agent:agent-01");
    assert_eq!(row.get::<_, Option<String>>(1), Some(p.id.to_string()));
}

#[tokio::test]
async fn a_sales_agent_masquerading_without_an_assignment_is_a_403_and_orders_nothing() {
    let h = harness(2).await;
    // P-00002 belongs to agent-02, not agent-01.
    let p = testkit::auth::partner(&h.client, "P-00002").await;
    let token = testkit::auth::token("sales_agent:agent-01", Role::SalesAgent, None);
    let mut ev = as_caller(testkit::event("orders-api/place-order-as-agent.json"), &token);
    ev["headers"]["x-act-for-partner"] = p.id.to_string().into();
    let resp = h.call(ev).await;
    assert_eq!(status(&resp), 403, "{resp}");
    // A partner cannot masquerade at all.
    let (_, partner_token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let mut ev = as_caller(testkit::event("orders-api/place-order-as-agent.json"), &partner_token);
    ev["headers"]["x-act-for-partner"] = p.id.to_string().into();
    assert_eq!(status(&h.call(ev).await), 403);
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn an_ai_agent_token_cannot_place_orders() {
    let h = harness(2).await;
    let token = testkit::auth::token("ai_agent:seo-bot", Role::AiAgent, None);
    let resp = h
        .call(order_event(
            &token,
            "bot-1",
            json!([{ "sku": "SHM-00001", "quantity": 1 }]),
        ))
        .await;
    assert_eq!(status(&resp), 403, "{resp}");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 0);
}
