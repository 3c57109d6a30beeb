//! Checks that walk the running stack as a client would: `cargo xtask up --check` runs them, and the end-to-end
//! tests reuse the pieces.

use anyhow::{bail, Context, Result};

/// Logs in with the password grant (a form body, as OAuth2 clients send it) and returns the access token.
pub async fn login(http: &reqwest::Client, url: &str, username: &str, password: &str) -> Result<String> {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    token(http, url, &form, username).await
}

/// A token for the seeded AI agent, `seo-bot` (client credentials).
pub async fn agent_login(http: &reqwest::Client, url: &str) -> Result<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "seo-bot"),
        ("client_secret", store::seed::DEV_AGENT_SECRET),
    ];
    token(http, url, &form, "seo-bot").await
}

async fn token(http: &reqwest::Client, url: &str, form: &[(&str, &str)], who: &str) -> Result<String> {
    let answer: serde_json::Value = http
        .post(format!("{url}/auth/token"))
        .form(form)
        .send()
        .await?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("POST /auth/token as {who}: {answer}"))
}

/// Logs in as a seeded partner, quotes, orders (retrying once to see the replay), waits for the order's
/// notification to come through the outbox, the queue and the worker, and cancels, so repeated checks against the
/// same local database leave no open exposure behind.
/// CORS as niaga.json configures it for `local`: a preflight for `POST /orders` from each local origin is allowed,
/// one from any other origin gets no CORS header.
pub async fn cors(http: &reqwest::Client, url: &str) -> Result<()> {
    let manifest = crate::manifest::Manifest::load_workspace()?;
    let origins = manifest
        .cors
        .as_ref()
        .map(|c| c.origins(crate::LOCAL_ENV).to_vec())
        .unwrap_or_default();
    anyhow::ensure!(!origins.is_empty(), "niaga.json allows no CORS origin for `local`");
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, format!("{url}/orders"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,idempotency-key",
            )
            .send()
    };
    for origin in &origins {
        let r = preflight(origin).await?;
        let allowed = r
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok());
        anyhow::ensure!(
            allowed == Some(origin.as_str()),
            "a preflight from {origin} got {} with Access-Control-Allow-Origin {allowed:?}",
            r.status()
        );
    }
    let r = preflight("https://evil.example").await?;
    anyhow::ensure!(
        r.headers().get("access-control-allow-origin").is_none(),
        "a preflight from https://evil.example was allowed"
    );
    Ok(())
}

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
    let amount = format!("{}.00", order["total_incl_tax"]);
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

/// A webhook receiver on 127.0.0.1 that keeps each (signature, body) it gets.
async fn webhook_receiver() -> Result<(String, tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get("niaga-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send((sig, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, rx))
}

/// The seeded AI agent takes a token (client credentials), submits an SEO job for 60 catalogue products with a
/// callback, and is told of completion by a signed webhook (no polling) once the job has gone through the outbox,
/// the agent-jobs queue and agent-jobs-worker; the job then reads `succeeded` with every item done.
pub async fn agent_job(http: &reqwest::Client, url: &str) -> Result<()> {
    let token = agent_login(http, url).await?;
    let token = token.as_str();
    let mut skus = Vec::new();
    let mut cursor: Option<String> = None;
    while skus.len() < 60 {
        let page: serde_json::Value = http
            .get(format!(
                "{url}/products?limit=30{}",
                cursor.map(|c| format!("&cursor={c}")).unwrap_or_default()
            ))
            .send()
            .await?
            .json()
            .await?;
        skus.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["sku"].as_str().map(str::to_string)),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    let (callback, mut hooks) = webhook_receiver().await?;
    let submitted = http
        .post(format!("{url}/agent-jobs"))
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({ "type": "generate_product_seo", "skus": skus, "callback_url": callback }))
        .send()
        .await?;
    if submitted.status() != 202 {
        bail!(
            "POST /agent-jobs answered {}: {}",
            submitted.status(),
            submitted.text().await?
        );
    }
    let job: serde_json::Value = submitted.json().await?;
    let id = job["id"].as_str().context("the job has an id")?;
    let secret = job["callback"]["secret"]
        .as_str()
        .context("the job has a webhook secret")?;
    let (signature, body) = tokio::time::timeout(std::time::Duration::from_secs(30), hooks.recv())
        .await
        .with_context(|| format!("no webhook for agent job {id} within 30 s"))?
        .context("the webhook receiver stopped")?;
    agents::webhook::verify(secret, &signature, &body, chrono::Utc::now().timestamp(), 300)
        .with_context(|| format!("the webhook for job {id} is not signed with its secret"))?;
    let shown: serde_json::Value = http
        .get(format!("{url}/agent-jobs/{id}"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    if shown["status"] != "succeeded" || shown["progress"]["done_items"] != skus.len() {
        bail!("agent job {id} after its webhook: {shown}");
    }
    Ok(())
}

/// The admin sends a blast to the platinum partners; it travels outbox → notifications queue →
/// notifications-worker and reaches each of them in the local notifications file.
pub async fn blast(http: &reqwest::Client, url: &str) -> Result<()> {
    let token = login(http, url, "admin", store::seed::DEV_PASSWORD).await?;
    let created = http
        .post(format!("{url}/admin/notification-blasts"))
        .bearer_auth(&token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({ "subject": "Cek sistem", "body": "Pesan uji dari cargo xtask up --check.", "tier": "platinum" }))
        .send()
        .await?;
    if created.status() != 202 {
        bail!(
            "POST /admin/notification-blasts answered {}: {}",
            created.status(),
            created.text().await?
        );
    }
    let blast: serde_json::Value = created.json().await?;
    let id = blast["id"].as_str().context("the blast has an id")?;
    let total = blast["progress"]["total_recipients"]
        .as_u64()
        .context("the blast counts its recipients")?;
    let file = crate::services::state_dir().join("notifications.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let got: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| l.contains(id))
            .filter_map(|l| l.split("\"recipient\":\"").nth(1)?.split('"').next())
            .collect();
        if got.len() as u64 == total {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("blast {id} reached {} of {total} partners within 30 s", got.len());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Runs monthly-profit-job for the current WIB month through the Invoke API (the orders the checks above paid are
/// in it), exports that month as an admin, waits for export-worker, and opens the XLSX through its presigned link.
/// On the way, changes a setting through admin-api with `If-Match` and puts it back.
pub async fn export(http: &reqwest::Client, url: &str, invoke_url: &str, reports_api: &crate::iam::Keys) -> Result<()> {
    let token = login(http, url, "admin", store::seed::DEV_PASSWORD).await?;
    let key = "supply.stock_sync_interval_minutes";
    let current = http
        .get(format!("{url}/admin/config/{key}"))
        .bearer_auth(&token)
        .send()
        .await?;
    let etag = current
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let setting: serde_json::Value = current.json().await?;
    let etag = etag.with_context(|| format!("GET /admin/config/{key} has no ETag: {setting}"))?;
    for (value, tag) in [
        (serde_json::json!(16), etag.clone()),
        (setting["value"].clone(), String::new()),
    ] {
        let tag = if tag.is_empty() {
            let r = http
                .get(format!("{url}/admin/config/{key}"))
                .bearer_auth(&token)
                .send()
                .await?;
            r.headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        } else {
            tag
        };
        let put = http
            .put(format!("{url}/admin/config/{key}"))
            .bearer_auth(&token)
            .header("if-match", tag)
            .json(&serde_json::json!({ "value": value }))
            .send()
            .await?;
        if put.status() != 200 {
            bail!(
                "PUT /admin/config/{key} answered {}: {}",
                put.status(),
                put.text().await?
            );
        }
    }

    let month = (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m")
        .to_string();
    let invoked = http
        .post(format!(
            "{invoke_url}/2015-03-31/functions/monthly-profit-job/invocations"
        ))
        .json(&serde_json::json!({ "month": month }))
        .send()
        .await?;
    let report: serde_json::Value = invoked.json().await?;
    if report["partners"].as_u64().unwrap_or(0) == 0 {
        bail!("monthly-profit-job for {month} reported no partners: {report}");
    }
    let requested = http
        .post(format!("{url}/reports/profit-exports"))
        .bearer_auth(&token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({ "month": month }))
        .send()
        .await?;
    if requested.status() != 202 {
        bail!(
            "POST /reports/profit-exports answered {}: {}",
            requested.status(),
            requested.text().await?
        );
    }
    let export: serde_json::Value = requested.json().await?;
    let id = export["id"].as_str().context("the export has an id")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let now: serde_json::Value = http
            .get(format!("{url}/reports/profit-exports/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        match now["status"].as_str() {
            Some("done") => break now,
            Some("failed") => bail!("export {id} failed: {now}"),
            _ if std::time::Instant::now() > deadline => bail!("export {id} not done within 30 s: {now}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    };
    let link = done["downloads"]["xlsx"]
        .as_str()
        .context("a done export has an XLSX link")?;
    // Signed by reports-api and opened as reports-api: moto cannot check a presigned request's signature while it
    // enforces IAM (see testkit::open_presigned).
    let bytes = testkit::open_presigned(link, &reports_api.access_key_id, &reports_api.secret_access_key)
        .await
        .map_err(|e| anyhow::anyhow!("downloading export {id}: {e}"))?;
    if !bytes.starts_with(b"PK") || done["rows"].as_u64() != report["partners"].as_u64() {
        bail!(
            "export {id}: {} bytes, {} rows for {} partners",
            bytes.len(),
            done["rows"],
            report["partners"]
        );
    }
    Ok(())
}
