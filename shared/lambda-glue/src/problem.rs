//! `application/problem+json` (RFC 9457) errors, the only error shape the HTTP entry point ([`crate::http`]) returns.
//!
//! 4xx problems say what was wrong and, for input errors, name the field. 5xx problems are opaque: the body
//! carries only the request id, and the cause goes to the log under that id.

use crate::service::Service;
use lambda_http::Body;
use serde_json::json;

/// One rejected input field, named as it was sent (`lines[3].quantity`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An HTTP problem.
#[derive(Debug)]
pub struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub retry_after_s: Option<u32>,
    /// Further members of the problem document (for example `short_by` on a credit refusal).
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// Extra response headers.
    pub headers: Vec<(http::HeaderName, String)>,
    /// A 401's `WWW-Authenticate: Bearer` challenge, by its `error_description` (the realm is the service's).
    pub bearer_challenge: Option<String>,
    /// Logged, never sent.
    pub cause: Option<anyhow::Error>,
}

impl Problem {
    fn new(status: u16, kind: &'static str, title: &'static str) -> Self {
        Problem {
            status,
            kind,
            title,
            detail: None,
            errors: Vec::new(),
            retry_after_s: None,
            extensions: serde_json::Map::new(),
            headers: Vec::new(),
            bearer_challenge: None,
            cause: None,
        }
    }

    /// A problem of any 4xx kind: `kind` becomes `urn:<service>:problem:<kind>` ([`Service::problem_type`]).
    pub fn client(status: u16, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(status, kind, title).detail(detail)
    }

    /// Adds a member to the problem document.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_string(), value.into());
        self
    }

    /// Adds a field error.
    pub fn field(mut self, field: &str, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
        self
    }

    pub fn header(mut self, name: http::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// 400: the request body is not what the endpoint takes; `field` names the offending member.
    /// 422: an `Idempotency-Key` already used with a different request body.
    pub fn key_reused() -> Self {
        Problem::client(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "this Idempotency-Key was already used with a different request body; use a new key for a new request",
        )
        .field("Idempotency-Key", "was used with a different body")
    }

    pub fn invalid_body(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Problem::new(400, "invalid-body", "Invalid request body")
            .detail(format!("`{field}` {message}"))
            .field(field, message)
    }

    /// 401 with `WWW-Authenticate: Bearer`: no credentials, or credentials that do not verify.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Problem::new(401, "unauthorized", "Unauthorized").detail(detail.clone());
        p.bearer_challenge = Some(detail.replace('"', "'"));
        p
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(403, "forbidden", "Forbidden").detail(detail)
    }

    /// 415: the body's media type is not one the endpoint reads.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Problem::new(415, "unsupported-media-type", "Unsupported media type")
            .detail(format!("send the body as {expected}"))
    }

    /// 413: the body is larger than the endpoint accepts.
    pub fn too_large(max_bytes: usize) -> Self {
        Problem::new(413, "payload-too-large", "Payload too large")
            .detail(format!("the body must be at most {max_bytes} bytes"))
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 400: a query or path parameter broke a rule.
    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut p =
            Problem::new(400, "invalid-parameter", "Invalid request parameter").detail(format!("`{field}` {message}"));
        p.errors.push(FieldError {
            field: field.to_string(),
            message,
        });
        p
    }

    /// 404: nothing is here (also used for another tenant's resources, so existence is not revealed).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(404, "not-found", "Not found").detail(detail)
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Problem::new(405, "method-not-allowed", "Method not allowed")
    }

    /// 503 with `Retry-After`: a dependency is unavailable or the function is overloaded.
    pub fn unavailable(retry_after_s: u32, cause: impl Into<anyhow::Error>) -> Self {
        let mut p = Problem::new(503, "unavailable", "Service temporarily unavailable").detail("Try again shortly.");
        p.retry_after_s = Some(retry_after_s);
        p.cause = Some(cause.into());
        p
    }

    /// 502: a service this request depends on failed, or answered something that cannot be used; the body says
    /// nothing about it.
    pub fn bad_gateway(cause: impl Into<anyhow::Error>) -> Self {
        let mut p = Problem::new(502, "bad-gateway", "Upstream service failed");
        p.cause = Some(cause.into());
        p
    }

    /// 500: something unexpected; the body says nothing about the cause.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut p = Problem::new(500, "internal", "Internal error");
        p.cause = Some(cause.into());
        p
    }

    /// The response, logging the cause of any 5xx under the request id.
    pub fn into_response(self, service: &Service, request_id: &str) -> http::Response<Body> {
        if self.status >= 500 {
            match &self.cause {
                Some(cause) => tracing::error!(status = self.status, error = format!("{cause:#}"), "request failed"),
                None => tracing::error!(status = self.status, "request failed"),
            }
        }
        let mut body = json!({
            "type": service.problem_type(self.kind),
            "title": self.title,
            "status": self.status,
            "request_id": request_id,
        });
        // 5xx bodies are opaque: no detail, whatever the cause.
        if self.status < 500 || self.retry_after_s.is_some() {
            if let Some(detail) = &self.detail {
                body["detail"] = json!(detail);
            }
        }
        for (k, v) in &self.extensions {
            body[k] = v.clone();
        }
        if !self.errors.is_empty() {
            body["errors"] = self
                .errors
                .iter()
                .map(|e| json!({ "field": e.field, "message": e.message }))
                .collect();
        }
        let mut builder = http::Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, "application/problem+json")
            .header(http::header::CACHE_CONTROL, "no-store");
        if let Some(s) = self.retry_after_s {
            builder = builder.header(http::header::RETRY_AFTER, s.to_string());
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value.as_str());
        }
        if let Some(description) = &self.bearer_challenge {
            builder = builder.header(
                http::header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{description}\"",
                    service.name
                ),
            );
        }
        builder
            .body(Body::Text(body.to_string()))
            .unwrap_or_else(|_| http::Response::new(Body::Empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::EXAMPLE;

    fn body_of(r: &http::Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => panic!("expected a text body"),
        }
    }

    #[test]
    fn an_invalid_parameter_names_the_field() {
        let r = Problem::invalid_parameter("limit", "must be from 1 to 100").into_response(&EXAMPLE, "req-1");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let b = body_of(&r);
        assert_eq!(b["errors"][0]["field"], "limit");
        assert_eq!(b["request_id"], "req-1");
    }

    #[test]
    fn an_internal_error_reveals_nothing_of_its_cause() {
        let r =
            Problem::internal(anyhow::anyhow!("password=hunter2 at db.internal:5432")).into_response(&EXAMPLE, "req-2");
        let text = match r.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert_eq!(r.status(), 500);
        assert!(!text.contains("hunter2") && !text.contains("db.internal"));
        assert!(text.contains("req-2"));
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let r = Problem::unavailable(2, anyhow::anyhow!("pool timeout")).into_response(&EXAMPLE, "r");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
    }
}
