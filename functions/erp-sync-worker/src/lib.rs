//! `erp-sync-worker`: sends paid orders, and orders confirmed on payment terms, to the legacy ERP, one message at a time, from the `erp-sync` FIFO queue
//! (grouped by order, so an order's events arrive in order).
//!
//! PostgreSQL is the ledger of what the ERP has: the queue only carries nudges. An order that
//! [must reach the ERP](orders::OrderStatus::must_reach_erp) and has not is put back on the queue by the ERP ledger
//! sweep (`outbox-relay`, every minute) until the ERP confirms it, so the queue's receive budget never has to outlast
//! an outage: the runtime is [ledger-backed](platform::sqs::SqsRuntime::with_ledger), and a message still failing
//! for a passing reason on its last receive is deleted rather than dead-lettered. The dead-letter queue holds only
//! poison, and `cargo xtask redrive` stays a tool.
//!
//! Per message:
//! 1. The body must be an outbox event; anything else is a poison message (dead-letter queue).
//! 2. Only [`SYNC_EVENTS`] are sent (a paid order, a confirmed terms order, the ledger's nudge); an order already
//!    sent (or shipped) is done, so redeliveries and nudges for an order sent meanwhile are harmless. The ERP is
//!    idempotent on the order id (its external reference) as a second line of defence.
//! 3. The shared rate limit (`erp.sync.max_per_second` across all instances, permits in DynamoDB) must allow it;
//!    a worker waits for the next second's permits, or hands the message back when the wait is long. Reserved
//!    concurrency and the event-source mapping's maximum concurrency bound the workers; the limiter bounds the rate.
//! 4. The shared circuit breaker (`erp::breaker` policy, state in DynamoDB) must admit it: when open, the ERP is
//!    not called and the message is handed back for at least the cool-down, longer on each receive
//!    ([`open_breaker_delay`]), so an outage spends few receives; after the cool-down, one probe decides.
//! 5. Success marks the order `sent_to_erp` with the ERP's number. A retryable failure counts against the breaker
//!    and the message backs off exponentially (visibility); a rejection (the ERP answered 4xx) is recorded on the
//!    order, so the ledger sweep leaves it alone, and goes to the dead-letter queue for a person to look at;
//!    `cargo xtask redrive` brings it back once fixed.
//!
//! Emits `erp_sync_error_rate` (per call, 0 or 100: its average is the error rate) and `erp_breaker_rejections`.
//! This crate must not hold SQL or call the AWS SDK directly beyond building clients.

use erp::{Admission, BreakerSettings, BreakerState, ErpClient};
use niaga_aws::ratelimit::{Limit, RateLimiter};
use niaga_aws::versioned::VersionedItems;
use orders::{OrderStatus, OrderStore, Orders, OutboxEvent};
use platform::metrics::{self, Unit};
use platform::sqs::{Backoff, Message, MessageError, MessageHandler, SqsRuntime};
use platform::{ConfigError, Env};
use serde_json::Value;
use std::time::Duration;

/// Settings read at cold start.
#[derive(Debug, Clone)]
pub struct ErpSyncConfig {
    pub erp_url: String,
    pub erp_timeout: Duration,
}

impl platform::config::FromEnv for ErpSyncConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(ErpSyncConfig {
            erp_url: env.required("NIAGA_ERP_URL")?,
            erp_timeout: Duration::from_millis(env.int_in("NIAGA_ERP_TIMEOUT_MS", 5_000, 100..=30_000)?),
        })
    }
}

/// Business settings from `system_config`.
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

/// The longest wait for the rate limit spent inside an invocation, and how many such waits one message may take.
const MAX_PACING_WAIT: Duration = Duration::from_secs(2);
const MAX_PACING_TRIES: u32 = 5;

/// The breaker's item in the breaker table.
pub const BREAKER_KEY: &str = "erp";

/// The events that ask for an order to be in the ERP: its payment, and the ERP ledger's nudge.
pub const SYNC_EVENTS: [&str; 3] = [
    OutboxEvent::PAID,
    OutboxEvent::CONFIRMED,
    OutboxEvent::ERP_SYNC_REQUESTED,
];

/// The longest an open breaker hands a message back for.
pub const MAX_OPEN_BREAKER_DELAY: Duration = Duration::from_secs(900);

/// The SQS runtime as deployed: exponential backoff, and ledger-backed, since every message is a nudge the ERP
/// ledger sweep repeats until the ERP has the order.
pub fn runtime(sqs: Option<aws_sdk_sqs::Client>) -> SqsRuntime {
    SqsRuntime::new("erp-sync-worker", sqs, Backoff::default()).with_ledger()
}

/// How long a message that met an open breaker is handed back for: at least what is left of the cool-down, and a
/// whole cool-down doubling from the message's third receive, so a long outage spends the queue's receives slowly
/// (world-facts §13: growing visibility between receives) while a short one is over by the second receive.
pub fn open_breaker_delay(s: &BreakerSettings, retry_after: Duration, receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(2).min(16);
    s.cool_down
        .saturating_mul(1u32 << doublings)
        .max(retry_after)
        .min(MAX_OPEN_BREAKER_DELAY)
}

/// The circuit breaker shared by every instance: the `erp::breaker` policy over a DynamoDB versioned item.
#[derive(Debug, Clone)]
pub struct SharedBreaker {
    items: VersionedItems,
}

impl SharedBreaker {
    pub fn new(items: VersionedItems) -> Self {
        SharedBreaker { items }
    }

    async fn read(&self) -> anyhow::Result<(BreakerState, Option<u64>)> {
        Ok(match self.items.get(BREAKER_KEY).await? {
            None => (BreakerState::default(), None),
            Some(v) => (serde_json::from_str(&v.body)?, Some(v.version)),
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
                .items
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version, None)
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
                .items
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version, None)
                .await?
            {
                return Ok(open);
            }
        }
        Ok(false)
    }
}

/// The worker.
#[derive(Debug)]
pub struct ErpSyncWorker<S, E> {
    orders: Orders<S>,
    erp: E,
    breaker: SharedBreaker,
    limiter: RateLimiter,
    settings: std::sync::Arc<platform::settings::SettingsCache>,
}

fn retry(cause: impl Into<anyhow::Error>) -> MessageError {
    MessageError::Retry {
        after: None,
        cause: cause.into(),
    }
}

fn poison(cause: impl std::fmt::Display) -> MessageError {
    MessageError::Poison(anyhow::anyhow!("{cause}"))
}

fn record(name: &'static str, value: f64, unit: Unit) {
    metrics::emit(&metrics::Record::new("erp-sync-worker").metric(name, value, unit));
}

impl<S: OrderStore, E: ErpClient + 'static> ErpSyncWorker<S, E> {
    pub fn new(
        orders: Orders<S>,
        erp: E,
        breaker: SharedBreaker,
        limiter: RateLimiter,
        settings: std::sync::Arc<platform::settings::SettingsCache>,
    ) -> Self {
        ErpSyncWorker {
            orders,
            erp,
            breaker,
            limiter,
            settings,
        }
    }

    async fn settings(&self) -> anyhow::Result<SyncSettings> {
        SyncSettings::from_config(&self.settings.ints("erp.").await?)
    }
}

impl<S: OrderStore, E: ErpClient + 'static> MessageHandler for ErpSyncWorker<S, E> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let event: Value = serde_json::from_str(&message.body).map_err(|e| poison(format!("not JSON: {e}")))?;
        let event_type = event.get("event_type").and_then(Value::as_str).unwrap_or_default();
        if !SYNC_EVENTS.contains(&event_type) {
            return Ok(());
        }
        let id = event
            .get("aggregate_id")
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| poison("`aggregate_id` is not an order id"))?;
        let order = self
            .orders
            .store()
            .order(id, None)
            .await
            .map_err(retry)?
            .ok_or_else(|| poison(format!("order {id} does not exist")))?;
        match order.status {
            OrderStatus::SentToErp | OrderStatus::PartlyShipped | OrderStatus::Fulfilled => return Ok(()),
            s if s.must_reach_erp() => {}
            // A reader behind the writer has not seen the payment yet; it will.
            OrderStatus::PendingPayment => return Err(retry(anyhow::anyhow!("order {id} is not paid yet here"))),
            other => return Err(poison(format!("order {id} is {other}, not due in the ERP"))),
        }
        let settings = self.settings().await.map_err(retry)?;
        let limit = Limit {
            max: settings.max_per_second,
            window: Duration::from_secs(1),
        };
        // Pace within the invocation when the wait is short (the rest of this second): handing the message back
        // would only bring it straight back. Permits count only what they let through, so waiting workers cannot
        // starve each other.
        let mut paced = 0;
        while let Some(wait) = self
            .limiter
            .acquire("erp-sync", limit, chrono::Utc::now().timestamp_millis())
            .await
            .map_err(retry)?
        {
            if wait > MAX_PACING_WAIT || paced >= MAX_PACING_TRIES {
                return Err(MessageError::Retry {
                    after: Some(wait.max(Duration::from_secs(1))),
                    cause: anyhow::anyhow!("ERP sync rate limit reached"),
                });
            }
            paced += 1;
            tokio::time::sleep(wait).await;
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        match self.breaker.admit(&settings.breaker, now_ms).await.map_err(retry)? {
            (Admission::Reject { retry_after }, open) => {
                record("erp_breaker_rejections", 1.0, Unit::Count);
                let after = if open {
                    open_breaker_delay(&settings.breaker, retry_after, message.receive_count)
                } else {
                    retry_after
                };
                return Err(MessageError::Retry {
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
                record("erp_sync_error_rate", 0.0, Unit::Percent);
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
                record("erp_sync_error_rate", 100.0, Unit::Percent);
                let open = self
                    .breaker
                    .report(&settings.breaker, false, now_ms)
                    .await
                    .map_err(retry)?;
                // A call that leaves the breaker open (it crossed the threshold, or was the failed probe) waits like
                // a message the open breaker refused; otherwise the usual backoff.
                Err(MessageError::Retry {
                    after: open.then(|| {
                        open_breaker_delay(&settings.breaker, settings.breaker.cool_down, message.receive_count)
                    }),
                    cause: e.into(),
                })
            }
            Err(e) => {
                // The ERP answered: it is up, so the breaker counts a success; the document needs a person, and the
                // ledger sweep must not keep sending it meanwhile.
                record("erp_sync_error_rate", 100.0, Unit::Percent);
                self.breaker
                    .report(&settings.breaker, true, now_ms)
                    .await
                    .map_err(retry)?;
                self.orders
                    .record_erp_rejection(id, &e.to_string(), chrono::Utc::now())
                    .await
                    .map_err(|e| retry(anyhow::anyhow!("{e}")))?;
                Err(MessageError::Poison(e.into()))
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
    fn an_open_breaker_hands_a_message_back_for_a_cool_down_then_twice_as_long_each_receive_up_to_a_cap() {
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
