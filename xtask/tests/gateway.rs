//! The local gateway: HTTP API v2 events and responses over the real local runtime (`hello-lambda` echoes the
//! event it gets, so the response *is* the event), response mapping and errors over canned invokers, schedule
//! firing, and the SQS pollers against moto (`AWS_ENDPOINT_URL`, started by `cargo xtask test`).

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xtask::gateway::sqs::{self, SqsSource};
use xtask::gateway::Gateway;
use xtask::localrt::{FunctionError, FunctionSpec, Invocation, InvokeError, Invoker, LocalRuntime, RuntimeOptions};
use xtask::manifest::Manifest;

mod common;
use common::{any_port, hello_bin};

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A manifest as `Manifest::load` reads it (so it is checked), from the given functions, queues and schedules.
fn manifest(functions: Value, queues: Value, schedules: Value) -> Manifest {
    let text = json!({
        "project": "niaga",
        "defaults": {"architecture": "arm64", "runtime": "provided.al2023", "memory_mb": 128, "timeout_s": 3},
        "functions": functions,
        "queues": queues,
        "schedules": schedules,
    });
    let path = std::env::temp_dir().join(format!("{}.json", unique("niaga-gateway-manifest-")));
    std::fs::write(&path, text.to_string()).unwrap();
    let manifest = Manifest::load(&path).unwrap();
    let _ = std::fs::remove_file(path);
    manifest
}

fn http_function(name: &str, routes: Value) -> Value {
    json!({"name": name, "kind": "http", "description": "test", "memory_mb": 128, "timeout_s": 3, "routes": routes})
}

fn echo_manifest() -> Manifest {
    manifest(
        json!([http_function(
            "echo",
            json!([
                {"method": "GET", "path": "/echo/{id}", "public": true},
                {"method": "POST", "path": "/echo/{id}", "public": true}
            ])
        )]),
        json!([]),
        json!([
            {"name": "tick", "description": "constant input", "expression": "rate(1 day)", "wib": "daily",
             "targets": ["echo"], "input": {"warmup": true}},
            {"name": "plain", "description": "no input", "expression": "cron(0 0 1 1 ? *)", "wib": "yearly",
             "targets": ["echo"]}
        ]),
    )
}

/// The gateway over a local runtime running hello-lambda as `echo`.
async fn echo_gateway() -> (Gateway, Arc<LocalRuntime>) {
    let spec = FunctionSpec::new("echo", hello_bin());
    let options = RuntimeOptions {
        echo: false,
        ..RuntimeOptions::default()
    };
    let rt = Arc::new(LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap());
    let gw = Gateway::start(any_port(), echo_manifest(), rt.clone(), None, "local".into())
        .await
        .unwrap();
    (gw, rt)
}

// -------------------------------------------------------------------------------------------------------------
// HTTP
// -------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_receives_a_v2_event_for_its_route() {
    let (gw, _rt) = echo_gateway().await;
    let response = reqwest::Client::new()
        .get(format!("{}/echo/abc%20d?x=1&x=2&y=z", gw.url()))
        .header("X-Custom", "a")
        .header("X-Custom", "b")
        .header("Cookie", "session=s1; theme=dark")
        .header("User-Agent", "gateway-test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let request_id = response.headers()["apigw-requestid"].to_str().unwrap().to_string();
    let text = response.text().await.unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /echo/{id}");
    assert_eq!(event["rawPath"], "/echo/abc%20d");
    assert_eq!(event["rawQueryString"], "x=1&x=2&y=z");
    assert_eq!(event["queryStringParameters"], json!({"x": "1,2", "y": "z"}));
    assert_eq!(event["pathParameters"], json!({"id": "abc d"}));
    assert_eq!(event["cookies"], json!(["session=s1", "theme=dark"]));
    assert_eq!(event["headers"]["x-custom"], "a,b");
    assert_eq!(event["headers"]["user-agent"], "gateway-test");
    assert!(
        event["headers"].get("cookie").is_none(),
        "cookies move out of the headers"
    );
    let trace = event["headers"]["x-amzn-trace-id"].as_str().unwrap();
    assert!(
        trace.starts_with("Root=1-") && trace.len() == "Root=1-".len() + 8 + 1 + 24,
        "{trace}"
    );
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none());

    let ctx = &event["requestContext"];
    assert_eq!(ctx["accountId"], "000000000000");
    assert_eq!(ctx["apiId"], "local");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["routeKey"], "GET /echo/{id}");
    assert_eq!(ctx["requestId"], request_id.as_str());
    assert_eq!(ctx["domainName"], "127.0.0.1");
    assert_eq!(
        ctx["http"],
        json!({"method": "GET", "path": "/echo/abc%20d", "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "gateway-test"})
    );
    assert!(ctx["timeEpoch"].as_i64().unwrap() > 1_600_000_000_000);
    assert!(ctx["time"].as_str().unwrap().ends_with(" +0000"));

    // lambda_http, which the functions use, reads it as an API Gateway v2 request.
    use lambda_http::RequestExt;
    let request = lambda_http::request::from_str(&text).expect("lambda_http parses the event");
    assert_eq!(request.method(), "GET");
    assert_eq!(request.path_parameters().first("id"), Some("abc d"));
    assert_eq!(request.query_string_parameters().all("x"), Some(vec!["1", "2"]));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trace_id_is_passed_through_and_bodies_keep_their_encoding() {
    let (gw, _rt) = echo_gateway().await;
    let client = reqwest::Client::new();
    let trace = "Root=1-65a1b2c3-0123456789abcdef01234567";
    let text: Value = client
        .post(format!("{}/echo/t", gw.url()))
        .header("x-amzn-trace-id", trace)
        .body("plain text ✓")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(text["headers"]["x-amzn-trace-id"], trace);
    assert_eq!(text["body"], "plain text ✓");
    assert_eq!(text["isBase64Encoded"], false);

    let binary: Value = client
        .post(format!("{}/echo/b", gw.url()))
        .body(vec![0xff_u8, 0x00, 0xfe])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(binary["body"], "/wD+");
    assert_eq!(binary["isBase64Encoded"], true);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_or_method_is_a_404_not_found() {
    let (gw, _rt) = echo_gateway().await;
    let client = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/echo"),
        ("GET", "/echo/a/b"),
        ("DELETE", "/echo/a"),
    ] {
        let response = client
            .request(method.parse().unwrap(), format!("{}{path}", gw.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert!(response.headers().contains_key("apigw-requestid"));
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"message": "Not Found"}));
    }
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_10_mib_is_413() {
    let (gw, _rt) = echo_gateway().await;
    let response = reqwest::Client::new()
        .post(format!("{}/echo/big", gw.url()))
        .body(vec![b'a'; 10 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_endpoints_list_routes_and_fire_schedules() {
    let (gw, _rt) = echo_gateway().await;
    let client = reqwest::Client::new();
    let routes: Value = client
        .get(format!("{}/_niaga/routes", gw.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        routes,
        json!([
            {"routeKey": "GET /echo/{id}", "function": "echo", "public": true},
            {"routeKey": "POST /echo/{id}", "function": "echo", "public": true}
        ])
    );

    let fired: Value = client
        .post(format!("{}/_niaga/schedules/tick/fire", gw.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fired["schedule"], "tick");
    assert_eq!(fired["results"][0]["function"], "echo");
    assert_eq!(fired["results"][0]["ok"], true);
    assert_eq!(fired["results"][0]["response"], json!({"warmup": true}));

    let plain: Value = client
        .post(format!("{}/_niaga/schedules/plain/fire", gw.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event = &plain["results"][0]["response"];
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(
        event["resources"],
        json!(["arn:aws:events:us-east-1:000000000000:rule/niaga-local-plain"])
    );

    let missing = client
        .post(format!("{}/_niaga/schedules/nope/fire", gw.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    gw.shutdown().await;
}

/// Answers each function with a fixed result.
struct Canned(HashMap<&'static str, Result<Value, FunctionError>>);

impl Invoker for Canned {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        _payload: Value,
        _trace_id: Option<String>,
    ) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        let result = self.0.get(function).cloned();
        Box::pin(async move {
            let response = result.ok_or_else(|| InvokeError::FunctionNotFound(function.to_string()))?;
            Ok(Invocation {
                request_id: "canned".into(),
                response,
                cold_start: false,
                init_duration: None,
                duration: Duration::ZERO,
            })
        })
    }
}

async fn canned_gateway() -> Gateway {
    let names = ["structured", "binary", "failing", "slow", "malformed"];
    let functions: Vec<Value> = names
        .iter()
        .map(|n| http_function(n, json!([{"method": "GET", "path": format!("/{n}"), "public": true}])))
        .collect();
    let canned = Canned(HashMap::from([
        (
            "structured",
            Ok(
                json!({"statusCode": 201, "headers": {"content-type": "text/plain", "x-multi": "a,b"},
                       "cookies": ["a=1; Path=/", "b=2"], "body": "created", "isBase64Encoded": false}),
            ),
        ),
        (
            "binary",
            Ok(json!({"statusCode": 200, "body": "AAEC/w==", "isBase64Encoded": true})),
        ),
        ("failing", Err(FunctionError::new("Unhandled", "boom"))),
        (
            "slow",
            Err(FunctionError::new(
                "Sandbox.Timedout",
                "RequestId: x Error: Task timed out after 3.00 seconds",
            )),
        ),
        ("malformed", Ok(json!({"statusCode": "teapot"}))),
    ]));
    Gateway::start(
        any_port(),
        manifest(json!(functions), json!([]), json!([])),
        Arc::new(canned),
        None,
        "local".into(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_structured_response_sets_status_headers_cookies_and_body() {
    let gw = canned_gateway().await;
    let client = reqwest::Client::new();
    let response = client.get(format!("{}/structured", gw.url())).send().await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-multi"], "a,b");
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, vec!["a=1; Path=/", "b=2"]);
    assert_eq!(response.text().await.unwrap(), "created");

    let binary = client.get(format!("{}/binary", gw.url())).send().await.unwrap();
    assert_eq!(binary.bytes().await.unwrap().as_ref(), &[0, 1, 2, 255]);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_are_500_timeouts_503_and_malformed_responses_500() {
    let gw = canned_gateway().await;
    let client = reqwest::Client::new();
    for (path, status, message) in [
        ("/failing", 500, "Internal Server Error"),
        ("/slow", 503, "Service Unavailable"),
        ("/malformed", 500, "Internal Server Error"),
    ] {
        let response = client.get(format!("{}{path}", gw.url())).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"message": message}),
            "{path}"
        );
    }
    gw.shutdown().await;
}

// -------------------------------------------------------------------------------------------------------------
// SQS (moto)
// -------------------------------------------------------------------------------------------------------------

/// moto as the setup principal (the gateway's pollers stand in for the Lambda service, not a function).
async fn moto() -> aws_config::SdkConfig {
    testkit::aws_config().await
}

/// A new queue whose messages come back 1 s after a receive that does not delete them.
async fn new_queue(client: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> String {
    let mut request = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "1");
    if fifo {
        request = request
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "true");
    }
    request.send().await.unwrap().queue_url().unwrap().to_string()
}

async fn send(client: &aws_sdk_sqs::Client, url: &str, bodies: &[&str]) {
    for body in bodies {
        client
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
}

/// The bodies on the queue now, hiding each for 30 s so none is counted twice.
async fn bodies_on_queue(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            break;
        }
        bodies.extend(out.messages().iter().map(|m| m.body().unwrap_or_default().to_string()));
    }
    bodies.sort();
    bodies
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Report the message with this body as a batch item failure.
    FailBody(&'static str),
    /// Fail the invocation.
    FunctionError,
    /// Report a failure for a message id that is not in the batch.
    InvalidIdentifier,
    /// Succeed (return null).
    Succeed,
}

/// An invoker that records every SQS event it gets and answers as told.
struct Recorder {
    behaviour: Behaviour,
    events: Mutex<Vec<Value>>,
}

impl Recorder {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Arc::new(Recorder {
            behaviour,
            events: Mutex::new(Vec::new()),
        })
    }

    /// (body, ApproximateReceiveCount) for every record seen, in order.
    fn seen(&self) -> Vec<(String, u32)> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
            .map(|r| {
                let count = r["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0);
                (r["body"].as_str().unwrap_or_default().to_string(), count)
            })
            .collect()
    }

    fn times_seen(&self, body: &str) -> usize {
        self.seen().iter().filter(|(b, _)| b == body).count()
    }
}

impl Invoker for Recorder {
    fn invoke<'a>(
        &'a self,
        _function: &'a str,
        payload: Value,
        _trace_id: Option<String>,
    ) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move {
            let records = payload["Records"].as_array().cloned().unwrap_or_default();
            self.events.lock().unwrap().push(payload);
            let response = match self.behaviour {
                Behaviour::FailBody(body) => {
                    let failures: Vec<Value> = records
                        .iter()
                        .filter(|r| r["body"] == body)
                        .map(|r| json!({"itemIdentifier": r["messageId"]}))
                        .collect();
                    Ok(json!({ "batchItemFailures": failures }))
                }
                Behaviour::FunctionError => Err(FunctionError::new("Unhandled", "cannot process")),
                Behaviour::InvalidIdentifier => {
                    Ok(json!({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}))
                }
                Behaviour::Succeed => Ok(Value::Null),
            };
            Ok(Invocation {
                request_id: "rec".into(),
                response,
                cold_start: false,
                init_duration: None,
                duration: Duration::ZERO,
            })
        })
    }
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_item_stays_on_the_queue_and_the_rest_are_deleted() {
    let client = aws_sdk_sqs::Client::new(&moto().await);
    let name = unique("gw-partial-");
    let url = new_queue(&client, &name, false).await;
    send(&client, &url, &["A", "B", "X"]).await;

    let recorder = Recorder::new(Behaviour::FailBody("X"));
    let source = SqsSource::new("consumer", url.clone(), sqs::queue_arn(&name)).with_max_concurrency(1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let poller = tokio::spawn(sqs::run_poller(client.clone(), recorder.clone(), source, stopped));
    // X comes back after its 1 s visibility timeout and is delivered again.
    wait_until("X is delivered twice", Duration::from_secs(15), || {
        recorder.times_seen("X") >= 2
    })
    .await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), poller)
        .await
        .expect("the poller stops")
        .unwrap();

    assert_eq!(recorder.times_seen("A"), 1, "{:?}", recorder.seen());
    assert_eq!(recorder.times_seen("B"), 1, "{:?}", recorder.seen());
    let x_counts: Vec<u32> = recorder
        .seen()
        .into_iter()
        .filter(|(b, _)| b == "X")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        &x_counts[..2],
        &[1, 2],
        "ApproximateReceiveCount grows with each delivery"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bodies_on_queue(&client, &url).await, vec!["X"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_deletes_nothing() {
    let client = aws_sdk_sqs::Client::new(&moto().await);
    let name = unique("gw-error-");
    let url = new_queue(&client, &name, false).await;
    send(&client, &url, &["A", "B", "C"]).await;

    let recorder = Recorder::new(Behaviour::FunctionError);
    let source = SqsSource::new("consumer", url.clone(), sqs::queue_arn(&name));
    let mut received = 0;
    while received < 3 {
        let report = sqs::poll_once(&client, recorder.as_ref(), &source).await.unwrap();
        assert!(report.deleted.is_empty(), "{report:?}");
        assert!(
            report.received == 0 || report.failure.as_deref().unwrap().contains("cannot process"),
            "{report:?}"
        );
        received += report.received;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bodies_on_queue(&client, &url).await, vec!["A", "B", "C"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_item_identifier_fails_the_whole_batch() {
    let client = aws_sdk_sqs::Client::new(&moto().await);
    let name = unique("gw-invalid-");
    let url = new_queue(&client, &name, false).await;
    send(&client, &url, &["A", "B", "C"]).await;

    let recorder = Recorder::new(Behaviour::InvalidIdentifier);
    let source = SqsSource::new("consumer", url.clone(), sqs::queue_arn(&name));
    let mut received = 0;
    while received < 3 {
        let report = sqs::poll_once(&client, recorder.as_ref(), &source).await.unwrap();
        assert!(report.deleted.is_empty(), "{report:?}");
        received += report.received;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bodies_on_queue(&client, &url).await, vec!["A", "B", "C"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_batch_is_deleted_and_its_records_look_like_lambda_s() {
    let client = aws_sdk_sqs::Client::new(&moto().await);
    let name = unique("gw-ok-");
    let url = new_queue(&client, &name, false).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"order":1}"#)
        .message_attributes(
            "kind",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("order")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let recorder = Recorder::new(Behaviour::Succeed);
    let source = SqsSource::new("consumer", url.clone(), sqs::queue_arn(&name));
    let report = loop {
        let report = sqs::poll_once(&client, recorder.as_ref(), &source).await.unwrap();
        if report.received > 0 {
            break report;
        }
    };
    assert_eq!((report.received, report.deleted.len(), report.failure), (1, 1, None));

    let event = recorder.events.lock().unwrap()[0].clone();
    let record = &event["Records"][0];
    assert_eq!(record["body"], r#"{"order":1}"#);
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(
        record["eventSourceARN"],
        format!("arn:aws:sqs:us-east-1:000000000000:{name}")
    );
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    assert!(
        record["attributes"]["SentTimestamp"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok(),
        "{record}"
    );
    assert_eq!(record["messageAttributes"]["kind"]["stringValue"], "order");
    assert_eq!(record["messageAttributes"]["kind"]["dataType"], "String");
    assert!(!record["receiptHandle"].as_str().unwrap().is_empty());
    // It is the real event type.
    let _: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event).unwrap();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(bodies_on_queue(&client, &url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_records_carry_their_message_group_id() {
    let client = aws_sdk_sqs::Client::new(&moto().await);
    let name = format!("{}.fifo", unique("gw-fifo-"));
    let url = new_queue(&client, &name, true).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("first")
        .message_group_id("order-7")
        .send()
        .await
        .unwrap();

    let recorder = Recorder::new(Behaviour::Succeed);
    let source = SqsSource::new("consumer", url.clone(), sqs::queue_arn(&name));
    while sqs::poll_once(&client, recorder.as_ref(), &source)
        .await
        .unwrap()
        .received
        == 0
    {}
    let event = recorder.events.lock().unwrap()[0].clone();
    assert_eq!(event["Records"][0]["attributes"]["MessageGroupId"], "order-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_polls_the_queue_its_manifest_names() {
    let config = moto().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let env = unique("t");
    let physical = xtask::queue_physical_name(&env, "orders", false);
    let url = new_queue(&client, &physical, false).await;
    let manifest = manifest(
        json!([{"name": "order-worker", "kind": "sqs", "description": "test", "memory_mb": 128, "timeout_s": 3,
                "queue": "orders", "batch_size": 5, "max_concurrency": 1}]),
        json!([{"name": "orders", "visibility_timeout_s": 1, "max_receive_count": 3}]),
        json!([]),
    );
    let recorder = Recorder::new(Behaviour::Succeed);
    let gw = Gateway::start(any_port(), manifest, recorder.clone(), Some(config), env)
        .await
        .unwrap();
    send(&client, &url, &["hello"]).await;

    wait_until("the poller delivers the message", Duration::from_secs(15), || {
        recorder.times_seen("hello") == 1
    })
    .await;
    let event = recorder.events.lock().unwrap()[0].clone();
    assert_eq!(
        event["Records"][0]["eventSourceARN"],
        format!("arn:aws:sqs:us-east-1:000000000000:{physical}")
    );
    gw.shutdown().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        bodies_on_queue(&client, &url).await.is_empty(),
        "the delivered message was deleted"
    );
}

// -------------------------------------------------------------------------------------------------------------
// CORS
// -------------------------------------------------------------------------------------------------------------

const ALLOWED_ORIGIN: &str = "http://localhost:5173";

/// A manifest with one route and a `cors` section allowing `ALLOWED_ORIGIN` in `local` only.
fn cors_manifest(origins: Value) -> Result<Manifest, String> {
    let text = json!({
        "project": "niaga",
        "defaults": {"architecture": "arm64", "runtime": "provided.al2023", "memory_mb": 128, "timeout_s": 3},
        "functions": [http_function("open", json!([{"method": "GET", "path": "/open", "public": true}]))],
        "cors": {
            "allow_origins": origins,
            "allow_methods": ["GET", "POST", "OPTIONS"],
            "allow_headers": ["authorization", "content-type", "idempotency-key"],
            "expose_headers": ["etag", "retry-after"],
            "max_age_s": 600
        }
    });
    let path = std::env::temp_dir().join(format!("{}.json", unique("niaga-cors-manifest-")));
    std::fs::write(&path, text.to_string()).unwrap();
    let manifest = Manifest::load(&path).map_err(|e| format!("{e:#}"));
    let _ = std::fs::remove_file(path);
    manifest
}

/// The gateway over a function that answers with a CORS header of its own, which must never reach the browser.
async fn cors_gateway(env: &str) -> Gateway {
    let canned = Canned(HashMap::from([(
        "open",
        Ok(json!({"statusCode": 200, "headers": {"access-control-allow-origin": "*", "etag": "\"v1\""}, "body": "ok"})),
    )]));
    let manifest = cors_manifest(json!({ "local": [ALLOWED_ORIGIN] })).unwrap();
    Gateway::start(any_port(), manifest, Arc::new(canned), None, env.into())
        .await
        .unwrap()
}

fn preflight(client: &reqwest::Client, url: &str, origin: &str) -> reqwest::RequestBuilder {
    client
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,idempotency-key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let gw = cors_gateway("local").await;
    let client = reqwest::Client::new();
    let url = format!("{}/open", gw.url());

    let ok = preflight(&client, &url, ALLOWED_ORIGIN).send().await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert_eq!(ok.headers()["access-control-allow-methods"], "GET,POST,OPTIONS");
    assert_eq!(
        ok.headers()["access-control-allow-headers"],
        "authorization,content-type,idempotency-key"
    );
    assert_eq!(ok.headers()["access-control-max-age"], "600");

    for origin in ["https://evil.example", "http://localhost:5174", "null"] {
        let refused = preflight(&client, &url, origin).send().await.unwrap();
        assert!(
            refused.headers().get("access-control-allow-origin").is_none(),
            "a preflight from {origin} was allowed"
        );
        assert!(refused.headers().get("access-control-allow-methods").is_none());
    }

    let allowed = client.get(&url).header("origin", ALLOWED_ORIGIN).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert_eq!(allowed.headers()["access-control-expose-headers"], "etag,retry-after");
    assert_eq!(allowed.headers()["etag"], "\"v1\"");

    // The function's own `*` never passes: another origin, or no origin, gets no CORS header at all.
    for request in [
        client.get(&url).header("origin", "https://evil.example"),
        client.get(&url),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_without_origins_has_no_cors() {
    let gw = cors_gateway("prod").await;
    let client = reqwest::Client::new();
    let url = format!("{}/open", gw.url());
    // No CORS configuration: a preflight is just an OPTIONS request no route serves.
    let response = preflight(&client, &url, ALLOWED_ORIGIN).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("access-control-allow-origin").is_none());
    gw.shutdown().await;
}

#[test]
fn the_manifest_refuses_wildcard_and_malformed_origins() {
    for bad in [
        "*",
        "https://*.niaga.example",
        "ftp://niaga.example",
        "https://niaga.example/app",
        "niaga.example",
    ] {
        let err = cors_manifest(json!({ "prod": [bad] })).expect_err(bad);
        assert!(err.contains("is not an origin"), "{bad}: {err}");
    }
    assert!(cors_manifest(json!({ "prod": ["https://portal.niaga.example:8443"] })).is_ok());
}

#[tokio::test]
async fn the_gateway_serves_the_openapi_document_of_its_manifest_and_a_page_that_renders_it() {
    let recorder = Recorder::new(Behaviour::Succeed);
    let manifest = Manifest::load_workspace().unwrap();
    let gw = Gateway::start(any_port(), manifest, recorder, None, "local".into())
        .await
        .unwrap();
    let doc: Value = reqwest::get(format!("{}/openapi.json", gw.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"][0]["url"],
        gw.url(),
        "the document points clients at this gateway"
    );
    assert!(doc["paths"]["/orders"]["post"].is_object());
    let page = reqwest::get(format!("{}/docs", gw.url())).await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.text().await.unwrap().contains("fetch(\"/openapi.json\")"));
    gw.shutdown().await;
}

#[tokio::test]
async fn a_manifest_the_code_does_not_document_gets_no_openapi_document() {
    let gw = Gateway::start(
        any_port(),
        echo_manifest(),
        Recorder::new(Behaviour::Succeed),
        None,
        "local".into(),
    )
    .await
    .unwrap();
    let r = reqwest::get(format!("{}/openapi.json", gw.url())).await.unwrap();
    assert_eq!(r.status(), 404);
    gw.shutdown().await;
}
