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

/// The fail-open helpers are glue's, so that one counter sees every refusal in a process.
pub use lambda_glue::failopen::{access_denied_count, error_chain, fail_open, is_access_denied, sdk_error_text};

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
