//! Load shedding at the function deadline: a request that cannot finish in time is a 503 with `Retry-After`, not a
//! Lambda timeout.

use lambda_glue::http::{dispatch, HttpHandler, RequestCtx, Runtime};
use lambda_glue::{Problem, Service};
use lambda_http::{Body, Request};
use std::time::{Duration, Instant};

struct Slow(Duration);

impl HttpHandler for Slow {
    async fn handle(&self, _req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        tokio::time::sleep(self.0).await;
        Ok(lambda_glue::http::json_response(
            200,
            &serde_json::json!({ "done": true }),
        ))
    }
}

fn rt() -> Runtime {
    Runtime {
        service: Service {
            name: "shop",
            metrics_namespace: "Shop",
            env_prefix: "SHOP",
        },
        function: "test",
        slow_request: Duration::from_secs(5),
        hooks: None,
    }
}

/// An API Gateway HTTP API (payload 2.0) request, as the repository's sample events hold it.
fn get_health() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../events/health-api/get-health.json")).unwrap()
}

fn context(ms_left: i64) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "deadline-test".into();
    ctx.deadline = (chrono::Utc::now().timestamp_millis() + ms_left) as u64;
    ctx
}

#[tokio::test]
async fn a_request_still_running_near_the_deadline_is_answered_503_with_retry_after() {
    let started = Instant::now();
    let r = dispatch(&rt(), &Slow(Duration::from_secs(3)), get_health(), context(600)).await;
    assert_eq!(r["statusCode"], 503, "{r}");
    assert_eq!(r["headers"]["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered before the deadline"
    );
}

#[tokio::test]
async fn a_request_arriving_too_close_to_the_deadline_is_not_started() {
    let r = dispatch(&rt(), &Slow(Duration::ZERO), get_health(), context(100)).await;
    assert_eq!(r["statusCode"], 503, "{r}");
}

#[tokio::test]
async fn a_request_with_time_to_spare_is_served() {
    let r = dispatch(&rt(), &Slow(Duration::from_millis(10)), get_health(), context(3_000)).await;
    assert_eq!(r["statusCode"], 200, "{r}");
}
