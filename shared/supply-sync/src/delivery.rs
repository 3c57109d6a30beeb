//! Sending an order the ERP must have: the ERP sync worker's use case, one order per call.
//!
//! 1. Only an order that [must reach the ERP](orders::OrderStatus::must_reach_erp) and has not is sent; one already
//!    sent (or shipped) is done, so redeliveries and nudges for an order sent meanwhile are harmless. The ERP is
//!    idempotent on the order id (its external reference) as a second line of defence.
//! 2. The shared rate limit (`erp.sync.max_per_second` across all instances) must allow it: a short wait (the rest
//!    of this second) is spent here, a long one hands the order back.
//! 3. The shared circuit breaker ([`crate::breaker`] policy over [`VersionedState`]) must admit it: when open, the
//!    ERP is not called and the order is handed back for at least the cool-down, longer on each attempt
//!    ([`open_breaker_delay`]), so an outage spends few attempts; after the cool-down, one probe decides.
//! 4. Success marks the order `sent_to_erp` with the ERP's number. A retryable failure counts against the breaker
//!    and backs off; a rejection (the ERP answered 4xx) is recorded on the order, so the ERP ledger sweep leaves it
//!    alone, and is reported as needing a person.

use crate::breaker::{Admission, BreakerSettings, BreakerState};
use crate::ports::{Permits, VersionedState};
use crate::ErpClient;
use kernel::EventType;
use orders::{OrderStatus, OrderStore, Orders};
use settings::SettingsSource;
use std::future::Future;
use std::time::Duration;
use uuid::Uuid;

/// Business settings from `system_config` (`erp.*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncSettings {
    pub breaker: BreakerSettings,
    pub max_per_second: u32,
}

impl SyncSettings {
    pub fn from_config(v: &std::collections::BTreeMap<String, i64>) -> anyhow::Result<SyncSettings> {
        let get = |k: &str| -> anyhow::Result<u64> {
            v.get(k)
                .and_then(|n| u64::try_from(*n).ok())
                .ok_or_else(|| anyhow::anyhow!("system_config `{k}` is missing or negative"))
        };
        Ok(SyncSettings {
            breaker: BreakerSettings {
                failure_threshold: u32::try_from(get("erp.breaker.failure_threshold")?)?,
                cool_down: Duration::from_secs(get("erp.breaker.cool_down_seconds")?),
                probe_timeout: Duration::from_secs(get("erp.breaker.probe_timeout_seconds")?),
            },
            max_per_second: u32::try_from(get("erp.sync.max_per_second")?)?,
        })
    }
}

/// The longest wait for the rate limit spent inside one attempt, and how many such waits one attempt may take.
const MAX_PACING_WAIT: Duration = Duration::from_secs(2);
const MAX_PACING_TRIES: u32 = 5;

/// The breaker's document in the shared state.
pub const BREAKER_KEY: &str = "erp";

/// The permits' key in the shared rate limit.
pub const PERMITS_KEY: &str = "erp-sync";

/// The events that ask for an order to be in the ERP: its payment, its confirmation on terms, and the ERP ledger's
/// nudge.
pub const SYNC_EVENTS: [EventType; 3] = [
    EventType::OrderPaid,
    EventType::OrderConfirmed,
    EventType::OrderErpSyncRequested,
];

/// The longest an open breaker hands an order back for.
pub const MAX_OPEN_BREAKER_DELAY: Duration = Duration::from_secs(900);

/// How long an order that met an open breaker is handed back for: at least what is left of the cool-down, and a
/// whole cool-down doubling from the third attempt, so a long outage spends the queue's receives slowly
/// (world-facts §13: growing visibility between receives) while a short one is over by the second attempt.
pub fn open_breaker_delay(s: &BreakerSettings, retry_after: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(2).min(16);
    s.cool_down
        .saturating_mul(1u32 << doublings)
        .max(retry_after)
        .min(MAX_OPEN_BREAKER_DELAY)
}

/// The circuit breaker shared by every instance: the [`crate::breaker`] policy over a [`VersionedState`] document.
#[derive(Debug, Clone)]
pub struct SharedBreaker<V> {
    state: V,
}

impl<V: VersionedState> SharedBreaker<V> {
    pub fn new(state: V) -> Self {
        SharedBreaker { state }
    }

    async fn read(&self) -> anyhow::Result<(BreakerState, Option<u64>)> {
        Ok(match self.state.get(BREAKER_KEY).await? {
            None => (BreakerState::default(), None),
            Some((body, version)) => (serde_json::from_str(&body)?, Some(version)),
        })
    }

    /// The current state (for health and tests).
    pub async fn state(&self) -> anyhow::Result<BreakerState> {
        Ok(self.read().await?.0)
    }

    /// May this call go to the ERP? A probe is granted only to the instance that wins the Open → HalfOpen write.
    /// Also says whether the breaker is open (refusing until its cool-down ends) rather than probing.
    pub async fn admit(&self, s: &BreakerSettings, now_ms: i64) -> anyhow::Result<(Admission, bool)> {
        let (state, version) = self.read().await?;
        let (admission, write) = state.admit(s, now_ms);
        if let Some(next) = write {
            if !self
                .state
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version)
                .await?
            {
                // Another instance is the probe: its answer comes within moments.
                return Ok((
                    Admission::Reject {
                        retry_after: Duration::from_secs(1),
                    },
                    false,
                ));
            }
        }
        Ok((admission, matches!(state, BreakerState::Open { .. })))
    }

    /// Records a call's outcome; a lost write is retried from a fresh read a few times, then let go (another
    /// instance's outcome is as current as ours). Says whether the breaker is open after it.
    pub async fn report(&self, s: &BreakerSettings, success: bool, now_ms: i64) -> anyhow::Result<bool> {
        for _ in 0..3 {
            let (state, version) = self.read().await?;
            let next = if success {
                state.on_success()
            } else {
                state.on_failure(s, now_ms)
            };
            let open = matches!(next, BreakerState::Open { .. });
            if next == state {
                return Ok(open);
            }
            if self
                .state
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version)
                .await?
            {
                return Ok(open);
            }
        }
        Ok(false)
    }
}

/// Why an order was not sent this time.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: after `after` when it says, else after the caller's usual backoff.
    #[error("{cause}")]
    Retry {
        after: Option<Duration>,
        cause: anyhow::Error,
    },
    /// Trying again cannot help: a person must look at it (the order does not exist, is not due in the ERP, or the
    /// ERP refused its document).
    #[error("{0}")]
    NeedsPerson(anyhow::Error),
}

fn retry(cause: impl Into<anyhow::Error>) -> DeliveryError {
    DeliveryError::Retry {
        after: None,
        cause: cause.into(),
    }
}

fn needs_person(cause: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::NeedsPerson(anyhow::anyhow!("{cause}"))
}

/// What the edge counts: every ERP call's outcome and every call the breaker refused.
pub trait DeliveryMetrics: Send + Sync {
    /// One call to the ERP ended; `failed` for any error, a rejection included.
    fn erp_call(&self, failed: bool);
    /// The breaker refused a call.
    fn breaker_refused(&self);
}

/// Waiting within an attempt (the runtime's timer).
pub trait Pause: Send + Sync {
    fn pause(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// The use case: sends orders to the ERP within the shared rate limit and behind the shared breaker. Built from
/// its ports, named.
#[derive(Debug)]
pub struct ErpDelivery<S, E, V, P, C, M, W> {
    pub orders: Orders<S>,
    pub erp: E,
    pub breaker: SharedBreaker<V>,
    /// The shared rate limit (`erp.sync.max_per_second` under [`PERMITS_KEY`]).
    pub permits: P,
    /// `erp.*` from `system_config`.
    pub settings: C,
    pub metrics: M,
    pub pause: W,
}

impl<S, E, V, P, C, M, W> ErpDelivery<S, E, V, P, C, M, W>
where
    S: OrderStore,
    E: ErpClient,
    V: VersionedState,
    P: Permits,
    C: SettingsSource,
    M: DeliveryMetrics,
    W: Pause,
{
    /// Sends order `id` if it is due in the ERP and not there yet. `attempt` counts from 1 (the queue's receive
    /// count), and lengthens the hand-back of an open breaker.
    pub async fn deliver(&self, id: Uuid, attempt: u32) -> Result<(), DeliveryError> {
        let order = self
            .orders
            .store()
            .order(id, None)
            .await
            .map_err(retry)?
            .ok_or_else(|| needs_person(format!("order {id} does not exist")))?;
        match order.status {
            OrderStatus::SentToErp | OrderStatus::PartlyShipped | OrderStatus::Fulfilled => return Ok(()),
            s if s.must_reach_erp() => {}
            // A reader behind the writer has not seen the payment yet; it will.
            OrderStatus::PendingPayment => return Err(retry(anyhow::anyhow!("order {id} is not paid yet here"))),
            other => return Err(needs_person(format!("order {id} is {other}, not due in the ERP"))),
        }
        let settings = SyncSettings::from_config(&self.settings.ints("erp.").await.map_err(retry)?).map_err(retry)?;
        // Pace within the attempt when the wait is short (the rest of this second): handing the order back would
        // only bring it straight back.
        let mut paced = 0;
        while let Some(wait) = self
            .permits
            .acquire(
                PERMITS_KEY,
                settings.max_per_second,
                Duration::from_secs(1),
                chrono::Utc::now().timestamp_millis(),
            )
            .await
            .map_err(retry)?
        {
            if wait > MAX_PACING_WAIT || paced >= MAX_PACING_TRIES {
                return Err(DeliveryError::Retry {
                    after: Some(wait.max(Duration::from_secs(1))),
                    cause: anyhow::anyhow!("ERP sync rate limit reached"),
                });
            }
            paced += 1;
            self.pause.pause(wait).await;
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        match self.breaker.admit(&settings.breaker, now_ms).await.map_err(retry)? {
            (Admission::Reject { retry_after }, open) => {
                self.metrics.breaker_refused();
                let after = if open {
                    open_breaker_delay(&settings.breaker, retry_after, attempt)
                } else {
                    retry_after
                };
                return Err(DeliveryError::Retry {
                    after: Some(after),
                    cause: anyhow::anyhow!("the ERP circuit breaker is open"),
                });
            }
            (Admission::Call | Admission::Probe, _) => {}
        }
        let outcome = self.erp.send_order(&order).await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        match outcome {
            Ok(delivery) => {
                self.metrics.erp_call(false);
                self.breaker
                    .report(&settings.breaker, true, now_ms)
                    .await
                    .map_err(retry)?;
                self.orders
                    .mark_sent_to_erp(id, &delivery.erp_order_no, chrono::Utc::now())
                    .await
                    .map_err(|e| retry(anyhow::anyhow!("{e}")))?;
                Ok(())
            }
            Err(e) if e.is_retryable() => {
                self.metrics.erp_call(true);
                let open = self
                    .breaker
                    .report(&settings.breaker, false, now_ms)
                    .await
                    .map_err(retry)?;
                // A call that leaves the breaker open (it crossed the threshold, or was the failed probe) waits like
                // an order the open breaker refused; otherwise the usual backoff.
                Err(DeliveryError::Retry {
                    after: open.then(|| open_breaker_delay(&settings.breaker, settings.breaker.cool_down, attempt)),
                    cause: e.into(),
                })
            }
            Err(e) => {
                // The ERP answered: it is up, so the breaker counts a success; the document needs a person, and the
                // ledger sweep must not keep sending it meanwhile.
                self.metrics.erp_call(true);
                self.breaker
                    .report(&settings.breaker, true, now_ms)
                    .await
                    .map_err(retry)?;
                self.orders
                    .record_erp_rejection(id, &e.to_string(), chrono::Utc::now())
                    .await
                    .map_err(|e| retry(anyhow::anyhow!("{e}")))?;
                Err(DeliveryError::NeedsPerson(e.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: BreakerSettings = BreakerSettings {
        failure_threshold: 5,
        cool_down: Duration::from_secs(30),
        probe_timeout: Duration::from_secs(30),
    };

    #[test]
    fn an_open_breaker_hands_an_order_back_for_a_cool_down_then_twice_as_long_each_attempt_up_to_a_cap() {
        let secs = |r| open_breaker_delay(&S, Duration::from_secs(3), r).as_secs();
        assert_eq!([secs(1), secs(2), secs(3), secs(4), secs(5)], [30, 30, 60, 120, 240]);
        assert_eq!(
            open_breaker_delay(&S, Duration::from_secs(3), u32::MAX),
            MAX_OPEN_BREAKER_DELAY
        );
        // Never sooner than the breaker itself would let anything through.
        let long = BreakerSettings {
            cool_down: Duration::from_secs(1),
            ..S
        };
        assert_eq!(
            open_breaker_delay(&long, Duration::from_secs(7), 1),
            Duration::from_secs(7)
        );
    }
}
