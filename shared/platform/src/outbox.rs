//! The outbox relay: publishes the events that writes left in the outbox table to the queues subscribed to them.
//!
//! Which queues take which events is data: niaga.json lists the `events` of each queue, and every deployment
//! (terraform, template.yaml, the local stack) hands the result to the functions as `NIAGA_OUTBOX_ROUTES`, for
//! example `{"order.paid": [{"queue": "erp-sync", "fifo": true}]}`. An event no queue subscribes to is marked
//! published without being sent.
//!
//! Two paths publish: the function that wrote the events, right after its commit ([`Relay::after_commit`], best
//! effort, never failing the request), and the `outbox-relay` schedule ([`Relay::sweep`]), which publishes anything
//! left behind whatever the writer died of. See `store::outbox` for the ordering and at-least-once rules.

use lambda_glue::env::{ConfigError, Env, FromEnv};
use niaga_aws::sqs::{Outbound, Publisher};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use store::outbox::{PendingEvent, PgOutbox, RelayReport};

/// The longest a writer waits for its after-commit publish before answering anyway (SQS unreachable, say).
pub const FAST_PATH_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// The environment variable holding the routes.
pub const ROUTES_VAR: &str = "NIAGA_OUTBOX_ROUTES";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Destination {
    pub queue: String,
    #[serde(default)]
    pub fifo: bool,
}

/// Event type → the queues it goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(BTreeMap<String, Vec<Destination>>);

impl Routes {
    pub fn parse(json: &str) -> Result<Routes, String> {
        serde_json::from_str(json)
            .map(Routes)
            .map_err(|e| format!("expected {{\"<event type>\": [{{\"queue\": \"...\", \"fifo\": bool}}]}}: {e}"))
    }

    /// Every queue any event goes to.
    pub fn queues(&self) -> BTreeSet<Destination> {
        self.0.values().flatten().cloned().collect()
    }

    pub fn destinations(&self, event_type: &str) -> &[Destination] {
        self.0.get(event_type).map_or(&[], Vec::as_slice)
    }
}

impl FromEnv for Routes {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env.optional(ROUTES_VAR) {
            None => Ok(Routes::default()),
            Some(v) => Routes::parse(&v).map_err(|problem| ConfigError {
                variable: ROUTES_VAR.into(),
                problem,
            }),
        }
    }
}

/// The message body consumers read: the event as a [`kernel::Envelope`].
pub fn message_body(e: &PendingEvent) -> String {
    // Strings, a UUID, a timestamp and a JSON value: serialising cannot fail.
    serde_json::to_string(&kernel::Envelope {
        event_id: e.event_id,
        event_type: e.event_type.clone(),
        aggregate_type: e.aggregate_type.clone(),
        aggregate_id: e.aggregate_id.clone(),
        occurred_at: e.created_at,
        payload: e.payload.clone(),
    })
    .unwrap_or_default()
}

/// Publishes pending outbox events.
#[derive(Debug, Clone)]
pub struct Relay {
    outbox: PgOutbox,
    publisher: Publisher,
    routes: Routes,
}

/// Events per claimed batch.
pub const BATCH: u32 = 100;

impl Relay {
    /// Resolves the queues the routes name (at cold start).
    pub async fn new(
        db: store::Db,
        sdk: &aws_config::SdkConfig,
        environment: &str,
        routes: Routes,
    ) -> anyhow::Result<Relay> {
        let queues = routes.queues().into_iter().map(|d| (d.queue, d.fifo));
        let publisher = Publisher::resolve(sdk, environment, queues).await?;
        Ok(Relay {
            outbox: PgOutbox::new(db),
            publisher,
            routes,
        })
    }

    async fn publish(&self, event: PendingEvent) -> anyhow::Result<()> {
        let message = Outbound {
            event_id: event.event_id.to_string(),
            event_type: event.event_type.clone(),
            group: event.aggregate_id.clone(),
            body: message_body(&event),
        };
        for d in self.routes.destinations(&event.event_type) {
            self.publisher.publish(&d.queue, &message).await?;
        }
        Ok(())
    }

    /// The fast path: publishes `aggregate`'s pending events right after the commit that wrote them. Failures are
    /// logged and left to the sweeper; the request that committed has already succeeded, so it waits at most
    /// [`FAST_PATH_BUDGET`] for SQS. Giving up drops the relay's transaction (rolled back), so an event SQS took
    /// just before is sent again by the sweeper: at least once, as consumers expect.
    pub async fn after_commit(&self, aggregate: &str) {
        let relay = self.outbox.relay(Some(aggregate), BATCH, |e| self.publish(e));
        match tokio::time::timeout(FAST_PATH_BUDGET, relay).await {
            Ok(Ok(r)) if r.failed > 0 => tracing::warn!(aggregate, failed = r.failed, "fast-path publish incomplete"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => niaga_aws::fail_open(&format!("fast-path publish of {aggregate} failed"), &format!("{e:#}")),
            Err(_) => tracing::warn!(
                aggregate,
                budget_ms = FAST_PATH_BUDGET.as_millis() as u64,
                "fast-path publish gave up; the sweeper will publish"
            ),
        }
    }

    /// The sweeper: publishes pending events in batches until none is left or `max_batches` ran.
    pub async fn sweep(&self, max_batches: usize) -> anyhow::Result<RelayReport> {
        let mut total = RelayReport::default();
        for _ in 0..max_batches {
            let r = self.outbox.relay(None, BATCH, |e| self.publish(e)).await?;
            total.published += r.published;
            total.failed += r.failed;
            if r.published == 0 {
                break;
            }
        }
        Ok(total)
    }

    pub fn outbox(&self) -> &PgOutbox {
        &self.outbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_list_their_queues_once() {
        let r = Routes::parse(
            r#"{"order.paid": [{"queue": "erp-sync", "fifo": true}, {"queue": "notifications"}],
                "order.placed": [{"queue": "notifications"}]}"#,
        )
        .unwrap();
        assert_eq!(r.queues().len(), 2);
        assert_eq!(r.destinations("order.paid").len(), 2);
        assert!(r.destinations("order.expired").is_empty());
        assert!(Routes::parse(r#"{"order.paid": "erp-sync"}"#).is_err());
    }
}
