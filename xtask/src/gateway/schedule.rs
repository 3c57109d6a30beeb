//! EventBridge schedule firing: each manifest schedule wakes at the next time its expression gives (UTC) and
//! invokes every target asynchronously with the schedule's constant `input`, or else the "Scheduled Event"
//! EventBridge would send.

use crate::cron::Schedule;
use crate::localrt::{Invocation, InvokeError, Invoker, ACCOUNT_ID, REGION};
use crate::manifest::Manifest;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::watch;

/// One manifest schedule, parsed.
#[derive(Debug, Clone)]
pub struct ScheduledRule {
    pub name: String,
    pub schedule: Schedule,
    pub targets: Vec<String>,
    pub input: Option<Value>,
    /// `arn:aws:events:us-east-1:000000000000:rule/niaga-<env>-<name>`.
    pub rule_arn: String,
}

impl ScheduledRule {
    /// Every schedule of the manifest; `rate(...)` schedules count from now.
    pub fn from_manifest(manifest: &Manifest, env: &str) -> Result<Vec<ScheduledRule>> {
        let now = Utc::now();
        manifest
            .schedules
            .iter()
            .map(|s| {
                let schedule = Schedule::parse(&s.expression)
                    .with_context(|| format!("schedule `{}`", s.name))?
                    .rate_anchor(now);
                Ok(ScheduledRule {
                    name: s.name.clone(),
                    schedule,
                    targets: s.targets.clone(),
                    input: s.input.clone(),
                    rule_arn: format!(
                        "arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{}-{env}-{}",
                        manifest.project, s.name
                    ),
                })
            })
            .collect()
    }

    /// What each target receives when the rule fires at `time`.
    pub fn payload(&self, time: DateTime<Utc>) -> Value {
        self.input
            .clone()
            .unwrap_or_else(|| scheduled_event(&self.rule_arn, time))
    }
}

/// The event EventBridge sends for a schedule without constant input.
pub fn scheduled_event(rule_arn: &str, time: DateTime<Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    })
}

/// One target's outcome of a firing.
#[derive(Debug)]
pub struct TargetResult {
    pub function: String,
    pub result: Result<Invocation, InvokeError>,
}

impl TargetResult {
    pub fn to_json(&self) -> Value {
        match &self.result {
            Ok(inv) => match &inv.response {
                Ok(response) => json!({
                    "function": self.function, "ok": true, "requestId": inv.request_id, "coldStart": inv.cold_start,
                    "durationMs": inv.duration.as_secs_f64() * 1000.0, "response": response,
                }),
                Err(error) => json!({
                    "function": self.function, "ok": false, "requestId": inv.request_id, "coldStart": inv.cold_start,
                    "durationMs": inv.duration.as_secs_f64() * 1000.0, "error": error,
                }),
            },
            Err(e) => {
                json!({"function": self.function, "ok": false, "error": {"errorType": "InvokeError", "errorMessage": e.to_string()}})
            }
        }
    }
}

/// Fires `rule` now: invokes every target concurrently and waits for all of them.
pub async fn fire(invoker: &dyn Invoker, rule: &ScheduledRule, time: DateTime<Utc>) -> Vec<TargetResult> {
    let payload = rule.payload(time);
    tracing::info!(schedule = %rule.name, targets = ?rule.targets, "firing schedule");
    let calls = rule.targets.iter().map(|target| {
        let payload = payload.clone();
        async move {
            let result = invoker.invoke(target, payload, None).await;
            log_result(&rule.name, target, &result);
            TargetResult {
                function: target.clone(),
                result,
            }
        }
    });
    futures::future::join_all(calls).await
}

fn log_result(schedule: &str, target: &str, result: &Result<Invocation, InvokeError>) {
    match result {
        Ok(inv) => match &inv.response {
            Ok(_) => {
                tracing::info!(%schedule, %target, cold = inv.cold_start, ms = inv.duration.as_millis() as u64, "schedule target ok")
            }
            Err(e) => tracing::warn!(%schedule, %target, error = %e, "schedule target failed"),
        },
        Err(e) => tracing::warn!(%schedule, %target, error = %e, "schedule target not invoked"),
    }
}

/// Sleeps until each fire time and fires `rule` with asynchronous invokes, until `shutdown` turns true.
pub async fn run_schedule(invoker: Arc<dyn Invoker>, rule: ScheduledRule, mut shutdown: watch::Receiver<bool>) {
    let mut after = Utc::now();
    loop {
        let Some(next) = rule.schedule.next_after(after) else {
            tracing::info!(schedule = %rule.name, "schedule never fires again");
            return;
        };
        tracing::debug!(schedule = %rule.name, next = %next, "next firing");
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let payload = rule.payload(next);
        tracing::info!(schedule = %rule.name, time = %next, targets = ?rule.targets, "firing schedule");
        for target in &rule.targets {
            let (invoker, target, payload, name) =
                (invoker.clone(), target.clone(), payload.clone(), rule.name.clone());
            tokio::spawn(async move {
                let result = invoker.invoke(&target, payload, None).await;
                log_result(&name, &target, &result);
            });
        }
        after = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduled_event_looks_like_eventbridge_s() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = scheduled_event("arn:aws:events:us-east-1:000000000000:rule/niaga-local-warmup", t);
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["source"], "aws.events");
        assert_eq!(e["time"], "2024-01-02T03:04:05Z");
        assert_eq!(
            e["resources"][0],
            "arn:aws:events:us-east-1:000000000000:rule/niaga-local-warmup"
        );
        assert_eq!(e["detail"], json!({}));
        assert_eq!(e["version"], "0");
    }

    #[test]
    fn the_workspace_manifest_schedules_parse() {
        let manifest = Manifest::load_workspace().unwrap();
        let rules = ScheduledRule::from_manifest(&manifest, "local").unwrap();
        assert_eq!(rules.len(), manifest.schedules.len());
        for rule in &rules {
            assert_eq!(
                rule.rule_arn,
                format!("arn:aws:events:us-east-1:000000000000:rule/niaga-local-{}", rule.name)
            );
        }
    }
}
