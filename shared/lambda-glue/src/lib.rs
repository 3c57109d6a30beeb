//! Glue for Rust functions on AWS Lambda, with nothing of any one product in it.
//!
//! Owns what every function needs around its handler:
//! - typed configuration from the environment, read once at cold start ([`env`]);
//! - structured JSON logs with request and trace ids ([`telemetry`]);
//! - CloudWatch Embedded Metric Format records ([`metrics`]);
//! - `application/problem+json` errors that name the bad member ([`problem`]);
//! - JSON request bodies read into their types, naming the member at fault by its path ([`body`]);
//! - the entry point for API Gateway HTTP API events and warm-up pings, with HTTP, JSON and CDN-cache helpers
//!   ([`http`]);
//! - the entry point for SQS batches, with partial batch failures, backoff through visibility and FIFO order
//!   ([`sqs`]);
//! - the entry point of scheduled jobs, which also run once from a shell or as a sharded Cloud Run job ([`job`]);
//! - fail-open paths around AWS calls that still count IAM refusals ([`failopen`]).
//!
//! The names glue writes for a service (its problem URNs, metric namespace and variable prefix) come from the
//! [`Service`] it is given; glue hard-codes none.
//!
//! Depends on the Lambda runtime crates, `aws_lambda_events` and the SQS client only. It must not depend on any
//! crate of the product that uses it.
//!
//! # Example
//!
//! ```no_run
//! use lambda_glue::http::{json_response, run, segments, HttpHandler, RequestCtx, Runtime};
//! use lambda_glue::{Problem, Service};
//! use lambda_http::{Body, Request, Response};
//! use std::time::Duration;
//!
//! const SHOP: Service = Service { name: "shop", metrics_namespace: "Shop", env_prefix: "SHOP" };
//!
//! struct Hello;
//!
//! impl HttpHandler for Hello {
//!     async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<Response<Body>, Problem> {
//!         match segments(&req).as_slice() {
//!             [hello] if hello == "hello" => Ok(json_response(200, &serde_json::json!({ "hello": "world" }))),
//!             _ => Err(Problem::not_found("no such route")),
//!         }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     lambda_glue::telemetry::init(&SHOP, "hello-api");
//!     let rt = Runtime { service: SHOP, function: "hello-api", slow_request: Duration::from_secs(3), hooks: None };
//!     run(rt, Hello).await
//! }
//! ```

pub mod body;
pub mod env;
pub mod failopen;
pub mod http;
pub mod job;
pub mod metrics;
pub mod problem;
pub mod service;
pub mod sqs;
pub mod telemetry;

pub use env::{ConfigError, Env, FromEnv};
pub use problem::Problem;
pub use service::Service;
