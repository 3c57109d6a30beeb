//! The HTTP side of a function: the Lambda entry point for API Gateway HTTP API (payload 2.0) events and
//! warm-up pings, request context, and helpers for routing, query strings, JSON and CDN caching.
//!
//! [`run`] is the whole event loop. For each invocation it: runs the service's [`Hooks::before_request`]; answers
//! `{"warmup": true}` after [`Hooks::warm`] (without running the handler); otherwise converts the event to an
//! `http::Request`, lets [`Hooks::admit`] refuse it, runs the handler inside a span carrying the request and trace
//! ids, turns a [`Problem`] into problem+json, logs a warning when the request took longer than the slow
//! threshold, and writes one EMF record.

use crate::metrics::{self, Unit};
use crate::problem::Problem;
use crate::service::Service;
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What a handler knows about the invocation it serves.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    pub trace_id: Option<String>,
    /// Milliseconds since the epoch when Lambda will stop this invocation.
    pub deadline_ms: u64,
    pub cold_start: bool,
}

/// A function's HTTP handler. It decodes, calls a service, maps the result: no SQL and no SDK calls.
pub trait HttpHandler: Send + Sync + 'static {
    fn handle(
        &self,
        req: Request,
        ctx: &RequestCtx,
    ) -> impl Future<Output = Result<http::Response<Body>, Problem>> + Send;
}

/// A future a hook returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a service runs around every request, besides the handler.
pub trait Hooks: Send + Sync + std::fmt::Debug {
    /// Before each invocation, warm-up pings included (bring rotated keys up to date, say). Must not fail the
    /// request: a hook that cannot do its work logs it and keeps what it had.
    fn before_request(&self) -> BoxFuture<'_, ()>;
    /// Admits a request before the handler sees it, or refuses it with a problem (a request that did not come
    /// through the CDN, say). May add extensions to the request.
    fn admit(&self, request: &mut Request) -> Result<(), Problem>;
    /// For a warm-up ping: opens what the next request will need and says how many connections are open.
    fn warm(&self) -> BoxFuture<'_, Result<usize, String>>;
}

/// What the entry point needs besides the handler.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub service: Service,
    pub function: &'static str,
    /// Requests slower than this are logged as a warning.
    pub slow_request: Duration,
    /// `None`: nothing runs around the handler, and a warm-up ping opens nothing.
    pub hooks: Option<Arc<dyn Hooks>>,
}

static COLD: AtomicBool = AtomicBool::new(true);

/// Runs the Lambda event loop until the runtime shuts the process down.
pub async fn run<H: HttpHandler>(rt: Runtime, handler: H) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    let rt = Arc::new(rt);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        let rt = rt.clone();
        async move { Ok::<Value, lambda_runtime::Error>(dispatch(&rt, &*handler, event.payload, event.context).await) }
    }))
    .await
}

/// True for exactly the warm-up ping `{"warmup": true}`. Jobs use this: a schedule aimed at a job means "run".
pub fn is_warmup_ping(event: &Value) -> bool {
    event.get("warmup").and_then(Value::as_bool) == Some(true)
}

/// For HTTP functions: true for the warm-up ping `{"warmup": true}`, and for a bare EventBridge "Scheduled Event": the only schedule
/// that targets an HTTP function is the warm-up, and a rule deployed without its constant input must not turn
/// into a 500.
pub fn is_warmup(event: &Value) -> bool {
    is_warmup_ping(event)
        || (event.get("source").and_then(Value::as_str) == Some("aws.events")
            && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event"))
}

/// Serves one invocation and returns the API Gateway v2 response document (or the warm-up answer). Public so
/// handler tests can drive a function with the JSON files in `events/` without a runtime.
pub async fn dispatch<H: HttpHandler>(rt: &Runtime, handler: &H, event: Value, lambda: Context) -> Value {
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    if let Some(hooks) = &rt.hooks {
        hooks.before_request().await;
    }
    if is_warmup(&event) {
        return warm_up(rt, cold_start, &lambda.request_id).await;
    }
    let mut request: Request = match serde_json::from_value::<LambdaRequest>(event) {
        Ok(r) => r.into(),
        Err(e) => {
            tracing::error!(request_id = %lambda.request_id, error = %e, "event is not an API Gateway HTTP request");
            return to_gateway_response(Problem::internal(e).into_response(&rt.service, &lambda.request_id));
        }
    };
    if let Some(Err(problem)) = rt.hooks.as_ref().map(|h| h.admit(&mut request)) {
        tracing::warn!(request_id = %lambda.request_id, status = problem.status, "request refused before its handler");
        return to_gateway_response(problem.into_response(&rt.service, &lambda.request_id));
    }
    let ctx = RequestCtx {
        trace_id: crate::telemetry::trace_id(request.headers(), lambda.xray_trace_id.as_deref()),
        request_id: lambda.request_id.clone(),
        deadline_ms: lambda.deadline,
        cold_start,
    };
    let route = route_label(&request);
    let method = request.method().to_string();
    let span =
        tracing::info_span!("request", request_id = %ctx.request_id, trace_id = ctx.trace_id.as_deref().unwrap_or(""));
    let started = Instant::now();
    let response = async {
        // Boxed: a handler's future can be deep, and nesting it inline here makes one future too deep to lay out.
        match within_deadline(ctx.deadline_ms, Box::pin(handler.handle(request, &ctx))).await {
            Ok(r) => r,
            Err(problem) => problem.into_response(&rt.service, &ctx.request_id),
        }
    }
    .instrument(span.clone())
    .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if elapsed > rt.slow_request {
            tracing::warn!(method, route, status, elapsed_ms = ms as u64, "slow request");
        } else {
            tracing::info!(method, route, status, elapsed_ms = ms as u64, "request served");
        }
    });
    metrics::emit(
        &metrics::Record::new(&rt.service, rt.function)
            .route(route)
            .metric("requests", 1.0, Unit::Count)
            .metric("latency", ms, Unit::Milliseconds)
            .metric("errors_5xx", f64::from(u8::from(status >= 500)), Unit::Count)
            .metric(
                "errors_4xx",
                f64::from(u8::from((400..500).contains(&status))),
                Unit::Count,
            )
            .metric("cold_start", f64::from(u8::from(cold_start)), Unit::Count)
            .property("request_id", ctx.request_id.clone()),
    );
    let mut response = response;
    if let Ok(v) = http::HeaderValue::from_str(&ctx.request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    to_gateway_response(response)
}

/// How much of an invocation's time is kept back to answer: a request still running this close to the function's
/// deadline is answered 503 with `Retry-After` (its transaction rolled back as the work is dropped) rather than
/// killed by Lambda, which the client would see as a gateway error with nothing to go on.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(250);

/// Runs `work` unless the deadline (epoch ms; 0 = none) is too close, and stops it at the margin.
async fn within_deadline<F>(deadline_ms: u64, work: F) -> Result<http::Response<Body>, Problem>
where
    F: Future<Output = Result<http::Response<Body>, Problem>>,
{
    if deadline_ms == 0 {
        return work.await;
    }
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    let Some(budget) = left.checked_sub(DEADLINE_MARGIN).filter(|b| !b.is_zero()) else {
        return Err(Problem::unavailable(
            1,
            anyhow::anyhow!("too close to the function deadline to start"),
        ));
    };
    match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(Problem::unavailable(
            1,
            anyhow::anyhow!(
                "stopped {} ms before the function deadline",
                DEADLINE_MARGIN.as_millis()
            ),
        )),
    }
}

async fn warm_up(rt: &Runtime, cold_start: bool, request_id: &str) -> Value {
    let connections = match &rt.hooks {
        Some(hooks) => match hooks.warm().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(request_id, error = %e, "warm-up could not open its connections");
                0
            }
        },
        None => 0,
    };
    json!({ "warm": true, "function": rt.function, "cold_start": cold_start, "connections": connections })
}

/// The API Gateway route key when the gateway supplied one, else `METHOD /path`.
fn route_label(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) if c.route_key.as_deref().is_some_and(|k| k != "$default") => {
            c.route_key.clone().unwrap_or_default()
        }
        _ => format!("{} {}", req.method(), req.uri().path()),
    }
}

/// Converts an `http::Response` into the API Gateway HTTP API (payload 2.0) response document
/// (`aws_lambda_events`' [`ApiGatewayV2httpResponse`]): a header sent more than once is joined with commas, as the
/// payload format carries one value per name, and `Set-Cookie` goes to `cookies`.
pub fn to_gateway_response(response: http::Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == http::header::SET_COOKIE {
            answer.cookies.extend(values.iter().map(|v| v.to_string()));
        } else if let Ok(joined) = http::HeaderValue::from_str(&values.join(",")) {
            answer.headers.insert(name.clone(), joined);
        }
    }
    answer.is_base64_encoded = matches!(body, Body::Binary(_));
    answer.body = match body {
        Body::Text(t) => Some(Body::Text(t)),
        Body::Binary(b) => Some(Body::Binary(b)),
        _ => None,
    };
    serde_json::to_value(answer).expect("a gateway response serialises")
}

/// Path segments of the request, without empty ones: `/products/ABC-1` → `["products", "ABC-1"]`.
pub fn segments(req: &Request) -> Vec<String> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// Query parameters in order, percent-decoded, repeated keys kept (so callers can refuse them).
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    urlencoded_pairs(req.uri().query().unwrap_or(""))
}

/// `a=1&b=x+y` → `[("a", "1"), ("b", "x y")]`: percent-decoded, `+` as a space, repeated keys kept.
fn urlencoded_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes; invalid escapes stay as written, invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A JSON response.
pub fn json_response(status: u16, value: &Value) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(value.to_string()))
        .unwrap_or_else(|_| http::Response::new(Body::Empty))
}

/// How long shared caches (the CDN) and browsers may keep a public response.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    pub max_age_s: u32,
    pub s_maxage_s: u32,
    pub stale_while_revalidate_s: u32,
}

impl CachePolicy {
    /// Public catalogue reads: browsers revalidate after 10 s, the CDN keeps 30 s and may serve stale for a
    /// minute while it refreshes (seed 002: "5-30 s"; seed 003: stale-while-revalidate).
    pub const CATALOGUE: CachePolicy = CachePolicy {
        max_age_s: 10,
        s_maxage_s: 30,
        stale_while_revalidate_s: 60,
    };

    pub fn header_value(&self) -> String {
        format!(
            "public, max-age={}, s-maxage={}, stale-while-revalidate={}",
            self.max_age_s, self.s_maxage_s, self.stale_while_revalidate_s
        )
    }
}

/// A strong ETag: a hash of the exact body bytes.
pub fn strong_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// True when `If-None-Match` lists `etag` (or `*`). Weak validators compare by their opaque part, as RFC 9110
/// allows for `If-None-Match`.
pub fn if_none_match(req: &Request, etag: &str) -> bool {
    let Some(header) = req
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// A cacheable JSON response: `ETag`, `Cache-Control`, `Vary`, and `304 Not Modified` when the client already
/// has this exact body.
pub fn cached_json(req: &Request, value: &Value, policy: CachePolicy) -> http::Response<Body> {
    let body = value.to_string();
    let etag = strong_etag(body.as_bytes());
    let builder = http::Response::builder()
        .header(http::header::ETAG, &etag)
        .header(http::header::CACHE_CONTROL, policy.header_value())
        .header(http::header::VARY, "Accept-Encoding");
    let response = if if_none_match(req, &etag) {
        builder.status(304).body(Body::Empty)
    } else {
        builder
            .status(200)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::Text(body))
    };
    response.unwrap_or_else(|_| http::Response::new(Body::Empty))
}

/// The raw request body.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// The media type of the request, lower case, without parameters (`application/json; charset=utf-8` →
/// `application/json`).
pub fn media_type(req: &Request) -> Option<String> {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Largest JSON body [`json_body`] accepts: 64 KiB, ten times a 100-line shopping cart.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as JSON: 415 unless it is declared JSON (a missing Content-Type is read as JSON, as API clients often
/// omit it), 413 above [`MAX_BODY_BYTES`], 400 naming `body` when it is not UTF-8 or not JSON.
pub fn json_body(req: &Request) -> Result<Value, Problem> {
    match media_type(req).as_deref() {
        None | Some("application/json") => {}
        Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
        Some(_) => return Err(Problem::unsupported_media_type("application/json")),
    }
    parse_json(body_bytes(req))
}

/// Parses a JSON document with the same size and encoding rules as [`json_body`]. Text containing U+0000 is
/// refused (400 naming the member): PostgreSQL text cannot hold it, and no text field means it.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Problem> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::too_large(MAX_BODY_BYTES));
    }
    if bytes.is_empty() {
        return Err(Problem::invalid_body("body", "is required"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Problem::invalid_body("body", "is not valid UTF-8"))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Problem::invalid_body(
            "body",
            format!("is not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    // JSON can carry U+0000 only as the escape `\u0000` (a raw control character is not valid JSON), so almost
    // every body skips the walk, and its path strings, altogether.
    if !text.contains("\\u0000") {
        return Ok(value);
    }
    match nul_member(&value, String::new()) {
        Some(field) => Err(Problem::invalid_body(&field, NUL_MESSAGE)),
        None => Ok(value),
    }
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path (`lines[0].sku`, `body` for the document itself) of the first string or member name holding U+0000.
fn nul_member(v: &Value, path: String) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.clone()
        }
    };
    match v {
        Value::String(s) => s.contains('\0').then(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_member(item, format!("{}[{i}]", here()))),
        Value::Object(members) => members.iter().find_map(|(k, item)| {
            let name = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(name)
            } else {
                nul_member(item, name)
            }
        }),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` pairs, percent-decoded (`+` is a space).
pub fn form_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, Problem> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::too_large(MAX_BODY_BYTES));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Problem::invalid_body("body", "is not valid UTF-8"))?;
    let pairs = urlencoded_pairs(text);
    if let Some((k, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(Problem::invalid_body(k, NUL_MESSAGE));
    }
    Ok(pairs)
}

/// A response with `Cache-Control: no-store`: anything about one caller's data.
pub fn private_json(status: u16, value: &Value) -> http::Response<Body> {
    let mut r = json_response(status, value);
    r.headers_mut()
        .insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

/// The answer to a creating `POST`: `status` with `doc` (private), `Location: location`, and
/// `Idempotent-Replayed: true` when a retry found the first answer.
pub fn created(status: u16, doc: &Value, location: &str, replayed: bool) -> http::Response<Body> {
    let mut r = private_json(status, doc);
    if let Ok(v) = http::HeaderValue::from_str(location) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(p: Problem) -> String {
        let r = p.into_response(&crate::service::EXAMPLE, "t");
        let Body::Text(t) = r.body() else {
            panic!("a problem has a text body")
        };
        let v: Value = serde_json::from_str(t).unwrap();
        v["errors"][0]["field"].as_str().unwrap().to_string()
    }

    #[test]
    fn text_holding_nul_is_refused_naming_the_member_it_is_in() {
        for (body, field) in [
            (r#"{"subject":"a\u0000b"}"#, "subject"),
            (
                r#"{"lines":[{"sku":"SHM-1","quantity":1},{"sku":"x\u0000"}]}"#,
                "lines[1].sku",
            ),
            (r#"{"a\u0000":1}"#, "a\u{0000}"),
            (r#""\u0000""#, "body"),
        ] {
            assert_eq!(field_of(parse_json(body.as_bytes()).unwrap_err()), field, "{body}");
        }
        assert!(parse_json(br#"{"subject":"a\u0001b","n":[1,"ok"]}"#).is_ok());
        assert_eq!(
            field_of(form_pairs(b"grant_type=password&username=a%00b").unwrap_err()),
            "username"
        );
        assert!(form_pairs(b"grant_type=password&username=ab").is_ok());
    }

    fn get(uri: &str) -> Request {
        http::Request::builder().uri(uri).body(Body::Empty).unwrap()
    }

    #[test]
    fn query_pairs_decode_and_keep_repeats() {
        let r = get("/products?q=sampo+argan&q=x&brand=Alfa%20Beauty&bad=%zz");
        assert_eq!(
            query_pairs(&r),
            vec![
                ("q".into(), "sampo argan".into()),
                ("q".into(), "x".into()),
                ("brand".into(), "Alfa Beauty".into()),
                ("bad".into(), "%zz".into())
            ]
        );
    }

    #[test]
    fn percent_decoding_tolerates_truncated_escapes_and_bad_utf8() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn a_matching_if_none_match_gets_304_without_a_body() {
        let value = json!({"a": 1});
        let first = cached_json(&get("/x"), &value, CachePolicy::CATALOGUE);
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        let mut again = get("/x");
        again.headers_mut().insert("if-none-match", etag.parse().unwrap());
        let second = cached_json(&again, &value, CachePolicy::CATALOGUE);
        assert_eq!(second.status(), 304);
        assert!(matches!(second.body(), Body::Empty));
        assert_eq!(second.headers()["etag"], etag.as_str());
    }

    #[test]
    fn a_changed_body_changes_the_etag() {
        assert_ne!(strong_etag(b"{\"a\":1}"), strong_etag(b"{\"a\":2}"));
    }

    #[test]
    fn the_gateway_response_moves_set_cookie_to_cookies() {
        let r = http::Response::builder()
            .status(201)
            .header("set-cookie", "a=1")
            .header("content-type", "application/json")
            .body(Body::Text("{}".into()))
            .unwrap();
        let doc = to_gateway_response(r);
        assert_eq!(doc["statusCode"], 201);
        assert_eq!(doc["cookies"], json!(["a=1"]));
        assert!(doc["headers"].get("set-cookie").is_none());
        assert_eq!(doc["isBase64Encoded"], false);
    }

    /// API Gateway's payload 2.0 response: one value per header name (repeats joined with commas), a binary body
    /// in base64 with `isBase64Encoded`, and no body member for an empty body.
    #[test]
    fn the_gateway_response_joins_repeated_headers_and_encodes_a_binary_body() {
        let r = http::Response::builder()
            .status(200)
            .header("vary", "accept")
            .header("vary", "accept-encoding")
            .body(Body::Binary(vec![0, 1, 2]))
            .unwrap();
        let doc = to_gateway_response(r);
        assert_eq!(doc["headers"]["vary"], "accept,accept-encoding");
        assert_eq!(doc["body"], "AAEC");
        assert_eq!(doc["isBase64Encoded"], true);
        let empty = to_gateway_response(http::Response::builder().status(204).body(Body::Empty).unwrap());
        assert_eq!(empty["statusCode"], 204);
        assert_eq!(empty["isBase64Encoded"], false);
        assert!(empty.get("body").is_none(), "{empty}");
    }

    #[test]
    fn a_warmup_ping_is_recognised_and_nothing_else_is() {
        assert!(is_warmup(&json!({"warmup": true})));
        assert!(is_warmup(
            &json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
        ));
        assert!(!is_warmup(&json!({"warmup": "yes"})));
        assert!(!is_warmup(
            &json!({"source": "aws.events", "detail-type": "Object Created"})
        ));
        assert!(!is_warmup(&json!({"version": "2.0"})));
    }
}
