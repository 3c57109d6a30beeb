//! `application/problem+json` (RFC 9457) errors, the only error shape Niaga's HTTP functions return.
//!
//! 4xx problems say what was wrong and, for input errors, name the field. 5xx problems are opaque: the body
//! carries only the request id, and the cause goes to the log under that id.

use lambda_http::Body;
use serde_json::json;

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            cause: None,
        }
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

    /// 500: something unexpected; the body says nothing about the cause.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut p = Problem::new(500, "internal", "Internal error");
        p.cause = Some(cause.into());
        p
    }

    /// The response, logging the cause of any 5xx under the request id.
    pub fn into_response(self, request_id: &str) -> http::Response<Body> {
        if self.status >= 500 {
            match &self.cause {
                Some(cause) => tracing::error!(status = self.status, error = format!("{cause:#}"), "request failed"),
                None => tracing::error!(status = self.status, "request failed"),
            }
        }
        let mut body = json!({
            "type": format!("urn:niaga:problem:{}", self.kind),
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
        builder
            .body(Body::Text(body.to_string()))
            .unwrap_or_else(|_| http::Response::new(Body::Empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(r: &http::Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => panic!("expected a text body"),
        }
    }

    #[test]
    fn an_invalid_parameter_names_the_field() {
        let r = Problem::invalid_parameter("limit", "must be from 1 to 100").into_response("req-1");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let b = body_of(&r);
        assert_eq!(b["errors"][0]["field"], "limit");
        assert_eq!(b["request_id"], "req-1");
    }

    #[test]
    fn an_internal_error_reveals_nothing_of_its_cause() {
        let r = Problem::internal(anyhow::anyhow!("password=hunter2 at db.internal:5432")).into_response("req-2");
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
        let r = Problem::unavailable(2, anyhow::anyhow!("pool timeout")).into_response("r");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
    }
}
