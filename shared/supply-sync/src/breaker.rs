//! The ERP circuit breaker's policy: when to call, when to send a single probe, when to refuse without calling.
//!
//! Pure and storage-agnostic. Every instance shares one [`BreakerState`], kept elsewhere as a versioned item
//! written compare-and-set (CAS); here are only the transitions, functions of (state, event, now). Times are epoch
//! milliseconds passed in by the caller, so the state serialises as plain numbers and the tests need no clock.
//!
//! ```text
//!            failure_threshold consecutive failures
//!   Closed ───────────────────────────────────────▶ Open ◀──────────── probe failed ──┐
//!     ▲                                              │ cool_down passed: one caller    │
//!     │                                              ▼ wins Open → HalfOpen (CAS)      │
//!     └──────────────── probe succeeded ───────── HalfOpen ─────────────────────────────┘
//!                                                    │ probe silent for probe_timeout:
//!                                                    └─▶ as Open past cool_down (next CAS winner probes)
//! ```
//!
//! How a caller uses it:
//! 1. Read the state and its version; call [`BreakerState::admit`].
//! 2. [`Admission::Reject`]: do not call the ERP. [`Admission::Call`]: call. [`Admission::Probe`]: first write the
//!    returned state, CAS on the version read. Only the winner calls; a loser treats itself as rejected (the
//!    winner is the probe), which is what makes the probe single.
//! 3. Report the outcome: read again, write [`BreakerState::on_success`] or [`BreakerState::on_failure`] with CAS,
//!    and on a lost CAS decide again from the fresh read (or let it go: another instance's state is as good).
//!
//! What counts as a failure is the caller's call; the intent is the retryable [`ErpError`](crate::ErpError)s.
//! A [`ErpError::Rejected`](crate::ErpError::Rejected) means the ERP answered, so it counts as a success.
//!
//! Clocks: instances' clocks differ a little. A timestamp in the future (a fast clock wrote it) is treated as "just
//! now", so skew delays a probe by at most the skew and never makes one early.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The policy's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker; 0 behaves as 1.
    pub failure_threshold: u32,
    /// How long an open breaker refuses before it lets one probe through.
    pub cool_down: Duration,
    /// How long a probe may go unreported before another caller may probe instead: a probe whose instance crashed
    /// (or hung) must not keep the breaker half-open forever. Set it above the ERP client's timeout.
    pub probe_timeout: Duration,
}

/// The shared state. Serialises as `{"state": "closed", "consecutive_failures": 0}`, `{"state": "open",
/// "opened_at_ms": …}` or `{"state": "half_open", "probe_started_ms": …}`; a bare `{"state": "closed"}` reads
/// as no failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through; failures in a row are counted.
    Closed {
        #[serde(default)]
        consecutive_failures: u32,
    },
    /// Calls are refused until `cool_down` after `opened_at_ms`.
    Open { opened_at_ms: i64 },
    /// One probe is calling, since `probe_started_ms`; everyone else is refused.
    HalfOpen { probe_started_ms: i64 },
}

/// What [`BreakerState::admit`] lets a caller do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Call the ERP, then report the outcome.
    Call,
    /// You are the single probe: write the returned state (CAS) first; if that wins, call, then report.
    Probe,
    /// Do not call; the breaker may let something through after `retry_after`.
    Reject { retry_after: Duration },
}

impl Default for BreakerState {
    fn default() -> Self {
        BreakerState::Closed {
            consecutive_failures: 0,
        }
    }
}

impl BreakerState {
    /// Whether a call may be made now, and the state to write (CAS on the version read) before making it: `Some`
    /// only with [`Admission::Probe`].
    pub fn admit(&self, s: &BreakerSettings, now_ms: i64) -> (Admission, Option<BreakerState>) {
        let probe = || {
            (
                Admission::Probe,
                Some(BreakerState::HalfOpen {
                    probe_started_ms: now_ms,
                }),
            )
        };
        match *self {
            BreakerState::Closed { .. } => (Admission::Call, None),
            BreakerState::Open { opened_at_ms } => match remaining(s.cool_down, opened_at_ms, now_ms) {
                None => probe(),
                Some(retry_after) => (Admission::Reject { retry_after }, None),
            },
            // A probe silent for probe_timeout is presumed dead: the state counts as Open past its cool-down.
            BreakerState::HalfOpen { probe_started_ms } => match remaining(s.probe_timeout, probe_started_ms, now_ms) {
                None => probe(),
                Some(retry_after) => (Admission::Reject { retry_after }, None),
            },
        }
    }

    /// The state after a call (or the probe) succeeded: closed, with no failures counted.
    pub fn on_success(&self) -> BreakerState {
        BreakerState::default()
    }

    /// The state after a call failed. Closed counts it and opens at the threshold; HalfOpen (the probe failed)
    /// opens again, starting a new cool-down; Open stays as it is, so late failures of calls admitted before it
    /// opened do not push the probe further away.
    pub fn on_failure(&self, s: &BreakerSettings, now_ms: i64) -> BreakerState {
        match *self {
            BreakerState::Closed { consecutive_failures } => {
                let failures = consecutive_failures.saturating_add(1);
                if failures >= s.failure_threshold.max(1) {
                    BreakerState::Open { opened_at_ms: now_ms }
                } else {
                    BreakerState::Closed {
                        consecutive_failures: failures,
                    }
                }
            }
            BreakerState::HalfOpen { .. } => BreakerState::Open { opened_at_ms: now_ms },
            BreakerState::Open { opened_at_ms } => BreakerState::Open { opened_at_ms },
        }
    }
}

/// Time left of `period` started at `since_ms`, or `None` once it has passed. A `since_ms` in the future (clock
/// skew) counts as now.
fn remaining(period: Duration, since_ms: i64, now_ms: i64) -> Option<Duration> {
    let elapsed = u64::try_from(now_ms.saturating_sub(since_ms)).unwrap_or(0);
    let elapsed = Duration::from_millis(elapsed);
    if elapsed >= period {
        None
    } else {
        Some(period - elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SETTINGS: BreakerSettings = BreakerSettings {
        failure_threshold: 3,
        cool_down: Duration::from_secs(30),
        probe_timeout: Duration::from_secs(10),
    };
    const T0: i64 = 1_800_000_000_000;

    fn closed(n: u32) -> BreakerState {
        BreakerState::Closed {
            consecutive_failures: n,
        }
    }

    fn open(at: i64) -> BreakerState {
        BreakerState::Open { opened_at_ms: at }
    }

    fn half_open(at: i64) -> BreakerState {
        BreakerState::HalfOpen { probe_started_ms: at }
    }

    fn reject(ms: u64) -> (Admission, Option<BreakerState>) {
        (
            Admission::Reject {
                retry_after: Duration::from_millis(ms),
            },
            None,
        )
    }

    #[test]
    fn a_closed_breaker_lets_calls_through_without_a_write() {
        assert_eq!(closed(0).admit(&SETTINGS, T0), (Admission::Call, None));
        assert_eq!(closed(2).admit(&SETTINGS, T0), (Admission::Call, None));
    }

    #[test]
    fn failures_are_counted_and_the_threshold_th_opens_it() {
        let once = closed(0).on_failure(&SETTINGS, T0);
        assert_eq!(once, closed(1));
        let twice = once.on_failure(&SETTINGS, T0 + 1);
        assert_eq!(twice, closed(2));
        assert_eq!(twice.on_failure(&SETTINGS, T0 + 2), open(T0 + 2));
    }

    #[test]
    fn a_success_forgets_earlier_failures() {
        assert_eq!(closed(2).on_success(), closed(0));
    }

    #[test]
    fn a_threshold_of_zero_opens_on_the_first_failure() {
        let s = BreakerSettings {
            failure_threshold: 0,
            ..SETTINGS
        };
        assert_eq!(closed(0).on_failure(&s, T0), open(T0));
    }

    #[test]
    fn an_open_breaker_rejects_until_the_cool_down_has_passed() {
        assert_eq!(open(T0).admit(&SETTINGS, T0), reject(30_000));
        assert_eq!(open(T0).admit(&SETTINGS, T0 + 29_999), reject(1));
    }

    #[test]
    fn once_cool_down_has_passed_the_admitted_caller_must_write_half_open_to_probe() {
        assert_eq!(
            open(T0).admit(&SETTINGS, T0 + 30_000),
            (Admission::Probe, Some(half_open(T0 + 30_000)))
        );
    }

    #[test]
    fn while_the_probe_runs_everyone_else_is_rejected_until_it_would_time_out() {
        assert_eq!(half_open(T0).admit(&SETTINGS, T0 + 4_000), reject(6_000));
    }

    #[test]
    fn a_probe_that_succeeds_closes_the_breaker() {
        assert_eq!(half_open(T0).on_success(), closed(0));
    }

    #[test]
    fn a_probe_that_fails_opens_it_again_with_a_fresh_cool_down() {
        let reopened = half_open(T0).on_failure(&SETTINGS, T0 + 2_000);
        assert_eq!(reopened, open(T0 + 2_000));
        assert_eq!(reopened.admit(&SETTINGS, T0 + 31_999), reject(1));
    }

    #[test]
    fn late_failures_do_not_push_an_open_breakers_probe_further_away() {
        assert_eq!(open(T0).on_failure(&SETTINGS, T0 + 20_000), open(T0));
    }

    #[test]
    fn a_crashed_probe_does_not_wedge_the_breaker() {
        // The probe wrote HalfOpen and was never heard of again.
        let wedged = half_open(T0);
        assert_eq!(wedged.admit(&SETTINGS, T0 + 9_999), reject(1));
        assert_eq!(
            wedged.admit(&SETTINGS, T0 + 10_000),
            (Admission::Probe, Some(half_open(T0 + 10_000)))
        );
    }

    #[test]
    fn a_timestamp_from_a_fast_clock_counts_as_now() {
        assert_eq!(open(T0 + 5_000).admit(&SETTINGS, T0), reject(30_000));
        assert_eq!(half_open(T0 + 5_000).admit(&SETTINGS, T0), reject(10_000));
    }

    #[test]
    fn the_state_serialises_tagged_and_snake_case() {
        let cases = [
            (closed(2), json!({"state": "closed", "consecutive_failures": 2})),
            (open(T0), json!({"state": "open", "opened_at_ms": T0})),
            (half_open(T0), json!({"state": "half_open", "probe_started_ms": T0})),
        ];
        for (state, wire) in cases {
            assert_eq!(serde_json::to_value(&state).unwrap(), wire);
            assert_eq!(serde_json::from_value::<BreakerState>(wire).unwrap(), state);
        }
        assert_eq!(
            serde_json::from_str::<BreakerState>(r#"{"state":"closed"}"#).unwrap(),
            closed(0)
        );
        assert!(serde_json::from_str::<BreakerState>(r#"{"state":"ajar"}"#).is_err());
    }

    /// The shared item: a state and a version that every successful write bumps.
    struct Store {
        state: BreakerState,
        version: u64,
    }

    impl Store {
        fn compare_and_set(&mut self, expected: u64, next: BreakerState) -> bool {
            if self.version != expected {
                return false;
            }
            self.state = next;
            self.version += 1;
            true
        }
    }

    /// One caller's step: read the shared item (possibly long before using it), or admit from what it last read.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Read(usize),
        Admit(usize),
    }

    fn step() -> impl Strategy<Value = (Step, u64)> {
        (
            prop_oneof![(0..8usize).prop_map(Step::Read), (0..8usize).prop_map(Step::Admit)],
            0..2_000u64,
        )
    }

    fn any_state() -> impl Strategy<Value = BreakerState> {
        prop_oneof![
            any::<u32>().prop_map(closed),
            (-1_000_000i64..1_000_000).prop_map(|t| open(T0 + t)),
            (-1_000_000i64..1_000_000).prop_map(|t| half_open(T0 + t)),
        ]
    }

    /// When the state's clock started (for Closed, which has none, any time will do).
    fn since(state: &BreakerState) -> i64 {
        match *state {
            BreakerState::Closed { .. } => T0,
            BreakerState::Open { opened_at_ms } => opened_at_ms,
            BreakerState::HalfOpen { probe_started_ms } => probe_started_ms,
        }
    }

    proptest! {
        /// Eight callers read and admit in any interleaving, with reads as stale as you like, from an open breaker
        /// through its cool-down and up to (not past) the probe's timeout: never more than one probe.
        #[test]
        fn only_one_probe_per_cool_down(steps in proptest::collection::vec(step(), 1..60)) {
            let mut store = Store { state: open(T0), version: 1 };
            let mut seen: Vec<Option<(u64, BreakerState)>> = vec![None; 8];
            let mut now = T0 + 29_000;
            let mut probes = 0;
            let mut first_probe_at = None;
            for (step, advance) in steps {
                now += i64::try_from(advance).unwrap();
                // Stay within one probe's lifetime: after it, a second probe is allowed (and tested elsewhere).
                if first_probe_at.is_some_and(|t| now >= t + 10_000) {
                    break;
                }
                match step {
                    Step::Read(c) => seen[c] = Some((store.version, store.state.clone())),
                    Step::Admit(c) => {
                        let Some((version, state)) = seen[c].clone() else { continue };
                        if let (Admission::Probe, Some(next)) = state.admit(&SETTINGS, now) {
                            if store.compare_and_set(version, next) {
                                probes += 1;
                                first_probe_at.get_or_insert(now);
                            }
                        }
                    }
                }
            }
            prop_assert!(probes <= 1, "{probes} probes in one cool-down");
        }

        /// However many read the same open state past its cool-down, exactly one of them wins the CAS and probes;
        /// the others lose it and count as rejected.
        #[test]
        fn of_callers_racing_from_the_same_read_exactly_one_probes(
            callers in 1usize..16,
            times in proptest::collection::vec(30_000i64..39_999, 16),
        ) {
            let mut store = Store { state: open(T0), version: 7 };
            let (version, state) = (store.version, store.state.clone());
            let mut probes = 0;
            for at in times.iter().take(callers) {
                let (admission, write) = state.admit(&SETTINGS, T0 + at);
                prop_assert_eq!(admission, Admission::Probe);
                if store.compare_and_set(version, write.unwrap()) {
                    probes += 1;
                }
            }
            prop_assert_eq!(probes, 1);
            // Whoever reads afterwards sees the probe and is rejected.
            let after = store.state.admit(&SETTINGS, T0 + 39_999).0;
            prop_assert!(matches!(after, Admission::Reject { .. }), "{after:?}");
        }

        /// From any state, whatever crashed or hung, someone is let through once the cool-down and the probe
        /// timeout have both passed.
        #[test]
        fn no_state_refuses_forever(state in any_state(), wait_ms in 0i64..100_000) {
            let now = since(&state) + 30_000 + wait_ms;
            let (admission, _) = state.admit(&SETTINGS, now);
            prop_assert!(matches!(admission, Admission::Call | Admission::Probe), "{state:?} {admission:?}");
        }

        /// A rejection's `retry_after` is exact: one millisecond earlier it still rejects, at it something passes.
        #[test]
        fn retry_after_is_when_the_breaker_lets_something_through(state in any_state(), elapsed in 0i64..50_000) {
            let now = since(&state) + elapsed;
            if let (Admission::Reject { retry_after }, None) = state.admit(&SETTINGS, now) {
                let later = now + i64::try_from(retry_after.as_millis()).unwrap();
                prop_assert_eq!(state.admit(&SETTINGS, later).0, Admission::Probe);
                let before = state.admit(&SETTINGS, later - 1).0;
                prop_assert!(matches!(before, Admission::Reject { .. }), "{before:?}");
            }
        }

        /// From closed, `k` failures in a row stay closed below the threshold and open at it, stamped with the
        /// failure that crossed it; later failures leave that stamp alone.
        #[test]
        fn consecutive_failures_open_at_exactly_the_threshold(threshold in 1u32..10, k in 0u32..20) {
            let s = BreakerSettings { failure_threshold: threshold, ..SETTINGS };
            let mut state = closed(0);
            for i in 0..k {
                state = state.on_failure(&s, T0 + i64::from(i));
            }
            if k < threshold {
                prop_assert_eq!(state, closed(k));
            } else {
                prop_assert_eq!(state, open(T0 + i64::from(threshold - 1)));
            }
        }

        /// Success closes from every state.
        #[test]
        fn success_always_closes(state in any_state()) {
            prop_assert_eq!(state.on_success(), closed(0));
        }
    }
}
