//! Lambda glue shared by every Niaga function.
//!
//! Owns, once for all functions: typed configuration read from the environment at cold start ([`config`]);
//! secrets and the JWT key policy ([`secrets`]); wiring the pools to Secrets Manager credentials ([`init`]);
//! structured JSON logs with request and trace ids ([`telemetry`]); CloudWatch Embedded Metric Format
//! ([`metrics`]); `application/problem+json` errors ([`problem`]); JSON request bodies read into their types,
//! naming the member at fault ([`body`]); HTTP helpers, CDN caching and the entry point
//! that serves API Gateway events and warm-up pings ([`http`]); bearer tokens and agent masquerade ([`auth`]);
//! the entry point of job functions ([`job`]); the outbox relay ([`outbox`]); SQS batches with partial failures
//! and backoff ([`sqs`]); rate limits per route class ([`limits`]); the OpenAPI 3.1 document generated from the
//! handlers' types ([`openapi`]); the CDN's origin header and the viewer's address behind it ([`origin`]); the
//! DNS and HTTP adapters behind agents' callback ports ([`callbacks`]); what a health check probes ([`health`]).
//!
//! # Layout
//! A function's `main` is `platform::init` → build its handler → `platform::http::run`. Everything a handler
//! needs arrives in [`init::Deps`]; nothing is built per request.
//!
//! Depends on kernel, identity, agents, settings, supply-sync, store, niaga-aws and the Lambda crates. Domain crates must not depend on it.

/// AWS calls refused by IAM on fail-open paths, counted ([`niaga_aws::fail_open`]); tests assert none happened.
pub use niaga_aws::access_denied_count;

pub mod auth;
pub mod body;
pub mod callbacks;
pub mod config;
pub mod health;
pub mod http;
pub mod init;
pub mod job;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod outbox;
pub mod problem;
pub mod secrets;
pub mod settings;
pub mod sqs;
pub mod telemetry;

pub use config::{CommonConfig, ConfigError, Env};
pub use init::{init, Deps};
pub use problem::Problem;
