//! The async-backbone benchmark, part of `cargo xtask bench` (`--only backbone`).
//!
//! 1. **ERP sync throughput against the throttle.** Paid orders wait on the `erp-sync` FIFO queue; the release
//!    `erp-sync-worker` drains it through the local event-source mapping (batches of 10, two in flight, as the
//!    manifest says) into the fake ERP at zero latency. Run once with the configured throttle
//!    (`erp.sync.max_per_second`) and once with it out of the way: the first rate should sit at the throttle, the
//!    second well above it. That is "the throttle binds, not the code".
//! 2. **Outbox lag.** The release `orders-api` takes a steady stream of orders; each order's `order.placed` goes out
//!    through the fast path to the `notifications` queue. Lag is SQS's `SentTimestamp` minus the event's
//!    `occurred_at` (its transaction's time), p50 and p99.

use crate::bench::BenchEnv;
use crate::localrt::{LocalRuntime, RuntimeOptions};
use crate::manifest::Manifest;
use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORDERS: usize = 300;
const THROTTLE: u32 = 25;
const LAG_ORDERS_PER_S: u64 = 20;
const LAG_SECONDS: u64 = 10;

async fn sql(url: &str, statements: &str) -> Result<()> {
    let client = crate::localdb::connect(url).await?;
    client.batch_execute(statements).await?;
    Ok(())
}

/// The queues and tables `terraform/persistence` would create, on the benchmark's moto.
async fn resources(sqs: &aws_sdk_sqs::Client) -> Result<(String, String)> {
    let env = crate::LOCAL_ENV;
    let erp = sqs
        .create_queue()
        .queue_name(crate::queue_physical_name(env, "erp-sync", true))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await?
        .queue_url
        .context("a queue URL")?;
    let notifications = sqs
        .create_queue()
        .queue_name(crate::queue_physical_name(env, "notifications", false))
        .send()
        .await?
        .queue_url
        .context("a queue URL")?;
    for t in ["breaker-state", "rate-limits"] {
        testkit::create_table(&crate::table_physical_name(env, t)).await;
    }
    Ok((erp, notifications))
}

/// Places and pays `n` orders through the use-cases and queues their `order.paid` events like the relay would.
async fn paid_orders(env: &BenchEnv, sqs: &aws_sdk_sqs::Client, queue: &str, n: usize) -> Result<()> {
    let db = store::Db::new(
        &crate::localdb::db_settings(&env.settings.database_url),
        Arc::new(store::StaticCredentials(None)),
    )?;
    let orders = orders::Orders::new(store::orders::PgOrders::new(db.clone()));
    let key = kernel::SecretString::new(crate::bench::BENCH_PAYMENTS_KEY);
    let client = crate::localdb::connect(&env.settings.database_url).await?;
    for i in 0..n {
        let code = format!("P-{:05}", i % 400 + 1);
        let actor = testkit::auth::partner_actor(&client, &code).await;
        let placed = orders
            .place(orders::PlaceOrder {
                actor: &actor,
                key: &orders::IdempotencyKey::parse(&format!("erp-bench-{}-{i}", uuid::Uuid::new_v4().simple()))?,
                fingerprint: "bench",
                cart: &[commercial::CartLine {
                    sku: kernel::Sku::parse("SRM-00004")?,
                    quantity: kernel::Quantity::new(1)?,
                }],
                now: chrono::Utc::now(),
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let orders::Placed::Created { answer, .. } = placed else {
            bail!("a bench order was replayed")
        };
        let id = answer.body["id"].as_str().context("an order id")?.to_string();
        let amount = format!("{}.00", answer.body["total_incl_tax"]);
        let n = orders::Notification::parse(serde_json::json!({
            "order_id": id, "status_code": "200", "gross_amount": amount, "transaction_id": format!("bench-{i}"),
            "transaction_status": "settlement",
            "signature_key": orders::payment::signature(&id, "200", &amount, &key),
        }))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        orders
            .apply_payment(
                &n,
                &orders::PaymentVerifier::signature_only(key.clone()),
                chrono::Utc::now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // Publish the order.paid events onto the FIFO queue, as the relay does.
    let outbox = store::outbox::PgOutbox::new(db);
    loop {
        let report = outbox
            .relay(None, 500, |e| {
                let sqs = sqs.clone();
                let queue = queue.to_string();
                async move {
                    if e.event_type == "order.paid" {
                        sqs.send_message()
                            .queue_url(queue)
                            .message_body(platform::outbox::message_body(&e))
                            .message_group_id(&e.aggregate_id)
                            .message_deduplication_id(e.event_id.to_string())
                            .send()
                            .await?;
                    }
                    Ok(())
                }
            })
            .await?;
        if report.published == 0 {
            break;
        }
    }
    Ok(())
}

/// Drains the queue through the release worker; returns orders per second reaching the ERP.
async fn drain(env: &BenchEnv, manifest: &Manifest, erp: &fake_erp::FakeErp, queue_url: &str, n: usize) -> Result<f64> {
    let spec = env
        .settings
        .specs(manifest, "release")
        .into_iter()
        .find(|s| s.name == "erp-sync-worker")
        .context("erp-sync-worker is in the manifest")?
        .with_env("NIAGA_ERP_URL", erp.url())
        .with_max_instances(2);
    let rt = Arc::new(
        LocalRuntime::start_with(
            ([127, 0, 0, 1], 0).into(),
            vec![spec],
            RuntimeOptions {
                log_dir: Some(services::state_dir().join("logs/bench/backbone")),
                echo: false,
                ..Default::default()
            },
        )
        .await?,
    );
    let before = erp.received_count(true);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let source = crate::gateway::sqs::SqsSource::new(
        "erp-sync-worker",
        queue_url,
        crate::gateway::sqs::queue_arn(&crate::queue_physical_name(crate::LOCAL_ENV, "erp-sync", true)),
    );
    let sqs = aws_sdk_sqs::Client::new(&testkit::aws_config().await);
    let poller = tokio::spawn(crate::gateway::sqs::run_poller(sqs, rt.clone(), source, stopped));
    // Timed from the first order the ERP receives, so worker cold starts are not in the rate.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut first = None;
    let rate = loop {
        let got = erp.received_count(true) - before;
        if got > 0 && first.is_none() {
            first = Some((Instant::now(), got));
        }
        if got >= n {
            let (t0, n0) = first.context("a first delivery was seen")?;
            break (got - n0) as f64 / t0.elapsed().as_secs_f64().max(1e-3);
        }
        if Instant::now() > deadline {
            bail!("only {got} of {n} orders reached the ERP within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    let _ = poller.await;
    if let Ok(mut rt) = Arc::try_unwrap(rt) {
        rt.shutdown().await;
    }
    Ok(rate)
}

/// Outbox lag (ms) of `order.placed` under a steady order load: (p50, p99, samples).
async fn outbox_lag(
    env: &BenchEnv,
    manifest: &Manifest,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> Result<(f64, f64, usize)> {
    let spec = env
        .settings
        .specs(manifest, "release")
        .into_iter()
        .find(|s| s.name == "orders-api")
        .context("orders-api is in the manifest")?;
    let rt = Arc::new(
        LocalRuntime::start_with(
            ([127, 0, 0, 1], 0).into(),
            vec![spec.with_max_instances(4)],
            RuntimeOptions {
                log_dir: Some(services::state_dir().join("logs/bench/backbone")),
                echo: false,
                ..Default::default()
            },
        )
        .await?,
    );
    let jwt = identity::Jwt::hs256(
        &kernel::SecretString::new(env.jwt_key.clone()),
        identity::JwtConfig::niaga(crate::LOCAL_ENV),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = crate::localdb::connect(&env.settings.database_url).await?;
    let p = testkit::auth::partner(&client, "P-00001").await;
    let token = jwt
        .issue(
            &identity::Subject {
                sub: "partner:P-00001".into(),
                role: identity::Role::Partner,
                partner: Some(p),
            },
            chrono::Utc::now().timestamp(),
            "bench",
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let total = (LAG_ORDERS_PER_S * LAG_SECONDS) as usize;
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / LAG_ORDERS_PER_S));
    let mut calls = Vec::new();
    for i in 0..total {
        ticks.tick().await;
        let mut ev = testkit::event("orders-api/place-order.json");
        ev["headers"]["authorization"] = format!("Bearer {token}").into();
        ev["headers"]["idempotency-key"] = format!("lag-{}-{i}", uuid::Uuid::new_v4().simple()).into();
        ev["body"] = serde_json::json!({ "lines": [{ "sku": "SRM-00004", "quantity": 1 }] })
            .to_string()
            .into();
        let rt = rt.clone();
        calls.push(tokio::spawn(async move { rt.invoke("orders-api", ev, None).await }));
    }
    futures::future::join_all(calls).await;
    let mut lags = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lags.len() < total && Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await?;
        for m in got.messages.unwrap_or_default() {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap_or("{}"))?;
            let sent = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse::<i64>().ok());
            let occurred = body["occurred_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis());
            if let (Some(s), Some(o), "order.placed") = (sent, occurred, body["event_type"].as_str().unwrap_or("")) {
                lags.push((s - o) as f64);
            }
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message().queue_url(queue).receipt_handle(h).send().await?;
            }
        }
    }
    if let Ok(mut rt) = Arc::try_unwrap(rt) {
        rt.shutdown().await;
    }
    if lags.len() < total {
        bail!("only {} of {total} order.placed events reached the queue", lags.len());
    }
    let n = lags.len();
    let p50 = crate::checkout_bench::percentile(&mut lags, 0.5);
    let p99 = crate::checkout_bench::percentile(&mut lags, 0.99);
    Ok((p50, p99, n))
}

/// Runs both measurements and returns the Markdown table.
pub async fn run(env: &BenchEnv, manifest: &Manifest) -> Result<String> {
    let url = env.settings.database_url.clone();
    sql(
        &url,
        "UPDATE system_config SET value = '0' WHERE key = 'pricing.minimum_order_total';
         UPDATE partners SET credit_limit = 1000000000000000, erp_debt = 0;
         DELETE FROM inventory WHERE sku = 'SRM-00004';
         INSERT INTO inventory (warehouse_code, sku, on_hand, reserved, buffer)
              VALUES ('JKT-CKR', 'SRM-00004', 2000000000, 0, 0);",
    )
    .await?;
    let sqs = aws_sdk_sqs::Client::new(&testkit::aws_config().await);
    let (erp_queue, notifications) = resources(&sqs).await?;
    let erp = fake_erp::FakeErp::start(([127, 0, 0, 1], 0).into()).await?;

    let mut rates = Vec::new();
    for (label, throttle) in [("throttled", THROTTLE), ("unthrottled", 100_000)] {
        sql(
            &url,
            &format!("UPDATE system_config SET value = '{throttle}' WHERE key = 'erp.sync.max_per_second'"),
        )
        .await?;
        step(format!(
            "ERP sync, {label}: {ORDERS} paid orders through erp-sync-worker"
        ));
        paid_orders(env, &sqs, &erp_queue, ORDERS).await?;
        rates.push(drain(env, manifest, &erp, &erp_queue, ORDERS).await?);
    }
    step(format!(
        "outbox lag: {LAG_ORDERS_PER_S} orders/s for {LAG_SECONDS} s through orders-api, order.placed to the notifications queue"
    ));
    let (p50, p99, n) = outbox_lag(env, manifest, &sqs, &notifications).await?;

    let mut t = String::new();
    t.push_str("| async backbone measure | figure | against | ratio |\n|---|---:|---|---:|\n");
    t.push_str(&format!(
        "| ERP sync, throttle {THROTTLE}/s | {:.1} orders/s | the throttle | {:.2}× |\n",
        rates[0],
        rates[0] / f64::from(THROTTLE)
    ));
    t.push_str(&format!(
        "| ERP sync, throttle out of the way | {:.1} orders/s | the throttle above | {:.1}× |\n",
        rates[1],
        rates[1] / f64::from(THROTTLE)
    ));
    t.push_str(&format!(
        "| outbox lag, commit → SQS, p50 / p99 | {p50:.1} / {p99:.1} ms | {LAG_ORDERS_PER_S} orders/s for {LAG_SECONDS} s ({n} events) | - |\n"
    ));
    t.push_str(&format!(
        "\n{ORDERS} paid orders per ERP run, fake ERP at zero latency, two worker instances as the manifest allows. \
         The throttled rate sits at the throttle and the unthrottled one well above it: the throttle binds, not the \
         code. Outbox lag is SQS's SentTimestamp minus the event's transaction time, through the fast path.\n"
    ));
    Ok(t)
}
