//! Rate limits against moto: counting down, denial with headers, one budget across instances and under concurrency,
//! new windows, the sliding estimate, and separate keys. Every test makes its own table, so they run in parallel;
//! time is injected, so nothing sleeps.

use aws_sdk_dynamodb::types::AttributeValue;
use niaga_aws::ratelimit::{Decision, Limit, RateLimitError, RateLimiter};
use std::time::Duration;

async fn dynamo() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&testkit::aws_config().await)
}

/// A fresh table laid out as in production: string hash key `pk`, on demand.
async fn table() -> String {
    let name = format!("niaga-test-ratelimit-{}", testkit::unique_env());
    testkit::create_table(&name).await;
    name
}

async fn limiter() -> (RateLimiter, String) {
    let table = table().await;
    (RateLimiter::new(&testkit::aws_config().await, &table), table)
}

const MINUTE: Duration = Duration::from_secs(60);
const MINUTE_MS: i64 = 60_000;
/// The start of a one-minute window (2023-11-14T22:13:00Z).
const T0: i64 = 1_699_999_980_000;

fn per_minute(max: u32) -> Limit {
    Limit { max, window: MINUTE }
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn requests_under_the_limit_are_allowed_and_remaining_counts_down() {
    let (rl, _) = limiter().await;
    let now = T0 + 15_000;
    for expected_remaining in (0..5).rev() {
        let d = rl.check("read:ip:203.0.113.10", per_minute(5), now).await.unwrap();
        assert_eq!(
            d,
            Decision {
                allowed: true,
                limit: 5,
                remaining: expected_remaining,
                reset_after: Duration::from_secs(45),
                retry_after: None,
            }
        );
    }
}

#[tokio::test]
async fn the_request_after_the_limit_is_denied_with_retry_after_and_headers() {
    let (rl, _) = limiter().await;
    let key = "login:account:p-00001";
    let now = T0 + 10_000;
    for _ in 0..3 {
        assert!(rl.check(key, per_minute(3), now).await.unwrap().allowed);
    }
    let denied = rl.check(key, per_minute(3), now).await.unwrap();
    assert!(!denied.allowed);
    assert_eq!(denied.remaining, 0);
    let retry = denied.retry_after.expect("a denied decision says when to retry");
    assert!(retry > Duration::ZERO);
    // Four counted (the denied one too): the next window admits a request once they weigh 2, half-way through it.
    assert_eq!(retry, Duration::from_secs(50 + 30));
    assert!(denied.reset_after >= retry);

    let headers = denied.headers();
    assert_eq!(header(&headers, "RateLimit-Limit"), Some("3"));
    assert_eq!(header(&headers, "RateLimit-Remaining"), Some("0"));
    assert_eq!(header(&headers, "RateLimit-Reset"), Some("80"));
    assert_eq!(header(&headers, "Retry-After"), Some("80"));

    let later = rl
        .check(key, per_minute(3), now + retry.as_millis() as i64)
        .await
        .unwrap();
    assert!(later.allowed, "waiting Retry-After is enough: {later:?}");
    assert_eq!(header(&later.headers(), "Retry-After"), None);
}

#[tokio::test]
async fn headers_round_seconds_up_and_add_retry_after_only_when_denied() {
    let allowed = Decision {
        allowed: true,
        limit: 100,
        remaining: 42,
        reset_after: Duration::from_millis(1_200),
        retry_after: None,
    };
    assert_eq!(
        allowed.headers(),
        vec![
            ("RateLimit-Limit", "100".to_string()),
            ("RateLimit-Remaining", "42".to_string()),
            ("RateLimit-Reset", "2".to_string()),
        ]
    );
    let denied = Decision {
        allowed: false,
        remaining: 0,
        reset_after: Duration::from_secs(30),
        retry_after: Some(Duration::from_millis(1)),
        ..allowed
    };
    assert_eq!(
        denied.headers(),
        vec![
            ("RateLimit-Limit", "100".to_string()),
            ("RateLimit-Remaining", "0".to_string()),
            ("RateLimit-Reset", "30".to_string()),
            ("Retry-After", "1".to_string()),
        ]
    );
}

#[tokio::test]
async fn two_instances_share_one_budget() {
    let (first, table) = limiter().await;
    let second = RateLimiter::new(&testkit::aws_config().await, &table);
    let key = "agent:ai_agent:seo-bot";
    let now = T0 + 1_000;
    let mut allowed = 0;
    for i in 0..8 {
        let rl = if i % 2 == 0 { &first } else { &second };
        let d = rl.check(key, per_minute(6), now).await.unwrap();
        if d.allowed {
            allowed += 1;
        }
        assert_eq!(d.allowed, i < 6, "request {i}: {d:?}");
    }
    assert_eq!(allowed, 6);
}

#[tokio::test]
async fn of_thirty_concurrent_checks_with_a_limit_of_ten_exactly_ten_are_allowed() {
    // What is under test is the counting, not the latency: sixty calls at once on a loaded emulator can take longer
    // than a request's one-second budget, so this limiter has the standard one.
    let rl = RateLimiter::within(
        niaga_aws::timeouts::Budget::STANDARD,
        &testkit::aws_config().await,
        table().await,
    );
    let checks = (0..30).map(|_| {
        let rl = rl.clone();
        async move {
            rl.check("read:ip:198.51.100.7", per_minute(10), T0 + 5_000)
                .await
                .unwrap()
        }
    });
    let decisions = futures::future::join_all(checks).await;
    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert_eq!(
        allowed, 10,
        "none came before, so the whole budget is there: {decisions:?}"
    );
    let mut remaining: Vec<_> = decisions.iter().filter(|d| d.allowed).map(|d| d.remaining).collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..10).collect::<Vec<_>>(),
        "each allowed request saw its own count"
    );
}

#[tokio::test]
async fn a_new_window_allows_again() {
    let (rl, _) = limiter().await;
    let key = "login:account:p-00002";
    for _ in 0..4 {
        rl.check(key, per_minute(2), T0 + 30_000).await.unwrap();
    }
    assert!(!rl.check(key, per_minute(2), T0 + 30_000).await.unwrap().allowed);
    let two_windows_later = rl.check(key, per_minute(2), T0 + 30_000 + 2 * MINUTE_MS).await.unwrap();
    assert!(two_windows_later.allowed);
    assert_eq!(two_windows_later.remaining, 1);
}

#[tokio::test]
async fn a_full_previous_window_counts_for_half_at_the_middle_of_the_current_one() {
    let (rl, _) = limiter().await;
    let key = "read:ip:203.0.113.20";
    for _ in 0..10 {
        assert!(rl.check(key, per_minute(10), T0 + 2_000).await.unwrap().allowed);
    }
    let middle_of_next = T0 + MINUTE_MS + MINUTE_MS / 2;
    for expected_remaining in (0..5).rev() {
        let d = rl.check(key, per_minute(10), middle_of_next).await.unwrap();
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.remaining, expected_remaining);
    }
    let sixth = rl.check(key, per_minute(10), middle_of_next).await.unwrap();
    assert!(!sixth.allowed, "about max/2 more are allowed, not max: {sixth:?}");
    // Three quarters through, the previous window weighs only 2.5: with the six counted here, one more fits.
    let three_quarters = T0 + MINUTE_MS + 45_000;
    assert!(rl.check(key, per_minute(10), three_quarters).await.unwrap().allowed);
    assert!(!rl.check(key, per_minute(10), three_quarters).await.unwrap().allowed);
}

#[tokio::test]
async fn denied_requests_count_against_the_next_window() {
    let (rl, _) = limiter().await;
    let key = "login:account:p-00003";
    // Two allowed, four denied: the window counts six.
    for _ in 0..6 {
        rl.check(key, per_minute(2), T0).await.unwrap();
    }
    // Half-way through the next window, six weigh three: still over a limit of two.
    let d = rl.check(key, per_minute(2), T0 + MINUTE_MS + 30_000).await.unwrap();
    assert!(!d.allowed, "{d:?}");
}

#[tokio::test]
async fn keys_do_not_interfere() {
    let (rl, _) = limiter().await;
    for _ in 0..3 {
        rl.check("read:ip:192.0.2.1", per_minute(2), T0).await.unwrap();
    }
    assert!(!rl.check("read:ip:192.0.2.1", per_minute(2), T0).await.unwrap().allowed);
    let other = rl.check("read:ip:192.0.2.2", per_minute(2), T0).await.unwrap();
    assert!(other.allowed);
    assert_eq!(other.remaining, 1);
    let prefix = rl.check("read:ip:192.0.2.", per_minute(2), T0).await.unwrap();
    assert_eq!(prefix.remaining, 1, "a key that is a prefix of another is its own key");
}

#[tokio::test]
async fn counters_carry_an_expiry_at_the_end_of_the_next_window() {
    let (rl, table) = limiter().await;
    rl.check("k", per_minute(5), T0 + 10_000).await.unwrap();
    let pk = format!("k#{}", T0 / MINUTE_MS);
    let item = dynamo()
        .await
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the counter exists");
    assert_eq!(item.get("hits"), Some(&AttributeValue::N("1".into())));
    let end_of_next = (T0 + 2 * MINUTE_MS) / 1000;
    assert_eq!(
        item.get("expires_at"),
        Some(&AttributeValue::N(end_of_next.to_string()))
    );
}

#[tokio::test]
async fn a_missing_table_is_unavailable_and_named() {
    let rl = RateLimiter::new(&testkit::aws_config().await, "niaga-test-no-such-table");
    let err = rl.check("k", per_minute(5), T0).await.unwrap_err();
    let RateLimitError::Unavailable(message) = err;
    assert!(message.contains("niaga-test-no-such-table"), "{message}");
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_unavailable_so_the_caller_can_fail_open_or_closed() {
    let nowhere = testkit::aws_config()
        .await
        .into_builder()
        .endpoint_url("http://127.0.0.1:1")
        .build();
    let rl = RateLimiter::new(&nowhere, "niaga-test-unreachable");
    let RateLimitError::Unavailable(message) = rl.check("k", per_minute(5), T0).await.unwrap_err();
    assert!(message.contains("niaga-test-unreachable"), "{message}");
}

#[tokio::test]
async fn permits_let_max_through_per_window_without_counting_refusals() {
    let (limiter, _table) = limiter().await;
    let limit = Limit {
        max: 3,
        window: Duration::from_secs(1),
    };
    let t0 = 1_700_000_000_000;
    for i in 0..3 {
        assert_eq!(
            limiter.acquire("pace", limit, t0 + i).await.unwrap(),
            None,
            "permit {i}"
        );
    }
    // Full: the wait is the rest of the window, and asking again (many times) does not push the next window back.
    for _ in 0..10 {
        let wait = limiter.acquire("pace", limit, t0 + 400).await.unwrap().unwrap();
        assert_eq!(wait, Duration::from_millis(600));
    }
    for i in 0..3 {
        assert_eq!(
            limiter.acquire("pace", limit, t0 + 1_000 + i).await.unwrap(),
            None,
            "next window, permit {i}"
        );
    }
}

/// A DynamoDB that hangs: it accepts connections (as a frozen process's listening socket still does) and never
/// answers.
async fn hanging_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_hanging_dynamodb_is_unavailable_within_the_request_path_budget() {
    let hanging = testkit::aws_config()
        .await
        .into_builder()
        .endpoint_url(hanging_endpoint().await)
        .build();
    let rl = RateLimiter::new(&hanging, "niaga-test-hanging");
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), rl.check("k", per_minute(5), T0))
        .await
        .expect("a check against a hanging DynamoDB must end by itself");
    assert!(matches!(answer, Err(RateLimitError::Unavailable(_))), "{answer:?}");
    let budget = niaga_aws::timeouts::Budget::ON_REQUEST_PATH.operation;
    assert!(
        started.elapsed() < budget + Duration::from_millis(500),
        "took {:?}, budget {budget:?}",
        started.elapsed()
    );

    // The instance remembers: the next checks fail at once instead of each waiting out the budget again.
    let again = std::time::Instant::now();
    for _ in 0..3 {
        assert!(rl.check("k", per_minute(5), T0).await.is_err());
    }
    assert!(
        again.elapsed() < Duration::from_millis(100),
        "took {:?}",
        again.elapsed()
    );
}

#[tokio::test]
async fn an_error_answer_from_dynamodb_does_not_stop_the_next_call_from_asking() {
    let rl = RateLimiter::new(&testkit::aws_config().await, "niaga-test-no-such-table-either");
    for _ in 0..2 {
        let RateLimitError::Unavailable(message) = rl.check("k", per_minute(5), T0).await.unwrap_err();
        assert!(message.contains("failed"), "asked DynamoDB and was told why: {message}");
    }
}

#[tokio::test]
async fn a_hanging_secrets_manager_fails_within_the_standard_budget() {
    let hanging = testkit::aws_config()
        .await
        .into_builder()
        .endpoint_url(hanging_endpoint().await)
        .build();
    let budget = niaga_aws::timeouts::Budget::STANDARD;
    let cache = niaga_aws::SecretsCache::new(&budget.apply(&hanging), Duration::from_secs(60));
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(20), cache.get("niaga/test/hanging"))
        .await
        .expect("a fetch from a hanging Secrets Manager must end by itself");
    assert!(answer.is_err());
    assert!(started.elapsed() < budget.operation + Duration::from_millis(500));
}
