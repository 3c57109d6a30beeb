//! Paths that carry on without an AWS call that failed (fail-open: a rate limit let through, a cache skipped, a
//! backoff not set), logged so that a missing IAM grant is never hidden by the fallback.

static ACCESS_DENIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether an AWS error (its text, with its sources) is an IAM refusal: `AccessDenied`, `AccessDeniedException`, or
/// a service answer with HTTP status 403, which [`FORBIDDEN`] marks.
pub fn is_access_denied(error: &str) -> bool {
    error.contains("AccessDenied") || error.contains(FORBIDDEN)
}

/// What an error's text carries when the service answered 403 Forbidden (an emulator may answer a JSON-protocol
/// call's refusal in XML, which the SDK reports as "unhandled": the status still says it).
pub const FORBIDDEN: &str = "(HTTP 403)";

/// Logs the failure of a fail-open path; an IAM refusal is logged as an error with `access_denied = true` and
/// counted ([`access_denied_count`]).
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

/// An SDK error and its sources on one line, each said once, followed by [`FORBIDDEN`] when the service answered
/// 403. (The SDK's `DisplayErrorContext` would append the whole error's debug form, raw HTTP response included.)
/// Every AWS SDK crate shares these error and response types, so this serves any client.
pub fn sdk_error_text<E>(e: &aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>) -> String
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

/// The error and its sources on one line, each said once (an SDK operation error displays as the service error it
/// wraps, which is also its source).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
