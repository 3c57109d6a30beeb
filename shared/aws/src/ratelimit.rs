//! Rate limits shared by every Lambda instance, counted with DynamoDB atomic counters.
//!
//! A key names what is limited (`login:account:p-00001`, `agent:ai_agent:seo-bot`, `read:ip:203.0.113.10`) and a
//! [`Limit`] says how many requests it may make per window. All instances count in the same items, so a budget
//! holds across instances, cold starts and scale-out, which no per-process counter can do.
//!
//! # Windowing: a sliding window estimated from two fixed windows
//!
//! Time is cut into fixed windows of the limit's length W: window `i` is `[i·W, (i+1)·W)` in epoch milliseconds,
//! and each key has one counter item per window, `pk = "{key}#{i}"` (the index follows the last `#`, so keys may
//! contain `#` themselves). A check at a fraction `f` into window `i`
//!
//! 1. adds one to window `i`'s counter (UpdateItem `ADD`, returning the new count `c`), and
//! 2. reads window `i − 1`'s count `p` (strongly consistent, at the same time as the update),
//!
//! and estimates the requests of the last window length as `c + p·(1 − f)`: all of the current window, plus the
//! share of the previous window that still lies within one window length of now, as if the previous window's
//! requests had been spread evenly over it. The request is allowed when the estimate is at most `max`. The
//! comparison is done in integers (scaled by W in milliseconds), so half-way through a window a full previous
//! window weighs exactly `max / 2`.
//!
//! Why this scheme: a plain fixed window lets `2·max` through at every boundary (`max` at the end of one window,
//! `max` at the start of the next), and a true sliding window needs every request's timestamp, so its storage and
//! its cost per check grow with traffic. The estimate costs two small items per key, one write and at most one read
//! per check, whatever the traffic.
//!
//! What it guarantees, for one key with L = `max` (given that every check sees the previous window's final count;
//! see the clock-skew caveat under the memo below):
//!
//! - **At most L allowed in any fixed window.** The counter hands every request of a window a distinct value, and
//!   a request is allowed only if its value is at most `L − p·(1 − f) ≤ L`.
//! - **At most 2L − 1 allowed in any span of length W.** A span starting a fraction `g` into window `i − 1` holds at
//!   most `min(p, L)` allowed requests of window `i − 1` (all of them, if they came at its end) and at most
//!   `L − p·(1 − g)` of window `i` (each allowed one there had a counter value at most `L − p·(1 − f)` with
//!   `f ≤ g`). The sum is at most `L·(1 + g) < 2L`. The bound is approached by a client that sends L at the very end
//!   of one window and bursts again late in the next.
//! - **Exact when the previous window's requests were evenly spread**: the estimate is then the true count of the
//!   last window length (give or take the one request on its edge), and the limit holds over every such span. The
//!   error is in the spread, both ways: a previous window whose requests came late is undercounted (the 2L case
//!   above); one whose requests came early is overcounted, so that client is denied sooner than a true sliding
//!   window would deny it and gets the rest of its budget later in the current window.
//!
//! # Denied requests count
//!
//! Every check increments, allowed or not. The increment is how the count is learnt, and it is the behaviour wanted
//! (below). A conditional increment (only while under the limit) would need the previous window's count before it
//! could be sent, so the read and the write would run one after the other whenever the memo misses, and a denied
//! request would learn no count to compute `Retry-After` from. Consequences:
//!
//! - A client that keeps sending while denied stays denied: its rejected attempts fill the current window and,
//!   weighted, the next one. One that sends steadily above the limit gets nothing through until it slows down. That
//!   is what the login and agent limits want, and it costs nothing to a client that honours `Retry-After`.
//! - Counters can exceed `max`; `remaining` is then 0. The guarantees above are about allowed requests and still
//!   hold: extra denied requests only make `p` larger, and the next window stricter.
//!
//! # The decision's numbers
//!
//! - `remaining`: `⌊max − estimate⌋`, at least 0, the requests that would be allowed right now.
//! - `retry_after` (denied only): the earliest instant the next request would be allowed if nothing else were sent
//!   before it, either later in this window (once enough of the previous window's weight has decayed) or in the
//!   next one (where this window's count becomes the previous one). Other requests for the same key, including
//!   the client's own early retries, push it later.
//! - `reset_after`: the time until the current window ends, when its count starts to decay; when denied, at least
//!   `retry_after`, so a client that waits for the reset is not denied again. A sliding window has no instant at
//!   which the whole quota comes back, so the next change of windows stands in for it.
//!
//! [`Decision::headers`] renders them as the separate `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` fields of the IETF httpapi rate-limit headers drafts (later drafts fold them into one
//! `RateLimit` field; the separate ones are what clients widely understand), plus `Retry-After` when denied.
//!
//! # Memoised previous windows
//!
//! A window's count no longer changes once the window has passed (every check writes only to the window it falls
//! in), so each limiter memoises the previous window's count by item key: a key checked repeatedly costs one write
//! per check and one read per window. Clones share the memo. It is bounded: when full, entries for windows that are
//! no longer anyone's previous window are dropped, and if that frees nothing, all of them. The one inexactness is
//! clock skew between instances: an instance whose clock is a few milliseconds behind can still count into a window
//! another has memoised, and the memo misses those few requests.
//!
//! # When DynamoDB is unavailable
//!
//! [`RateLimiter::check`] returns [`RateLimitError::Unavailable`] and the caller decides. Recommended:
//!
//! - **Human-facing routes fail open** (catalogue reads, login, ordering), with a warning logged: an outage of the
//!   limiter must not take the shop down, a short outage does not make abuse materially easier, and login attempts
//!   stay slow because of the password hash.
//! - **Agent budgets fail closed** (`503` with `Retry-After`): they bound what automated clients may spend, agents
//!   retry anyway, and a degraded backend is the worst moment to let them run unmetered.
//!
//! Every check waits for DynamoDB, so routes that fail open should keep the SDK's operation timeout short.
//!
//! The table: string hash key `pk`, attributes `hits` (N) and `expires_at` (N, epoch seconds), TTL enabled on
//! `expires_at`. Each counter expires at the end of the window after its own, the last moment it is read.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most `max` requests per `window`. A `max` of 0 admits nothing; windows shorter than a millisecond count as
/// one millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// The outcome of one check, with what the response headers need.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// The limit's `max`, for `RateLimit-Limit`.
    pub limit: u32,
    /// For `RateLimit-Remaining`.
    pub remaining: u32,
    /// For `RateLimit-Reset`.
    pub reset_after: Duration,
    /// `Some` when denied: for `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// The IETF draft `RateLimit-*` header values: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
    /// (seconds, rounded up), plus `Retry-After` (seconds, rounded up) when denied.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("RateLimit-Limit", self.limit.to_string()),
            ("RateLimit-Remaining", self.remaining.to_string()),
            ("RateLimit-Reset", ceil_secs(self.reset_after).to_string()),
        ];
        if let Some(retry) = self.retry_after {
            headers.push(("Retry-After", ceil_secs(retry).to_string()));
        }
        headers
    }
}

/// Rounded up, so a client that waits the advertised seconds never comes back early.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Why a check could not be made. Messages name the table and counter, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limits unavailable: {0}")]
    Unavailable(String),
}

/// Counts requests per key in one DynamoDB table. Cheap to clone; clones share the memo of past windows.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Set when DynamoDB stopped answering: calls fail at once for a while rather than each waiting out its budget.
    hold: crate::timeouts::Hold,
    memo: Arc<Mutex<HashMap<String, Memo>>>,
}

/// A past window's final count, useful until the end of the window after it.
#[derive(Debug, Clone, Copy)]
struct Memo {
    count: u64,
    useful_until_ms: i128,
}

/// Enough for every active key of a busy instance; an entry is a short string and two numbers.
const MEMO_CAPACITY: usize = 10_000;

const PK: &str = "pk";
const HITS: &str = "hits";
const EXPIRES_AT: &str = "expires_at";

impl RateLimiter {
    /// A limiter within the budget of what a request waits on ([`crate::timeouts::Budget::ON_REQUEST_PATH`]).
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        RateLimiter::within(crate::timeouts::Budget::ON_REQUEST_PATH, sdk, table)
    }

    /// A limiter whose calls have `budget` (a worker pacing its own work can wait longer than a request).
    pub fn within(budget: crate::timeouts::Budget, sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        RateLimiter {
            client: aws_sdk_dynamodb::Client::new(&budget.apply(sdk)),
            table: table.into(),
            hold: crate::timeouts::Hold::default(),
            memo: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one request for `key` (e.g. `login:account:p-00001`, `agent:ai_agent:seo-bot`,
    /// `read:ip:203.0.113.10`) and decides. `now_ms`: epoch milliseconds (injected so tests control time).
    pub async fn check(&self, key: &str, limit: Limit, now_ms: i64) -> Result<Decision, RateLimitError> {
        self.not_held()?;
        let window = Window::at(limit.window, now_ms);
        let current_pk = format!("{key}#{}", window.index);
        let previous_pk = format!("{key}#{}", window.index.saturating_sub(1));
        let (current, previous) = tokio::join!(
            self.increment(&current_pk, window.expires_at()),
            self.previous_count(&previous_pk, &window),
        );
        Ok(decide(limit.max, &window, current?, previous?))
    }

    /// A pacing permit for work that waits rather than fails (a worker feeding a throttled dependency): takes one
    /// of `max` slots in the current fixed window, counting only requests it lets through. `Ok(None)` is a permit;
    /// `Ok(Some(wait))` means the window is full and the next one starts after `wait`.
    ///
    /// Unlike [`RateLimiter::check`], a refusal is not counted (the increment is conditional on room), so callers
    /// that wait and come back cannot starve themselves. The price is the fixed window's edge: up to `2 × max` can
    /// pass within one window length that straddles a boundary; for pacing a dependency per second that is the
    /// usual token-bucket burst and acceptable.
    pub async fn acquire(&self, key: &str, limit: Limit, now_ms: i64) -> Result<Option<Duration>, RateLimitError> {
        self.not_held()?;
        let window = Window::at(limit.window, now_ms);
        let pk = format!("{key}#permits#{}", window.index);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.clone()))
            .update_expression("ADD #hits :one SET #expires_at = :expires_at")
            .condition_expression("attribute_not_exists(#hits) OR #hits < :max")
            .expression_attribute_names("#hits", HITS)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(limit.max.to_string()))
            .expression_attribute_values(":expires_at", AttributeValue::N(window.expires_at().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                let wait_ms = (window.end_ms() - window.now_ms()).max(1);
                Ok(Some(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(u64::MAX))))
            }
            Err(e) => Err(self.unavailable("UpdateItem", &pk, &e)),
        }
    }

    async fn increment(&self, pk: &str, expires_at: i64) -> Result<u64, RateLimitError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            // Setting the expiry on every increment costs nothing extra: the write is charged by item size.
            .update_expression("ADD #hits :one SET #expires_at = :expires_at")
            .expression_attribute_names("#hits", HITS)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires_at", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| self.unavailable("UpdateItem", pk, &e))?;
        match out.attributes() {
            Some(attrs) => self.hits(pk, attrs),
            None => Err(RateLimitError::Unavailable(format!(
                "UpdateItem of `{pk}` in `{}` returned no count",
                self.table
            ))),
        }
    }

    async fn previous_count(&self, pk: &str, window: &Window) -> Result<u64, RateLimitError> {
        if let Some(memo) = self.memo_lock().get(pk) {
            return Ok(memo.count);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            // Strongly consistent: an eventually consistent read just after the change of windows can miss the last
            // increments of the window it reads, and the memo would keep the shortfall for a whole window.
            .consistent_read(true)
            .projection_expression("#hits")
            .expression_attribute_names("#hits", HITS)
            .send()
            .await
            .map_err(|e| self.unavailable("GetItem", pk, &e))?;
        let count = match out.item() {
            Some(item) => self.hits(pk, item)?,
            None => 0,
        };
        self.remember(pk, count, window);
        Ok(count)
    }

    fn remember(&self, pk: &str, count: u64, window: &Window) {
        let mut memo = self.memo_lock();
        if memo.len() >= MEMO_CAPACITY {
            let now = window.now_ms();
            memo.retain(|_, m| m.useful_until_ms > now);
            if memo.len() >= MEMO_CAPACITY {
                memo.clear();
            }
        }
        memo.insert(
            pk.to_string(),
            Memo {
                count,
                useful_until_ms: window.end_ms(),
            },
        );
    }

    fn memo_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Memo>> {
        // The map is consistent between statements, so a panic elsewhere while holding it leaves nothing half-done.
        self.memo.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hits(&self, pk: &str, item: &HashMap<String, AttributeValue>) -> Result<u64, RateLimitError> {
        match item.get(HITS) {
            Some(AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            RateLimitError::Unavailable(format!(
                "counter `{pk}` in `{}` has no whole-number `{HITS}`",
                self.table
            ))
        })
    }

    /// `Err` at once while DynamoDB is held as not answering.
    fn not_held(&self) -> Result<(), RateLimitError> {
        self.hold.check().map_err(|left| {
            RateLimitError::Unavailable(format!(
                "`{}` did not answer lately; not asked again for another {} ms",
                self.table,
                left.as_millis()
            ))
        })
    }

    fn unavailable<E>(
        &self,
        op: &str,
        pk: &str,
        e: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> RateLimitError
    where
        E: std::error::Error + 'static,
    {
        self.hold.record(e);
        // The SDK's chain carries the service's error code and message, or the transport failure: enough to tell
        // throttling from a missing table.
        RateLimitError::Unavailable(format!(
            "{op} of `{pk}` in `{}` failed: {}",
            self.table,
            crate::sdk_error_text(e)
        ))
    }
}

/// Where `now` falls among the fixed windows of one length.
#[derive(Debug, Clone, Copy)]
struct Window {
    len_ms: i64,
    index: i64,
    elapsed_ms: i64,
}

impl Window {
    fn at(len: Duration, now_ms: i64) -> Self {
        // A zero-length window would divide by zero; a millisecond is the finest time we are given.
        let len_ms = i64::try_from(len.as_millis()).unwrap_or(i64::MAX).max(1);
        Window {
            len_ms,
            index: now_ms.div_euclid(len_ms),
            elapsed_ms: now_ms.rem_euclid(len_ms),
        }
    }

    fn start_ms(&self) -> i128 {
        i128::from(self.index) * i128::from(self.len_ms)
    }

    fn now_ms(&self) -> i128 {
        self.start_ms() + i128::from(self.elapsed_ms)
    }

    fn end_ms(&self) -> i128 {
        self.start_ms() + i128::from(self.len_ms)
    }

    /// The end of the next window in epoch seconds, rounded up: the last moment this window's count is read.
    fn expires_at(&self) -> i64 {
        let end_ms = self.end_ms() + i128::from(self.len_ms);
        let secs = end_ms.div_euclid(1000) + i128::from(end_ms.rem_euclid(1000) > 0);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

/// The decision for a request that made the current window's count `current`, given the previous window's `previous`.
/// All in integers scaled by the window length in milliseconds, so there is no rounding to argue about.
fn decide(max: u32, window: &Window, current: u64, previous: u64) -> Decision {
    let limit = u128::from(max);
    let len = window.len_ms as u128;
    let elapsed = window.elapsed_ms as u128;
    let (c, p) = (u128::from(current), u128::from(previous));
    let to_window_end = len - elapsed;

    // estimate × len = c·len + p·(len − elapsed)
    let used = c * len + p * to_window_end;
    let allowed = used <= limit * len;
    let remaining = u32::try_from((limit * len).saturating_sub(used) / len).unwrap_or(max);

    let retry_after_ms = (!allowed).then(|| retry_after_ms(limit, len, elapsed, c, p));
    let reset_after_ms = retry_after_ms.map_or(to_window_end, |r| r.max(to_window_end));
    Decision {
        allowed,
        limit: max,
        remaining,
        reset_after: millis(reset_after_ms),
        retry_after: retry_after_ms.map(millis),
    }
}

/// Milliseconds from now until a request (the next count, `c + 1`) would be allowed if nothing else were sent first.
/// Only called when the current request was denied.
fn retry_after_ms(limit: u128, len: u128, elapsed: u128, c: u128, p: u128) -> u128 {
    if limit == 0 {
        // Nothing is ever allowed; one window is as good an answer as any, and keeps clients from hammering.
        return len;
    }
    // Later in this window, at offset e: (c + 1)·len + p·(len − e) ≤ limit·len, i.e. len − e ≤ (limit − c − 1)·len / p.
    // Denied now means (limit − c − 1) < p, so the quotient is below len; zero means not in this window.
    if c < limit && p > 0 {
        let decayed_enough = (limit - c - 1) * len / p;
        if decayed_enough > 0 {
            return len - decayed_enough - elapsed;
        }
    }
    // In the next window, at offset e, where this window's count is the previous one and the request is the first:
    // len + c·(len − e) ≤ limit·len, i.e. len − e ≤ (limit − 1)·len / c. At worst e = len: the window after.
    let offset = len.saturating_sub((limit - 1) * len / c.max(1));
    (len - elapsed) + offset
}

fn millis(ms: u128) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The ERP sync's shared pacing.
impl supply_sync::Permits for RateLimiter {
    async fn acquire(&self, key: &str, max: u32, window: Duration, now_ms: i64) -> anyhow::Result<Option<Duration>> {
        Ok(RateLimiter::acquire(self, key, Limit { max, window }, now_ms).await?)
    }
}

#[cfg(test)]
mod tests {
    //! The decision's arithmetic, without DynamoDB: a simulated counter store replays request patterns and checks
    //! the guarantees the module documentation states.
    use super::*;

    struct Sim {
        max: u32,
        len_ms: i64,
        counts: HashMap<i64, u64>,
        allowed_at: Vec<i64>,
    }

    impl Sim {
        fn new(max: u32, len_ms: i64) -> Self {
            Sim {
                max,
                len_ms,
                counts: HashMap::new(),
                allowed_at: Vec::new(),
            }
        }

        fn check(&mut self, now_ms: i64) -> Decision {
            let window = Window::at(Duration::from_millis(self.len_ms as u64), now_ms);
            let previous = self.counts.get(&(window.index - 1)).copied().unwrap_or(0);
            let current = self.counts.entry(window.index).or_insert(0);
            *current += 1;
            let d = decide(self.max, &window, *current, previous);
            if d.allowed {
                self.allowed_at.push(now_ms);
            }
            d
        }

        fn most_allowed_in_any_span(&self) -> usize {
            let mut most = 0;
            for (i, start) in self.allowed_at.iter().enumerate() {
                let n = self.allowed_at[i..]
                    .iter()
                    .take_while(|t| **t < start + self.len_ms)
                    .count();
                most = most.max(n);
            }
            most
        }

        fn most_allowed_in_any_fixed_window(&self) -> usize {
            let mut per = HashMap::<i64, usize>::new();
            for t in &self.allowed_at {
                *per.entry(t.div_euclid(self.len_ms)).or_default() += 1;
            }
            per.into_values().max().unwrap_or(0)
        }
    }

    /// A small deterministic generator, so a failure replays.
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn random_traffic_never_beats_the_documented_bounds() {
        let mut seed = 7;
        for _ in 0..300 {
            let max = (lcg(&mut seed) % 12) as u32 + 1;
            let len_ms = (lcg(&mut seed) % 5000) as i64 + 10;
            let mut sim = Sim::new(max, len_ms);
            let mut now = 1_700_000_000_000 + (lcg(&mut seed) % 10_000) as i64;
            for _ in 0..400 {
                // Bursts (no time passing) mixed with gaps up to two windows.
                if !lcg(&mut seed).is_multiple_of(3) {
                    now += (lcg(&mut seed) % (2 * len_ms as u64)) as i64 / (1 + (lcg(&mut seed) % 20) as i64);
                }
                sim.check(now);
            }
            assert!(sim.most_allowed_in_any_fixed_window() <= max as usize);
            assert!(
                sim.most_allowed_in_any_span() < 2 * max as usize,
                "max {max}, window {len_ms}"
            );
        }
    }

    #[test]
    fn the_worst_case_burst_pair_approaches_twice_the_limit() {
        let mut sim = Sim::new(10, 1000);
        for _ in 0..10 {
            assert!(sim.check(999).allowed);
        }
        // Late in the next window the previous burst weighs little: at 900 ms it is worth 1.
        for _ in 0..9 {
            assert!(sim.check(1900).allowed);
        }
        assert!(!sim.check(1900).allowed);
        assert_eq!(sim.most_allowed_in_any_span(), 19);
    }

    #[test]
    fn waiting_exactly_retry_after_is_enough_and_a_millisecond_less_is_not() {
        let mut seed = 11;
        for _ in 0..2000 {
            let max = (lcg(&mut seed) % 8) as u32 + 1;
            let len_ms = (lcg(&mut seed) % 3000) as i64 + 1;
            let mut sim = Sim::new(max, len_ms);
            let mut now = (lcg(&mut seed) % 100_000) as i64;
            let denied = loop {
                let d = sim.check(now);
                if !d.allowed {
                    break d;
                }
                now += (lcg(&mut seed) % (len_ms as u64 / 2 + 1)) as i64;
            };
            let wait = denied
                .retry_after
                .expect("denied decisions say when to retry")
                .as_millis() as i64;
            assert!(wait > 0);
            assert!(denied.reset_after.as_millis() as i64 >= wait);
            let (mut early, mut on_time) = (
                Sim {
                    counts: sim.counts.clone(),
                    ..Sim::new(max, len_ms)
                },
                sim,
            );
            assert!(
                on_time.check(now + wait).allowed,
                "max {max}, window {len_ms}, wait {wait}"
            );
            assert!(
                !early.check(now + wait - 1).allowed,
                "max {max}, window {len_ms}, wait {wait}"
            );
        }
    }

    #[test]
    fn a_limit_of_zero_admits_nothing_and_says_to_wait_a_window() {
        let mut sim = Sim::new(0, 1000);
        let d = sim.check(250);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.retry_after, Some(Duration::from_millis(1000)));
    }

    #[test]
    fn expiry_is_the_end_of_the_next_window_rounded_up_to_a_second() {
        let w = Window::at(Duration::from_millis(1500), 1600);
        assert_eq!((w.index, w.elapsed_ms), (1, 100));
        assert_eq!(w.expires_at(), 5); // windows 1 and 2 end at 4500 ms
    }
}
