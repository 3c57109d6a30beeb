//! The endpoints benchmark, part of `cargo xtask bench`.
//!
//! 1. **Warm server-side time per endpoint.** Each read endpoint (search, a product, a quote, health, an order) is
//!    called one request at a time through the local Lambda runtime on release builds; the function's own per-request
//!    latency (the EMF `latency` it logs, measured around the handler) gives p50 and p99. The baseline is the SQL
//!    that endpoint runs, statement for statement (`xtask/bench/endpoints/*.sql`), run bare through tokio-postgres
//!    by `sql-bench` in the same run, before and after. `POST /orders` is the checkout benchmark's.
//! 2. **Peak RSS per function under load.** [`CLIENTS`] clients call every endpoint, and hello-lambda beside them,
//!    for [`LOAD_SECONDS`]; then each instance's `VmHWM` (the kernel's peak resident set for the process) is read.
//!    The figure is the largest instance's, as a ratio to hello-lambda's under the same load.

use crate::bench::BenchEnv;
use crate::checkout_bench::{self, percentile};
use crate::localrt::{FunctionSpec, LocalRuntime, RuntimeOptions};
use crate::manifest::Manifest;
use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sequential requests per latency sample, after `WARMUP` unmeasured ones.
const SEQUENTIAL: usize = 300;
const WARMUP: usize = 30;
/// Concurrent clients (and instances per function) while RSS is measured.
pub const CLIENTS: usize = 8;
pub const LOAD_SECONDS: u64 = 10;
const HELLO: &str = "hello-lambda";
pub const FUNCTIONS: [&str; 3] = ["catalog-api", "orders-api", "health-api"];

/// One endpoint: the event that calls it and the SQL it runs.
struct Endpoint {
    route: &'static str,
    function: &'static str,
    event: Value,
    script: &'static str,
    defines: Vec<String>,
}

/// Runs both measurements and returns the Markdown tables.
pub async fn run(env: &BenchEnv, manifest: &Manifest) -> Result<String> {
    let url = env.settings.database_url.clone();
    checkout_bench::prepare(&url).await?;
    // As deployed: public reads count against the per-source budget in DynamoDB.
    env.create_tables(manifest).await?;
    let tokens = checkout_bench::partner_tokens(env).await?;
    let log_dir = services::state_dir().join("logs/bench/endpoints");
    let _ = std::fs::remove_dir_all(&log_dir);
    let mut specs: Vec<FunctionSpec> = env
        .settings
        .specs(manifest, "release")
        .into_iter()
        .filter(|s| FUNCTIONS.contains(&s.name.as_str()))
        .map(|s| s.with_max_instances(CLIENTS))
        .collect();
    specs.push(
        FunctionSpec::new(HELLO, crate::bin_path("release", HELLO))
            .with_timeout_s(10)
            .with_max_instances(CLIENTS),
    );
    let rt = Arc::new(
        LocalRuntime::start_with(
            ([127, 0, 0, 1], 0).into(),
            specs,
            RuntimeOptions {
                log_dir: Some(log_dir.clone()),
                echo: false,
                ..Default::default()
            },
        )
        .await?,
    );

    // Partner 1's order, to read back.
    let placed = invoke(&rt, "orders-api", order_event(&tokens[0])).await?;
    let order: Value = serde_json::from_str(placed["body"].as_str().unwrap_or("{}"))?;
    let id = order["id"].as_str().context("the bench order has an id")?.to_string();
    let placed_at = placed_at(&url, &id).await?;
    let endpoints = endpoints(&tokens[0], &id, &placed_at);

    let mut rows = Vec::new();
    for e in &endpoints {
        step(format!(
            "{}: bare SQL, then the endpoint, then bare SQL again ({} each)",
            e.route,
            SEQUENTIAL + WARMUP
        ));
        let mut bare = checkout_bench::sql_bench_script(&url, e.script, &e.defines, SEQUENTIAL + WARMUP, WARMUP)?;
        for _ in 0..SEQUENTIAL + WARMUP {
            let answer = invoke(&rt, e.function, e.event.clone()).await?;
            if answer["statusCode"].as_u64() != Some(200) {
                bail!("{} answered {} in the benchmark", e.route, answer);
            }
        }
        bare.extend(checkout_bench::sql_bench_script(
            &url,
            e.script,
            &e.defines,
            SEQUENTIAL + WARMUP,
            WARMUP,
        )?);
        rows.push((e.route, bare));
    }
    let latencies = server_latencies(&log_dir)?;

    step(format!(
        "peak RSS: {CLIENTS} clients × {LOAD_SECONDS} s over every endpoint and hello-lambda"
    ));
    load(&rt, &endpoints).await?;
    let rss = peak_rss(&rt)?;
    match Arc::try_unwrap(rt) {
        Ok(mut rt) => rt.shutdown().await,
        Err(_) => bail!("the local runtime is still shared after the load"),
    }

    let mut t = String::new();
    t.push_str("| endpoint (warm) | Niaga p50 | bare SQL p50 | ratio | Niaga p99 | bare SQL p99 | ratio |\n");
    t.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for (route, mut bare) in rows {
        let mut niaga = latencies
            .get(route)
            .cloned()
            .with_context(|| format!("no latency records for {route}"))?;
        if niaga.len() != SEQUENTIAL + WARMUP {
            bail!(
                "expected {} latency records for {route}, found {}",
                SEQUENTIAL + WARMUP,
                niaga.len()
            );
        }
        niaga.drain(..WARMUP);
        let (n50, n99) = (percentile(&mut niaga, 0.5), percentile(&mut niaga, 0.99));
        let (b50, b99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
        t.push_str(&format!(
            "| `{route}` | {n50:.2} ms | {b50:.2} ms | {:.2}× | {n99:.2} ms | {b99:.2} ms | {:.2}× |\n",
            n50 / b50,
            n99 / b99
        ));
    }
    t.push_str(&format!(
        "\n{SEQUENTIAL} sequential requests per endpoint after {WARMUP} warm-up ones; the bare SQL (statement for \
         statement, `xtask/bench/endpoints/`) ran before and after. Server-side time is what the function measures \
         around its handler (token check, parsing, the queries, JSON for the answer).\n\n"
    ));
    let hello = *rss.get(HELLO).context("hello-lambda's RSS was read")?;
    t.push_str(&format!(
        "| function | peak RSS under load ({CLIENTS} clients × {LOAD_SECONDS} s) | / hello-lambda | memory configured |\n"
    ));
    t.push_str("|---|---:|---:|---:|\n");
    for f in FUNCTIONS.iter().chain(std::iter::once(&HELLO)) {
        let kb = *rss.get(*f).with_context(|| format!("{f}'s RSS was read"))?;
        let memory = manifest
            .functions
            .iter()
            .find(|m| m.name == *f)
            .map_or("-".to_string(), |m| format!("{} MB", m.memory_mb));
        t.push_str(&format!(
            "| {f} | {:.1} MB | {:.2}× | {memory} |\n",
            kb as f64 / 1024.0,
            kb as f64 / hello as f64
        ));
    }
    t.push_str(
        "\nPeak RSS is the largest instance's `VmHWM` after the load: each instance is one Lambda execution \
         environment, so this is what the memory setting must hold.\n",
    );
    Ok(t)
}

fn endpoints(token: &str, order_id: &str, placed_at: &str) -> Vec<Endpoint> {
    let bearer = |mut ev: Value| {
        ev["headers"]["authorization"] = format!("Bearer {token}").into();
        ev
    };
    let mut get_order = bearer(testkit::event("orders-api/get-order.json"));
    get_order["rawPath"] = format!("/orders/{order_id}").into();
    get_order["requestContext"]["http"]["path"] = format!("/orders/{order_id}").into();
    get_order["pathParameters"] = serde_json::json!({ "id": order_id });
    let mut quote = bearer(testkit::event("orders-api/create-quote.json"));
    quote["body"] = serde_json::json!({ "lines": [{ "sku": checkout_bench::HOT_SKU, "quantity": 1 }] })
        .to_string()
        .into();
    vec![
        Endpoint {
            route: "GET /products",
            function: "catalog-api",
            event: testkit::event("catalog-api/search-products.json"),
            script: "search.sql",
            defines: vec![],
        },
        Endpoint {
            route: "GET /products/{sku}",
            function: "catalog-api",
            event: testkit::event("catalog-api/get-product.json"),
            script: "product.sql",
            defines: vec![],
        },
        Endpoint {
            route: "POST /quotes",
            function: "orders-api",
            event: quote,
            script: "quote.sql",
            defines: vec![format!("sku={}", checkout_bench::HOT_SKU), "tier=bronze".into()],
        },
        Endpoint {
            route: "GET /health",
            function: "health-api",
            event: testkit::event("health-api/get-health.json"),
            script: "health.sql",
            defines: vec![],
        },
        Endpoint {
            route: "GET /orders/{id}",
            function: "orders-api",
            event: get_order,
            script: "order.sql",
            defines: vec![
                format!("id={order_id}"),
                "partner=1".into(),
                format!("placed_at={placed_at}"),
            ],
        },
    ]
}

fn order_event(token: &str) -> Value {
    let mut ev = testkit::event("orders-api/place-order.json");
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    ev["headers"]["idempotency-key"] = format!("endpoints-{}", uuid::Uuid::new_v4().simple()).into();
    ev["body"] = serde_json::json!({ "lines": [{ "sku": checkout_bench::HOT_SKU, "quantity": 1 }] })
        .to_string()
        .into();
    ev
}

async fn invoke(rt: &LocalRuntime, function: &str, event: Value) -> Result<Value> {
    let inv = rt
        .invoke(function, event, None)
        .await
        .map_err(|e| anyhow::anyhow!("{function}: {e}"))?;
    inv.response.map_err(|e| anyhow::anyhow!("{function} failed: {e:?}"))
}

async fn placed_at(url: &str, id: &str) -> Result<String> {
    let c = crate::localdb::connect(url).await?;
    let id: uuid::Uuid = id.parse()?;
    let row = c
        .query_one(
            "SELECT to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' FROM orders \
             WHERE id = $1",
            &[&id],
        )
        .await
        .context("reading the bench order back")?;
    Ok(row.get(0))
}

/// Server-side latencies (ms) by route, from every EMF line the functions wrote, in the order written.
fn server_latencies(log_dir: &std::path::Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let mut by_route: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for entry in std::fs::read_dir(log_dir)?.flatten() {
        for line in std::fs::read_to_string(entry.path())?.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let (true, Some(route), Some(ms)) = (v["_aws"].is_object(), v["route"].as_str(), v["latency"].as_f64()) {
                by_route.entry(route.to_string()).or_default().push(ms);
            }
        }
    }
    // The one order placed to read back is not an endpoint measured here.
    by_route.remove("POST /orders");
    Ok(by_route)
}

/// `CLIENTS` clients round-robin over every endpoint and hello-lambda for `LOAD_SECONDS`.
async fn load(rt: &Arc<LocalRuntime>, endpoints: &[Endpoint]) -> Result<()> {
    let mut calls: Vec<(&'static str, Value)> = endpoints.iter().map(|e| (e.function, e.event.clone())).collect();
    calls.push((HELLO, serde_json::json!({ "hello": "load" })));
    let calls = Arc::new(calls);
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (rt, calls) = (rt.clone(), calls.clone());
            tokio::spawn(async move {
                let mut n = c;
                while Instant::now() < deadline {
                    let (function, event) = &calls[n % calls.len()];
                    invoke(&rt, function, event.clone()).await?;
                    n += 1;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for c in futures::future::join_all(clients).await {
        c.context("a load client")??;
    }
    Ok(())
}

/// The largest `VmHWM` (kB) among each measured function's live instances.
fn peak_rss(rt: &LocalRuntime) -> Result<BTreeMap<String, u64>> {
    let all = rt.peak_rss_kb();
    FUNCTIONS
        .iter()
        .chain(std::iter::once(&HELLO))
        .map(|f| {
            let kb = all.get(*f).with_context(|| format!("no live {f} instance to read"))?;
            Ok((f.to_string(), *kb))
        })
        .collect()
}
