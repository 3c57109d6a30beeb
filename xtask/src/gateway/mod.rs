//! The local stand-in for everything that invokes Niaga's functions in AWS: API Gateway (HTTP API, payload
//! format 2.0), the SQS event-source mappings and the EventBridge schedules, all driven by `niaga.json`.
//!
//! - [`http`]: routes, the v2 event, response mapping, and the `/_niaga/` control endpoints.
//! - [`sqs`]: ReceiveMessage pollers that build real `SqsEvent`s and honour `ReportBatchItemFailures`.
//! - [`schedule`]: fires each schedule's targets at the times its `cron(...)`/`rate(...)` expression gives.
//!
//! It invokes functions only through the [`Invoker`] trait, so it runs the same over the in-process
//! [`crate::localrt::LocalRuntime`] or an Invoke API over HTTP.

pub mod http;
pub mod schedule;
pub mod sqs;

use crate::localrt::Invoker;
use crate::manifest::{Kind, Manifest};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long [`Gateway::shutdown`] lets in-flight requests, batches and firings finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The running gateway: HTTP listener, SQS pollers and schedule loops.
pub struct Gateway {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl Gateway {
    /// Serves the manifest's routes on `bind`, starts a poller per `kind: sqs` function (when `aws` is given)
    /// and a loop per schedule. `env` names physical resources (`niaga-<env>-<queue>`), `"local"` in dev.
    pub async fn start(
        bind: SocketAddr,
        manifest: Manifest,
        invoker: Arc<dyn Invoker>,
        aws: Option<aws_config::SdkConfig>,
        env: String,
    ) -> Result<Gateway> {
        Self::start_as(bind, manifest, invoker, aws, env, &crate::iam::Principals::new()).await
    }

    /// [`Gateway::start`], with each queue worker's poller signing as that worker's principal when `principals`
    /// holds its keys: in AWS the event-source mapping reads and deletes messages with the function's execution
    /// role, so a worker whose policy lacks `sqs:ReceiveMessage` on its queue never sees a message.
    pub async fn start_as(
        bind: SocketAddr,
        manifest: Manifest,
        invoker: Arc<dyn Invoker>,
        aws: Option<aws_config::SdkConfig>,
        env: String,
        principals: &crate::iam::Principals,
    ) -> Result<Gateway> {
        let routes = http::RouteTable::from_manifest(&manifest).context("compiling the manifest's routes")?;
        let rules =
            schedule::ScheduledRule::from_manifest(&manifest, &env).context("parsing the manifest's schedules")?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);

        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding the gateway on {bind}"))?;
        let addr = listener.local_addr().context("reading the gateway address")?;
        let cors = http::CorsPolicy::from_manifest(&manifest, &env);
        // Served only when the code documents exactly the manifest's routes (test manifests may not).
        let openapi =
            crate::openapi::render_with_servers(&manifest, vec![(format!("http://{addr}"), "this gateway".into())])
                .map(|doc| crate::openapi::to_text(&doc))
                .map_err(|e| tracing::debug!(error = format!("{e:#}"), "no OpenAPI document for this manifest"))
                .ok();
        let state =
            Arc::new(http::GatewayState::new(routes, invoker.clone(), rules.clone(), cors).with_openapi(openapi));
        let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let mut stop = shutdown_rx.clone();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "gateway HTTP server stopped");
            }
        });

        let mut tasks = Vec::new();
        let sqs_functions: Vec<_> = manifest.functions.iter().filter(|f| f.kind == Kind::Sqs).collect();
        match (&aws, sqs_functions.is_empty()) {
            (_, true) => {}
            (None, false) => tracing::warn!(
                "no AWS config given: SQS pollers for {} function(s) not started",
                sqs_functions.len()
            ),
            (Some(config), false) => {
                let client = aws_sdk_sqs::Client::new(config);
                for f in sqs_functions {
                    let queue_name = f.queue.as_deref().context("sqs function without a queue")?;
                    let queue = manifest
                        .queues
                        .iter()
                        .find(|q| q.name == queue_name)
                        .with_context(|| format!("function `{}` consumes unknown queue `{queue_name}`", f.name))?;
                    let physical = crate::queue_physical_name(&env, &queue.name, queue.fifo);
                    let source = sqs::SqsSource::new(f.name.clone(), String::new(), sqs::queue_arn(&physical))
                        .with_batch_size(f.batch_size.unwrap_or(10))
                        .with_max_concurrency(f.max_concurrency.unwrap_or(2) as usize);
                    let client = match principals.get(&f.name) {
                        Some(keys) => aws_sdk_sqs::Client::from_conf(
                            aws_sdk_sqs::config::Builder::from(config)
                                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                                    keys.access_key_id.clone(),
                                    keys.secret_access_key.clone(),
                                    None,
                                    None,
                                    "event-source-mapping",
                                ))
                                .build(),
                        ),
                        None => client.clone(),
                    };
                    tasks.push(tokio::spawn(sqs::run_manifest_poller(
                        client,
                        invoker.clone(),
                        physical,
                        source,
                        shutdown_rx.clone(),
                    )));
                }
            }
        }
        for rule in rules.iter() {
            tasks.push(tokio::spawn(schedule::run_schedule(
                invoker.clone(),
                rule.clone(),
                shutdown_rx.clone(),
            )));
        }
        tracing::info!(%addr, routes = manifest.routes().count(), schedules = rules.len(), "gateway listening");
        Ok(Gateway {
            addr,
            shutdown: shutdown_tx,
            server: Some(server),
            tasks,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests, batches and firings finish (up to 10 s), then stops.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let mut handles: Vec<JoinHandle<()>> = self.tasks.drain(..).collect();
        handles.extend(self.server.take());
        for mut handle in handles {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut handle).await.is_err() {
                handle.abort();
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}
