//! The fault switches and the rule that turns `error_rate` into a repeatable pattern of failures.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// How the fake misbehaves. All off by default: a well-behaved ERP.
///
/// The API calls (`/api/v1/...`) obey these; the admin API (`/_fake/...`) never does, so a test can always turn
/// a fault off again.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switches {
    /// Added to every API reply, failures included.
    pub latency_ms: u64,
    /// The fraction of API calls, 0.0 to 1.0, that answer 500. Deterministic: see [`fails`].
    pub error_rate: f64,
    /// Every API call answers 503.
    pub outage: bool,
    /// Every API reply takes this much longer still: set it above a client's timeout to make the client give up.
    /// The request is processed before the wait, as by an ERP that commits and then stalls, so an order sent while
    /// slow is received even though its sender saw a timeout.
    pub slow_ms: u64,
    /// Successful API calls answer 200/201 with a JSON body that is not the documented shape. The request is still
    /// processed: an order sent while malformed is received.
    pub malformed: bool,
}

/// A partial update of [`Switches`]: absent fields keep their value. The body of `POST /_fake/switches`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchesUpdate {
    pub latency_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub outage: Option<bool>,
    pub slow_ms: Option<u64>,
    pub malformed: Option<bool>,
}

/// A switch value the fake cannot honour.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidSwitch(pub String);

impl fmt::Display for InvalidSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidSwitch {}

impl Switches {
    /// These switches with `update` applied, or Err (and nothing changed) when a value is out of range.
    pub fn with(self, update: SwitchesUpdate) -> Result<Switches, InvalidSwitch> {
        if let Some(rate) = update.error_rate {
            // NaN fails both comparisons, so it is refused here too.
            if !(0.0..=1.0).contains(&rate) {
                return Err(InvalidSwitch(format!(
                    "error_rate must be between 0.0 and 1.0, not {rate}"
                )));
            }
        }
        Ok(Switches {
            latency_ms: update.latency_ms.unwrap_or(self.latency_ms),
            error_rate: update.error_rate.unwrap_or(self.error_rate),
            outage: update.outage.unwrap_or(self.outage),
            slow_ms: update.slow_ms.unwrap_or(self.slow_ms),
            malformed: update.malformed.unwrap_or(self.malformed),
        })
    }

    /// How long an API reply is held back: `latency_ms + slow_ms`.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.latency_ms.saturating_add(self.slow_ms))
    }
}

/// `error_rate` in parts per million, so the failure rule is integer arithmetic and cannot drift with float
/// rounding.
pub(crate) fn rate_ppm(rate: f64) -> u64 {
    // `with` keeps the rate within 0.0..=1.0, so the product is within 0..=1e6 and the cast is exact after
    // rounding.
    (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u64
}

/// Whether the `n`-th counted API call (1-based) fails at a rate of `ppm` parts per million.
///
/// The rule: call `n` fails when `⌊n·r⌋ > ⌊(n−1)·r⌋`. Exactly `⌊n·r⌋` of the first `n` calls fail, spread as
/// evenly as possible, and the pattern is the same on every run: at 0.5 the 2nd, 4th, 6th… call fails; at 0.25 the
/// 4th, 8th…; at 1/3 (333 334 ppm) the 3rd, 6th…; at 1.0 every call; at 0.0 none.
///
/// Calls are counted from the last time `error_rate` was set (or the fake was reset), and only calls that get past
/// `outage` are counted.
pub fn fails(n: u64, ppm: u64) -> bool {
    if n == 0 {
        return false;
    }
    let n = u128::from(n);
    let ppm = u128::from(ppm);
    n * ppm / 1_000_000 > (n - 1) * ppm / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(rate: f64, calls: u64) -> Vec<u64> {
        (1..=calls).filter(|n| fails(*n, rate_ppm(rate))).collect()
    }

    #[test]
    fn half_fails_every_second_call() {
        assert_eq!(failing(0.5, 8), vec![2, 4, 6, 8]);
    }

    #[test]
    fn a_quarter_fails_every_fourth_call() {
        assert_eq!(failing(0.25, 12), vec![4, 8, 12]);
    }

    #[test]
    fn the_extremes_fail_always_and_never() {
        assert_eq!(failing(1.0, 5), vec![1, 2, 3, 4, 5]);
        assert!(failing(0.0, 1_000).is_empty());
    }

    #[test]
    fn exactly_floor_n_times_rate_of_the_first_n_calls_fail() {
        for rate in [0.1, 0.3, 0.7, 0.01, 0.999] {
            let got = failing(rate, 1_000).len() as u64;
            assert_eq!(got, 1_000 * rate_ppm(rate) / 1_000_000, "rate {rate}");
        }
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let before = Switches {
            latency_ms: 5,
            ..Switches::default()
        };
        let after = before
            .with(SwitchesUpdate {
                outage: Some(true),
                ..SwitchesUpdate::default()
            })
            .unwrap();
        assert_eq!(
            after,
            Switches {
                latency_ms: 5,
                outage: true,
                ..Switches::default()
            }
        );
    }

    #[test]
    fn an_error_rate_outside_zero_to_one_is_refused() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let update = SwitchesUpdate {
                error_rate: Some(bad),
                ..SwitchesUpdate::default()
            };
            assert!(Switches::default().with(update).is_err(), "{bad}");
        }
    }
}
