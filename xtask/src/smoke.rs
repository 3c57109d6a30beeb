//! Checks that walk the running stack as a client would: `cargo xtask up --check` runs them, and the end-to-end
//! tests reuse the pieces.

use anyhow::{bail, Context, Result};

/// Logs in with the password grant (a form body, as OAuth2 clients send it) and returns the access token.
pub async fn login(http: &reqwest::Client, url: &str, username: &str, password: &str) -> Result<String> {
    let answer: serde_json::Value = http
        .post(format!("{url}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("POST /auth/token as {username}: {answer}"))
}

/// Logs in as a seeded partner, quotes, orders (retrying once to see the replay) and cancels, so repeated checks
/// against the same local database leave no open exposure behind.
pub async fn checkout(http: &reqwest::Client, url: &str) -> Result<()> {
    let token = login(http, url, "p-00001", store::seed::DEV_PASSWORD).await?;
    let token = token.as_str();
    let cart = serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 12 }] });
    let quote = http
        .post(format!("{url}/quotes"))
        .bearer_auth(token)
        .json(&cart)
        .send()
        .await?;
    if quote.status() != 200 {
        bail!("POST /quotes answered {}: {}", quote.status(), quote.text().await?);
    }
    let key = uuid::Uuid::new_v4().to_string();
    let place = || {
        http.post(format!("{url}/orders"))
            .bearer_auth(token)
            .header("idempotency-key", &key)
            .json(&cart)
            .send()
    };
    let first = place().await?;
    if first.status() != 201 {
        bail!("POST /orders answered {}: {}", first.status(), first.text().await?);
    }
    let order: serde_json::Value = first.json().await?;
    let again = place().await?;
    if again.status() != 201 || again.headers().get("idempotent-replayed").is_none() {
        bail!("a retried POST /orders was not replayed: {}", again.status());
    }
    let id = order["id"].as_str().context("the order has an id")?;
    let cancel = http
        .post(format!("{url}/orders/{id}/cancel"))
        .bearer_auth(token)
        .send()
        .await?;
    if cancel.status() != 200 {
        bail!("POST /orders/{id}/cancel answered {}", cancel.status());
    }
    Ok(())
}
