//! Niaga's composition root for its functions: what every function wires the same way, on top of
//! [`lambda_glue`]'s generic Lambda glue.
//!
//! Owns, once for all functions: Niaga's names for the glue ([`NIAGA`]); the configuration every function reads
//! ([`config`]); secrets and the JWT key policy ([`secrets`]); cold start, wiring the pools to Secrets Manager
//! credentials ([`init`]); what runs around each HTTP request ([`hooks`]: key rotation, the CDN's origin header
//! ([`origin`]), warm-up); the `Idempotency-Key` header ([`idempotency`]); bearer tokens and agent masquerade
//! ([`auth`]); the outbox relay ([`outbox`]); rate limits per route class ([`limits`]); the settings cache
//! ([`settings`]); the OpenAPI 3.1 document generated from the handlers' types ([`openapi`]); the DNS and HTTP
//! adapters behind agents' callback ports ([`callbacks`]); what a health check probes ([`health`]).
//!
//! # Layout
//! A function's `main` is `platform::init` → build its handler → `lambda_glue::http::run(deps.runtime(), ..)`.
//! Everything a handler needs arrives in [`init::Deps`]; nothing is built per request.
//!
//! Depends on kernel, identity, agents, settings, supply-sync, store, niaga-aws, lambda-glue and the Lambda
//! crates. Domain crates must not depend on it, and neither may lambda-glue.

/// AWS calls refused by IAM on fail-open paths, counted ([`lambda_glue::failopen`]); tests assert none happened.
pub use lambda_glue::failopen::access_denied_count;

pub mod auth;
pub mod callbacks;
pub mod config;
pub mod health;
pub mod hooks;
pub mod idempotency;
pub mod init;
pub mod limits;
pub mod openapi;
pub mod origin;
pub mod outbox;
pub mod secrets;
pub mod settings;

pub use config::CommonConfig;
pub use init::{init, Deps};

/// Niaga's names in what the glue writes: `urn:niaga:problem:<kind>` problem types, the `Niaga` metric
/// namespace, and the `NIAGA_LOG` and `NIAGA_JOB_INPUT` variables.
pub const NIAGA: lambda_glue::Service = lambda_glue::Service {
    name: "niaga",
    metrics_namespace: "Niaga",
    env_prefix: "NIAGA",
};
