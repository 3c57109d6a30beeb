//! Structured JSON logs on stdout, where Lambda ships them to CloudWatch Logs.
//!
//! Each invocation runs inside a span carrying `request_id` (the Lambda request id) and `trace_id` (from
//! `X-Amzn-Trace-Id`, a W3C `traceparent`, or the Lambda context), so every line of a request can be found
//! together. Fields never carry secrets or personal data.

use crate::service::Service;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Level from `<PREFIX>_LOG` ([`Service::variable`]; an `EnvFilter` string),
/// default `info`. Safe to call twice (tests): the second call is a no-op.
pub fn init(service: &Service, function: &str) {
    let filter = EnvFilter::try_from_env(service.variable("LOG")).unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .try_init();
    if installed.is_ok() {
        tracing::debug!(function, "logging initialised");
    }
}

/// The trace id for a request: `X-Amzn-Trace-Id`'s `Root`, else the W3C `traceparent` trace id, else the one
/// Lambda passed in the invocation context.
pub fn trace_id(headers: &http::HeaderMap, lambda_trace: Option<&str>) -> Option<String> {
    let amzn = headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').find_map(|part| part.trim().strip_prefix("Root=")))
        .map(str::to_string);
    let w3c = || {
        headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(|v| {
            let parts: Vec<&str> = v.trim().split('-').collect();
            (parts.len() == 4 && parts[1].len() == 32 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| parts[1].to_string())
        })
    };
    let lambda = || {
        lambda_trace.and_then(|t| {
            t.split(';')
                .find_map(|p| p.trim().strip_prefix("Root="))
                .map(str::to_string)
        })
    };
    amzn.or_else(w3c).or_else(lambda)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_trace_header_wins_then_w3c_then_lambda() {
        let mut h = http::HeaderMap::new();
        assert_eq!(trace_id(&h, Some("Root=1-abc-def;Sampled=0")), Some("1-abc-def".into()));
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert_eq!(trace_id(&h, None), Some("4bf92f3577b34da6a3ce929d0e0e4736".into()));
        h.insert(
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".parse().unwrap(),
        );
        assert_eq!(trace_id(&h, None), Some("1-5759e988-bd862e3fe1be46a994272793".into()));
    }

    #[test]
    fn a_malformed_traceparent_is_ignored() {
        let mut h = http::HeaderMap::new();
        h.insert("traceparent", "garbage".parse().unwrap());
        assert_eq!(trace_id(&h, None), None);
    }
}
