//! AWS adapters for Niaga: loading the SDK configuration once, and the Secrets Manager cache.
//!
//! Every client here is built from one [`aws_config::SdkConfig`] loaded at cold start; the standard
//! `AWS_ENDPOINT_URL` variable points all of them at the local emulator (moto) in development and tests.
//!
//! Depends on the AWS SDK and kernel. It must not depend on Lambda crates, PostgreSQL or HTTP types, and
//! domain crates must not depend on it.

pub mod secrets;

pub use secrets::{SecretsCache, SecretsError};

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
