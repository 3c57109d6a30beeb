//! `erp-sync-worker`: sends paid orders, and orders confirmed on payment terms, to the legacy ERP, one message at a time, from the `erp-sync` FIFO queue
//! (grouped by order, so an order's events arrive in order).
//!
//! Per message:
//! 1. The body must be an outbox event; anything else is a poison message (dead-letter queue).
//! 2. Only `order.paid` and `order.confirmed` are sent; an order already sent (or fulfilled) is done, so redeliveries are harmless. The
//!    ERP is idempotent on the order id (its external reference) as a second line of defence.
//! 3. The shared rate limit (`erp.sync.max_per_second` across all instances, permits in DynamoDB) must allow it;
//!    a worker waits for the next second's permits, or hands the message back when the wait is long. Reserved
//!    concurrency and the event-source mapping's maximum concurrency bound the workers; the limiter bounds the rate.
//! 4. The shared circuit breaker (`erp::breaker` policy, state in DynamoDB) must admit it: when open, the ERP is
//!    not called and the message comes back after the cool-down; after it, one probe decides.
//! 5. Success marks the order `sent_to_erp` with the ERP's number. A retryable failure counts against the breaker
//!    and the message backs off exponentially (visibility); a rejection (the ERP answered 4xx) goes to the
//!    dead-letter queue for a person to look at, and `cargo xtask redrive` brings it back once fixed.
//!
//! Emits `erp_sync_error_rate` (per call, 0 or 100: its average is the error rate) and `erp_breaker_rejections`.
//! This crate must not hold SQL or call the AWS SDK directly beyond building clients.

use erp::{Admission, BreakerSettings, BreakerState, ErpClient};
use niaga_aws::ratelimit::{Limit, RateLimiter};
use niaga_aws::versioned::VersionedItems;
use orders::{OrderStatus, OrderStore, Orders, OutboxEvent};
use platform::metrics::{self, Unit};
use platform::sqs::{Message, MessageError, MessageHandler};
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
    pub async fn admit(&self, s: &BreakerSettings, now_ms: i64) -> anyhow::Result<Admission> {
        let (state, version) = self.read().await?;
        let (admission, write) = state.admit(s, now_ms);
        if let Some(next) = write {
            if !self
                .items
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version, None)
                .await?
            {
                // Another instance is the probe.
                return Ok(Admission::Reject {
                    retry_after: Duration::from_secs(1),
                });
            }
        }
        Ok(admission)
    }

    /// Records a call's outcome; a lost write is retried from a fresh read a few times, then let go (another
    /// instance's outcome is as current as ours).
    pub async fn report(&self, s: &BreakerSettings, success: bool, now_ms: i64) -> anyhow::Result<()> {
        for _ in 0..3 {
            let (state, version) = self.read().await?;
            let next = if success {
                state.on_success()
            } else {
                state.on_failure(s, now_ms)
            };
            if next == state {
                return Ok(());
            }
            if self
                .items
                .put_if_version(BREAKER_KEY, &serde_json::to_string(&next)?, version, None)
                .await?
            {
                return Ok(());
            }
        }
        Ok(())
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
        let event_type = event.get("event_type").and_then(Value::as_str);
        if !matches!(event_type, Some(OutboxEvent::PAID | OutboxEvent::CONFIRMED)) {
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
            OrderStatus::SentToErp | OrderStatus::Fulfilled => return Ok(()),
            OrderStatus::Paid | OrderStatus::Confirmed => {}
            other => return Err(poison(format!("order {id} is {other}, neither paid nor confirmed"))),
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
            Admission::Reject { retry_after } => {
                record("erp_breaker_rejections", 1.0, Unit::Count);
                return Err(MessageError::Retry {
                    after: Some(retry_after),
                    cause: anyhow::anyhow!("the ERP circuit breaker is open"),
                });
            }
            Admission::Call | Admission::Probe => {}
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
                self.breaker
                    .report(&settings.breaker, false, now_ms)
                    .await
                    .map_err(retry)?;
                Err(retry(e))
            }
            Err(e) => {
                // The ERP answered: it is up, so the breaker counts a success; the document needs a person.
                record("erp_sync_error_rate", 100.0, Unit::Percent);
                self.breaker
                    .report(&settings.breaker, true, now_ms)
                    .await
                    .map_err(retry)?;
                Err(MessageError::Poison(e.into()))
            }
        }
    }
}
