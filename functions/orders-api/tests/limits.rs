//! The AI-agent role's own budget against moto's DynamoDB: an agent over its budget gets 429s with the
//! `RateLimit-*` headers, while partners in the same run are served.

mod common;

use common::{as_caller, body, harness_with, status};
use identity::Role;

#[tokio::test]
async fn an_agent_over_its_budget_gets_429s_while_partners_are_still_served() {
    let h = harness_with(2, true).await;
    h.client
        .execute(
            "UPDATE system_config SET value = '5' WHERE key = 'ratelimit.ai_agent_per_minute'",
            &[],
        )
        .await
        .unwrap();
    let agent = testkit::auth::token("ai_agent:seo-bot", Role::AiAgent, None);
    let (_, partner) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let list = |token: &str| as_caller(testkit::event("orders-api/list-orders.json"), token);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = h.call(list(&agent)).await;
        statuses.push(status(&r));
        if status(&r) == 429 {
            assert_eq!(body(&r)["type"], "urn:niaga:problem:rate-limited");
            assert!(r["headers"]["retry-after"].as_str().unwrap().parse::<u64>().unwrap() > 0);
            assert_eq!(r["headers"]["ratelimit-limit"], "5");
            assert_eq!(r["headers"]["ratelimit-remaining"], "0");
        }
        // A partner's request in between is never limited by the agent's budget.
        assert_eq!(status(&h.call(list(&partner)).await), 200);
    }
    // Agents may not list orders (403) until the budget runs out (429).
    assert_eq!(statuses, [403, 403, 403, 403, 403, 429, 429, 429]);
    // Partners fail open when the limits cannot be read: a refused DynamoDB call must not have happened.
    assert_eq!(
        platform::access_denied_count(),
        0,
        "an AWS call was refused by IAM (see the log)"
    );
}
