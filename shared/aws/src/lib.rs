//! AWS adapters for Niaga: loading the SDK configuration once, the Secrets Manager cache ([`secrets`]), publishing
//! to SQS ([`sqs`]), and on DynamoDB: rate limits shared by all instances ([`ratelimit`]) and versioned items for
//! state every instance must agree on, such as the ERP circuit breaker ([`versioned`]). Domain events go out on the project's EventBridge bus
//! ([`events`]); report files go to S3 with presigned download links ([`files`]).
//!
//! Every client here is built from one [`aws_config::SdkConfig`] loaded at cold start, with the time budget
//! [`timeouts`] gives its kind of call; the standard `AWS_ENDPOINT_URL` variable points all of them at the local
//! emulator (moto) in development and tests.
//!
//! Depends on the AWS SDK, kernel, and the application crates whose ports it implements. It must not depend on
//! Lambda crates, PostgreSQL or HTTP types, and domain crates must not depend on it.

pub mod events;
pub mod files;
pub mod ratelimit;
pub mod secrets;
pub mod sqs;
pub mod timeouts;
pub mod versioned;

/// The physical name of a manifest table in an environment: `niaga-<env>-<name>` (as terraform names it).
pub fn table_physical_name(env: &str, name: &str) -> String {
    format!("niaga-{env}-{name}")
}

pub use secrets::{SecretsCache, SecretsError};

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`), with the
/// standard time budget ([`timeouts::Budget::STANDARD`]).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts::Budget::STANDARD.timeout_config())
        .load()
        .await
}

static ACCESS_DENIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether an AWS error (its text, with its sources) is an IAM refusal: `AccessDenied`, `AccessDeniedException`, or
/// a service answer with HTTP status 403 as [`sdk_error_text`] writes it.
pub fn is_access_denied(error: &str) -> bool {
    error.contains("AccessDenied") || error.contains(FORBIDDEN)
}

const FORBIDDEN: &str = "(HTTP 403)";

/// An SDK error as [`error_chain`] writes it, followed by `(HTTP 403)` when the service answered 403 Forbidden. AWS
/// answers an authorisation failure with 403 or names it `AccessDenied…`; the status says it even when the body does
/// not parse (an emulator may answer a JSON-protocol call's refusal in XML, which the SDK reports as "unhandled").
pub fn sdk_error_text<E>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> String
where
    E: std::error::Error + 'static,
{
    let mut text = error_chain(e);
    if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) {
        text.push(' ');
        text.push_str(FORBIDDEN);
    }
    text
}

/// For a path that carries on without the AWS call that failed (fail-open: a rate limit let through, a cache
/// skipped): logs the failure, and when it is an IAM refusal logs it as an error with `access_denied = true` and
/// counts it ([`access_denied_count`]), so a missing grant is never hidden by the fallback.
pub fn fail_open(what: &str, error: &dyn std::fmt::Display) {
    let text = error.to_string();
    if is_access_denied(&text) {
        ACCESS_DENIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(access_denied = true, error = %text, "{what}: AccessDenied (the function's IAM policy lacks a grant)");
    } else {
        tracing::warn!(error = %text, "{what}");
    }
}

/// How many AWS calls this process saw refused by IAM on fail-open paths ([`fail_open`]). Tests assert it is zero.
pub fn access_denied_count() -> u64 {
    ACCESS_DENIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The error and its sources on one line, each said once. (The SDK's `DisplayErrorContext` would append the whole
/// error's debug form, raw HTTP response included.)
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // An SDK operation error displays as the service error it wraps, which is also its source.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::SdkError;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_types::body::SdkBody;

    fn answered(status: u16, body: &'static str) -> SdkError<GetItemError, HttpResponse> {
        let response = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
        SdkError::service_error(
            GetItemError::unhandled("Error at offset 0: unexpected token '<'"),
            response,
        )
    }

    #[test]
    fn a_refusal_is_recognised_by_its_403_even_when_the_body_does_not_parse() {
        let text = sdk_error_text(&answered(
            403,
            "<ErrorResponse><Code>AccessDenied</Code></ErrorResponse>",
        ));
        assert!(is_access_denied(&text), "{text}");
    }

    #[test]
    fn other_failures_are_not_refusals() {
        let text = sdk_error_text(&answered(500, "<html>busy</html>"));
        assert!(!is_access_denied(&text), "{text}");
        assert!(!is_access_denied("dispatch failure: connection refused"));
        assert!(is_access_denied("AccessDeniedException: User is not authorized"));
    }
}
