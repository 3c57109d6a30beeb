//! API Gateway HTTP API emulation, payload format 2.0: route matching (`{param}`, `{proxy+}`, most specific
//! route wins), the v2 request event, the response mapping (including 2.0's inference for responses without
//! `statusCode`), API Gateway's error bodies, and the local `/_niaga/` control endpoints.

use super::schedule::{self, ScheduledRule};
use crate::localrt::{Invocation, InvokeError, Invoker, ACCOUNT_ID};
use crate::manifest::Manifest;
use anyhow::{bail, Result};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// API Gateway's request payload limit.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway HTTP API's integration timeout.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledRoute {
    key: String,
    /// `None` for `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
    function: String,
    public: bool,
}

/// Which route a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// `GET /products/{sku}`.
    pub route_key: String,
    pub function: String,
    /// Decoded values by parameter name (`proxy` for `{proxy+}`).
    pub path_parameters: BTreeMap<String, String>,
}

/// The manifest's routes, ready to match requests.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<CompiledRoute>,
}

fn path_segments(path: &str) -> Vec<&str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

impl RouteTable {
    pub fn from_manifest(manifest: &Manifest) -> Result<Self> {
        let mut routes = Vec::new();
        for (function, route) in manifest.routes() {
            if !route.path.starts_with('/') {
                bail!(
                    "route `{}` of `{}`: the path must start with `/`",
                    route.key(),
                    function.name
                );
            }
            let method = route.method.to_ascii_uppercase();
            let segs = path_segments(&route.path);
            let mut segments = Vec::with_capacity(segs.len());
            for (i, seg) in segs.iter().enumerate() {
                let segment = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) if i + 1 == segs.len() => Segment::Greedy(greedy.to_string()),
                        Some(_) => bail!("route `{}`: a greedy `{{name+}}` segment must be last", route.key()),
                        None => Segment::Param(name.to_string()),
                    },
                    None => Segment::Literal(seg.to_string()),
                };
                if matches!(&segment, Segment::Param(n) | Segment::Greedy(n) if n.is_empty()) {
                    bail!("route `{}`: an empty `{{}}` parameter", route.key());
                }
                segments.push(segment);
            }
            routes.push(CompiledRoute {
                key: route.key(),
                method: if method == "ANY" { None } else { Some(method) },
                segments,
                function: function.name.clone(),
                public: route.public,
            });
        }
        Ok(RouteTable { routes })
    }

    /// `(route key, function, public)` for every route, in manifest order.
    pub fn list(&self) -> Vec<(String, String, bool)> {
        self.routes
            .iter()
            .map(|r| (r.key.clone(), r.function.clone(), r.public))
            .collect()
    }

    /// The most specific route for `method` and the raw (still percent-encoded) `path`.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch> {
        let request = path_segments(path);
        // (specificity per segment, is ANY, route, parameters); the smallest key wins.
        let mut best: Option<(Vec<u8>, bool, RouteMatch)> = None;
        for route in &self.routes {
            if route.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
                continue;
            }
            let Some(path_parameters) = match_segments(&route.segments, &request) else {
                continue;
            };
            let rank: Vec<u8> = route.segments.iter().map(Segment::rank).collect();
            let any = route.method.is_none();
            if best
                .as_ref()
                .is_none_or(|(best_rank, best_any, _)| (&rank, any) < (best_rank, *best_any))
            {
                let found = RouteMatch {
                    route_key: route.key.clone(),
                    function: route.function.clone(),
                    path_parameters,
                };
                best = Some((rank, any, found));
            }
        }
        best.map(|(_, _, found)| found)
    }
}

fn match_segments(route: &[Segment], request: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (i, segment) in route.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = request.get(i..)?;
                if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&rest.join("/")));
                return Some(params);
            }
            Segment::Literal(lit) => {
                if request.get(i)? != lit {
                    return None;
                }
            }
            Segment::Param(name) => {
                let value = request.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.insert(name.clone(), percent_decode(value));
            }
        }
    }
    (route.len() == request.len()).then_some(params)
}

/// Decodes `%XX` escapes (invalid escapes stay as written); `+` is left alone, as API Gateway does.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------------------
// The v2 event
// ---------------------------------------------------------------------------------------------------------

/// What [`v2_event`] needs to know about one request.
#[derive(Debug)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: &'a str,
    /// The `x-amzn-trace-id` value (incoming or generated); it is added to the event's headers.
    pub trace_id: &'a str,
    pub time: DateTime<Utc>,
}

/// The API Gateway HTTP API payload format 2.0 event for a request that matched `route`.
pub fn v2_event(request: &HttpRequest<'_>, route: &RouteMatch) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    headers.insert("x-amzn-trace-id".into(), request.trace_id.to_string());
    headers
        .entry("x-forwarded-for".into())
        .or_insert_with(|| request.source_ip.clone());
    headers
        .entry("x-forwarded-proto".into())
        .or_insert_with(|| "http".into());
    let host = headers.get("host").cloned().unwrap_or_else(|| "localhost".into());
    if let Some((_, port)) = host.rsplit_once(':') {
        headers
            .entry("x-forwarded-port".into())
            .or_insert_with(|| port.to_string());
    }
    let domain_name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h).to_string();
    let domain_prefix = domain_name.split('.').next().unwrap_or_default().to_string();

    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in request.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query
            .entry(percent_decode(k))
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&percent_decode(v));
            })
            .or_insert_with(|| percent_decode(v));
    }

    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route.route_key));
    event.insert("rawPath".into(), json!(request.raw_path));
    event.insert("rawQueryString".into(), json!(request.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), json!(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), json!(query));
    }
    if !route.path_parameters.is_empty() {
        event.insert("pathParameters".into(), json!(route.path_parameters));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": request.request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": request.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": request.time.timestamp_millis(),
        }),
    );
    let is_base64 = match std::str::from_utf8(request.body) {
        Ok(text) => {
            if !text.is_empty() {
                event.insert("body".into(), json!(text));
            }
            false
        }
        Err(_) => {
            event.insert(
                "body".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(request.body)),
            );
            true
        }
    };
    event.insert("isBase64Encoded".into(), json!(is_base64));
    Value::Object(event)
}

/// `Root=1-<8 hex epoch seconds>-<24 hex>`, the X-Ray trace header API Gateway adds.
pub fn new_trace_id(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{:08x}-{}", now.timestamp(), &random[..24])
}

/// An API Gateway-style request id (`JKJaXmPLvHcESHA=`).
pub fn new_request_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(&uuid::Uuid::new_v4().as_bytes()[..10])
}

// ---------------------------------------------------------------------------------------------------------
// Response mapping
// ---------------------------------------------------------------------------------------------------------

/// An HTTP response decoded from a function's 2.0 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

/// Maps a function's response like API Gateway's payload format 2.0 does; `Err` means API Gateway would
/// answer 500 (a malformed Lambda proxy response).
pub fn map_response(response: &Value) -> Result<MappedResponse, String> {
    let Some(object) = response.as_object().filter(|o| o.contains_key("statusCode")) else {
        // 2.0 inference: valid JSON without statusCode is a 200 JSON body.
        return Ok(MappedResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            cookies: Vec::new(),
            body: response.to_string().into_bytes(),
        });
    };
    let status = match &object["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    }
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| format!("statusCode {} is not an HTTP status", object["statusCode"]))? as u16;
    let mut headers = Vec::new();
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    other => return Err(format!("header `{name}` has a non-scalar value {other}")),
                };
                headers.push((name.clone(), value));
            }
        }
        Some(other) => return Err(format!("headers must be an object, not {other}")),
    }
    let cookies = match object.get("cookies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("cookie {c} is not a string"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("cookies must be an array, not {other}")),
    };
    let is_base64 = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("isBase64Encoded must be a boolean, not {other}")),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if is_base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("body is marked isBase64Encoded but does not decode: {e}"))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => return Err(format!("body must be a string, not {}", kind_of(other))),
    };
    Ok(MappedResponse {
        status,
        headers,
        cookies,
        body,
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------

/// What the gateway's HTTP handlers share.
pub struct GatewayState {
    routes: RouteTable,
    invoker: Arc<dyn Invoker>,
    rules: Vec<ScheduledRule>,
    cors: Option<CorsPolicy>,
    /// The OpenAPI document served at `/openapi.json`, when the manifest's routes all have operations.
    openapi: Option<String>,
}

impl GatewayState {
    pub fn new(
        routes: RouteTable,
        invoker: Arc<dyn Invoker>,
        rules: Vec<ScheduledRule>,
        cors: Option<CorsPolicy>,
    ) -> Self {
        GatewayState {
            routes,
            invoker,
            rules,
            cors,
            openapi: None,
        }
    }

    /// Serves `doc` at `/openapi.json` and the page that renders it at `/docs`.
    pub fn with_openapi(mut self, doc: Option<String>) -> Self {
        self.openapi = doc;
        self
    }
}

/// CORS as API Gateway's `cors_configuration` applies it: the gateway answers preflights itself, and adds
/// `Access-Control-Allow-Origin` (and the exposed headers) to responses for an allowed origin only.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: Vec<String>,
    methods: String,
    headers: String,
    expose: String,
    max_age_s: u32,
}

impl CorsPolicy {
    /// The manifest's CORS for environment `env`; `None` when it allows no origin there (no CORS at all).
    pub fn from_manifest(manifest: &Manifest, env: &str) -> Option<CorsPolicy> {
        let cors = manifest.cors.as_ref()?;
        let origins = cors.origins(env);
        if origins.is_empty() {
            return None;
        }
        Some(CorsPolicy {
            origins: origins.to_vec(),
            methods: cors.allow_methods.join(","),
            headers: cors.allow_headers.join(","),
            expose: cors.expose_headers.join(","),
            max_age_s: cors.max_age_s,
        })
    }

    /// The request's `Origin` when it is one of the allowed origins (compared case-insensitively, as hosts are).
    fn allowed<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let origin = headers.get("origin")?.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then_some(origin)
    }

    /// The answer to a preflight: 204, with the CORS headers only for an allowed origin.
    fn preflight(&self, headers: &HeaderMap) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = self.allowed(headers) {
            let h = response.headers_mut();
            for (name, value) in [
                ("access-control-allow-origin", origin.to_string()),
                ("access-control-allow-methods", self.methods.clone()),
                ("access-control-allow-headers", self.headers.clone()),
                ("access-control-max-age", self.max_age_s.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
        }
        response
            .headers_mut()
            .insert("vary", HeaderValue::from_static("Origin"));
        response
    }

    /// Adds the CORS headers to a response for an allowed origin; the function's own CORS headers never pass.
    fn decorate(&self, headers: &HeaderMap, response: &mut Response) {
        let h = response.headers_mut();
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-expose-headers",
        ] {
            h.remove(name);
        }
        if let Some(origin) = self.allowed(headers) {
            if let Ok(v) = HeaderValue::from_str(origin) {
                h.insert("access-control-allow-origin", v);
            }
            if let Ok(v) = HeaderValue::from_str(&self.expose) {
                h.insert("access-control-expose-headers", v);
            }
            h.append("vary", HeaderValue::from_static("Origin"));
        }
    }
}

/// The gateway's router; serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/_niaga/routes", get(list_routes))
        .route("/_niaga/schedules", get(list_schedules))
        .route("/_niaga/schedules/{name}/fire", post(fire_schedule))
        .route("/openapi.json", get(openapi_document))
        .route("/docs", get(openapi_page))
        .fallback(proxy)
        .with_state(state)
}

async fn openapi_document(State(state): State<Arc<GatewayState>>) -> Response {
    match &state.openapi {
        Some(doc) => ([("content-type", "application/json")], doc.clone()).into_response(),
        None => gateway_error(StatusCode::NOT_FOUND, "Not Found", "openapi"),
    }
}

async fn openapi_page() -> Response {
    (
        [("content-type", "text/html; charset=utf-8")],
        crate::openapi::DOCS_PAGE,
    )
        .into_response()
}

fn gateway_error(status: StatusCode, message: &str, request_id: &str) -> Response {
    let mut response = (
        status,
        [("content-type", "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("apigw-requestid", v);
    }
    response
}

async fn list_routes(State(state): State<Arc<GatewayState>>) -> Response {
    let routes: Vec<Value> = state
        .routes
        .list()
        .into_iter()
        .map(|(key, function, public)| json!({"routeKey": key, "function": function, "public": public}))
        .collect();
    axum::Json(routes).into_response()
}

async fn list_schedules(State(state): State<Arc<GatewayState>>) -> Response {
    let now = Utc::now();
    let rules: Vec<Value> = state
        .rules
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "expression": r.schedule.expression(),
                "targets": r.targets,
                "next": r.schedule.next_after(now).map(|t| t.to_rfc3339()),
            })
        })
        .collect();
    axum::Json(rules).into_response()
}

async fn fire_schedule(State(state): State<Arc<GatewayState>>, UrlPath(name): UrlPath<String>) -> Response {
    let Some(rule) = state.rules.iter().find(|r| r.name == name) else {
        return gateway_error(
            StatusCode::NOT_FOUND,
            &format!("no schedule named `{name}`"),
            &new_request_id(),
        );
    };
    let time = Utc::now();
    let results = schedule::fire(state.invoker.as_ref(), rule, time).await;
    let results: Vec<Value> = results.iter().map(schedule::TargetResult::to_json).collect();
    axum::Json(json!({"schedule": rule.name, "time": time.to_rfc3339(), "results": results})).into_response()
}

async fn proxy(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let Some(cors) = state.cors.clone() else {
        return proxy_route(state, peer, request).await;
    };
    let headers = request.headers().clone();
    let preflight = request.method() == axum::http::Method::OPTIONS
        && headers.contains_key("origin")
        && headers.contains_key("access-control-request-method");
    if preflight {
        return cors.preflight(&headers);
    }
    let mut response = proxy_route(state, peer, request).await;
    cors.decorate(&headers, &mut response);
    response
}

/// A request to its route's function, as API Gateway's Lambda proxy integration sends it.
async fn proxy_route(state: Arc<GatewayState>, peer: SocketAddr, request: Request) -> Response {
    let started = Instant::now();
    let request_id = new_request_id();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or_default().to_string();

    let Some(route) = state.routes.find(&method, &raw_path) else {
        tracing::info!(%method, path = %raw_path, status = 404, "no route");
        return gateway_error(StatusCode::NOT_FOUND, "Not Found", &request_id);
    };
    let body = match read_body(&parts.headers, body).await {
        BodyRead::Complete(bytes) => bytes,
        BodyRead::TooLarge => {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large", &request_id)
        }
        BodyRead::Broken => return gateway_error(StatusCode::BAD_REQUEST, "Bad Request", &request_id),
    };
    let now = Utc::now();
    let trace_id = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| new_trace_id(now));
    let event = v2_event(
        &HttpRequest {
            method: &method,
            raw_path: &raw_path,
            raw_query: &raw_query,
            headers: &parts.headers,
            body: &body,
            source_ip: peer.ip().to_string(),
            request_id: &request_id,
            trace_id: &trace_id,
            time: now,
        },
        &route,
    );
    let outcome = tokio::time::timeout(
        INTEGRATION_TIMEOUT,
        state.invoker.invoke(&route.function, event, Some(trace_id)),
    )
    .await;
    let response = respond(outcome, &route, &request_id);
    tracing::info!(
        %method,
        path = %raw_path,
        route = %route.route_key,
        function = %route.function,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

enum BodyRead {
    Complete(Bytes),
    TooLarge,
    Broken,
}

/// Reads a request body of at most [`MAX_BODY_BYTES`]. A larger one is read to its end (up to a bound) and
/// dropped, so the client is done sending when it gets its 413 instead of hitting a reset connection.
async fn read_body(headers: &HeaderMap, body: Body) -> BodyRead {
    const DRAIN_LIMIT: usize = 8 * MAX_BODY_BYTES;
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return BodyRead::TooLarge;
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY_BYTES));
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { return BodyRead::Broken };
        total += chunk.len();
        if total > DRAIN_LIMIT {
            return BodyRead::TooLarge;
        }
        if total <= MAX_BODY_BYTES {
            buf.extend_from_slice(&chunk);
        } else if !buf.is_empty() {
            buf = Vec::new();
        }
    }
    if total > MAX_BODY_BYTES {
        BodyRead::TooLarge
    } else {
        BodyRead::Complete(Bytes::from(buf))
    }
}

fn respond(
    outcome: Result<Result<Invocation, InvokeError>, tokio::time::error::Elapsed>,
    route: &RouteMatch,
    request_id: &str,
) -> Response {
    let invocation = match outcome {
        Err(_) => {
            tracing::warn!(function = %route.function, "integration timed out after {INTEGRATION_TIMEOUT:?}");
            return gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", request_id);
        }
        Ok(Err(InvokeError::RequestTooLarge(_))) => {
            return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large", request_id)
        }
        Ok(Err(e @ InvokeError::Unavailable(_))) => {
            tracing::warn!(function = %route.function, error = %e, "invoke failed");
            return gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", request_id);
        }
        Ok(Err(e)) => {
            tracing::warn!(function = %route.function, error = %e, "invoke failed");
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", request_id);
        }
        Ok(Ok(invocation)) => invocation,
    };
    let value = match invocation.response {
        Err(e) if e.is_timeout() => {
            tracing::warn!(function = %route.function, error = %e, "function timed out");
            return gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", request_id);
        }
        Err(e) => {
            tracing::warn!(function = %route.function, error = %e, "function error");
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", request_id);
        }
        Ok(value) => value,
    };
    let mapped = match map_response(&value) {
        Ok(m) => m,
        Err(why) => {
            tracing::warn!(function = %route.function, "malformed Lambda proxy response: {why}");
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", request_id);
        }
    };
    let mut response = Response::new(Body::from(mapped.body));
    *response.status_mut() = StatusCode::from_u16(mapped.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in &mapped.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => tracing::warn!(function = %route.function, "dropping invalid response header `{name}`"),
        }
    }
    for cookie in &mapped.cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            headers.append("set-cookie", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("apigw-requestid", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &str, &str)]) -> RouteTable {
        let functions: Vec<Value> = routes
            .iter()
            .map(|(method, path, f)| {
                json!({"name": format!("{f}-{method}-{}", path.len()), "kind": "http", "description": "", "memory_mb": 128,
                       "timeout_s": 3, "routes": [{"method": method, "path": path, "public": true}]})
            })
            .collect();
        let manifest: Manifest = serde_json::from_value(json!({
            "project": "t",
            "defaults": {"architecture": "arm64", "runtime": "provided.al2023", "memory_mb": 128, "timeout_s": 3},
            "functions": functions,
        }))
        .unwrap();
        RouteTable::from_manifest(&manifest).unwrap()
    }

    #[test]
    fn the_most_specific_route_wins() {
        let t = table(&[
            ("GET", "/products/{sku}", "param"),
            ("GET", "/products/featured", "literal"),
            ("ANY", "/{proxy+}", "greedy"),
            ("ANY", "/products/{sku}", "any"),
        ]);
        assert_eq!(
            t.find("GET", "/products/featured").unwrap().route_key,
            "GET /products/featured"
        );
        let m = t.find("GET", "/products/ab%20c").unwrap();
        assert_eq!(m.route_key, "GET /products/{sku}");
        assert_eq!(m.path_parameters["sku"], "ab c");
        assert_eq!(
            t.find("DELETE", "/products/x").unwrap().route_key,
            "ANY /products/{sku}"
        );
        let g = t.find("POST", "/a/b/c").unwrap();
        assert_eq!(
            (g.route_key.as_str(), g.path_parameters["proxy"].as_str()),
            ("ANY /{proxy+}", "a/b/c")
        );
        assert!(t.find("GET", "/").is_none());
    }

    #[test]
    fn methods_and_segment_counts_must_match() {
        let t = table(&[("GET", "/products", "list"), ("GET", "/products/{sku}", "one")]);
        assert!(t.find("POST", "/products").is_none());
        assert!(t.find("GET", "/products/a/b").is_none());
        assert!(t.find("GET", "/products/").is_none());
        assert_eq!(t.find("get", "/products").unwrap().route_key, "GET /products");
    }

    #[test]
    fn responses_without_status_code_are_json_200s() {
        let m = map_response(&json!({"a": 1})).unwrap();
        assert_eq!(m.status, 200);
        assert_eq!(
            m.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(m.body, br#"{"a":1}"#);
        assert_eq!(map_response(&json!("hi")).unwrap().body, br#""hi""#);
    }

    #[test]
    fn structured_responses_map_status_headers_cookies_and_base64_bodies() {
        let m = map_response(&json!({
            "statusCode": 201, "headers": {"x-a": "1,2", "content-type": "image/png"},
            "cookies": ["a=1; Path=/", "b=2"], "body": "AAEC", "isBase64Encoded": true
        }))
        .unwrap();
        assert_eq!(m.status, 201);
        assert_eq!(m.cookies, vec!["a=1; Path=/", "b=2"]);
        assert_eq!(m.body, vec![0, 1, 2]);
        assert!(m.headers.contains(&("x-a".into(), "1,2".into())));
        assert!(map_response(&json!({"statusCode": "abc"})).is_err());
        assert!(map_response(&json!({"statusCode": 200, "body": {"not": "a string"}})).is_err());
        assert!(map_response(&json!({"statusCode": 200, "body": "!!", "isBase64Encoded": true})).is_err());
    }

    #[test]
    fn trace_ids_look_like_x_ray_roots() {
        let t = new_trace_id(DateTime::from_timestamp(0x5e1f_0000, 0).unwrap());
        assert!(t.starts_with("Root=1-5e1f0000-"), "{t}");
        assert_eq!(t.len(), "Root=1-".len() + 8 + 1 + 24);
    }

    #[test]
    fn percent_decoding_keeps_plus_and_bad_escapes() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}
