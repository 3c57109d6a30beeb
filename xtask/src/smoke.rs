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

/// Logs in as a seeded partner, quotes, orders (retrying once to see the replay), waits for the order's
/// notification to come through the outbox, the queue and the worker, and cancels, so repeated checks against the
/// same local database leave no open exposure behind.
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
    // order.placed travels outbox → notifications queue → notifications-worker → the local notifications file.
    let file = crate::services::state_dir().join("notifications.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&file).unwrap_or_default().contains(id) {
        if std::time::Instant::now() > deadline {
            bail!("no notification for order {id} reached {} within 20 s", file.display());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
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

/// Orders enough to pass the minimum order, pays for it with a correctly signed notification, and waits until the order has gone through
/// the outbox, the erp-sync queue and erp-sync-worker to the (fake) ERP: `sent_to_erp` with an ERP number.
pub async fn erp_sync(http: &reqwest::Client, url: &str, server_key: &str) -> Result<()> {
    let token = login(http, url, "p-00001", store::seed::DEV_PASSWORD).await?;
    let cart = serde_json::json!({ "lines": [{ "sku": "SHM-00001", "quantity": 6 }] });
    let placed = http
        .post(format!("{url}/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&cart)
        .send()
        .await?;
    if placed.status() != 201 {
        bail!("POST /orders answered {}: {}", placed.status(), placed.text().await?);
    }
    let order: serde_json::Value = placed.json().await?;
    let id = order["id"].as_str().context("the order has an id")?;
    let amount = format!("{}.00", order["total"]);
    let signature = orders::payment::signature(id, "200", &amount, &kernel::SecretString::new(server_key));
    let paid = http
        .post(format!("{url}/payments/callback"))
        .json(&serde_json::json!({
            "order_id": id, "status_code": "200", "gross_amount": amount, "signature_key": signature,
            "transaction_id": uuid::Uuid::new_v4().to_string(), "transaction_status": "settlement",
        }))
        .send()
        .await?;
    if paid.status() != 200 {
        bail!(
            "POST /payments/callback answered {}: {}",
            paid.status(),
            paid.text().await?
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now: serde_json::Value = http
            .get(format!("{url}/orders/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if now["status"] == "sent_to_erp" && now["erp_order_no"].is_string() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("order {id} did not reach the ERP within 30 s: {now}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
