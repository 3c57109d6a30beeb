//! The entry point of a job function (scheduled or invoked by hand).
//!
//! - Under the Lambda runtime it serves events, answering the warm-up ping without working. The event is the
//!   input (an EventBridge scheduled event, or the schedule's constant input), and the job covers every partner.
//! - Anywhere else (a shell, a container, a Cloud Run job) it runs once and exits: non-zero on failure, after
//!   printing its report on success. The input is the first argument, or `<PREFIX>_JOB_INPUT`, as JSON (`{}` when
//!   neither is given). Cloud Run's `CLOUD_RUN_TASK_INDEX` / `CLOUD_RUN_TASK_COUNT` pick the [`Shard`]: the
//!   partners with `id % count = index`, so the tasks of one execution together cover every partner once.

use crate::service::Service;
use serde_json::{json, Value};
use std::future::Future;

/// Which partners this run covers: those with `id % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Every partner.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// From `CLOUD_RUN_TASK_INDEX` and `CLOUD_RUN_TASK_COUNT` (both absent: [`Shard::ALL`]).
    pub fn from_env() -> Result<Shard, String> {
        let read = |name: &str| -> Result<Option<u32>, String> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| format!("{name} must be a whole number, not `{v}`")),
            }
        };
        let count = read("CLOUD_RUN_TASK_COUNT")?.unwrap_or(1);
        let index = read("CLOUD_RUN_TASK_INDEX")?.unwrap_or(0);
        if count == 0 || index >= count {
            return Err(format!(
                "CLOUD_RUN_TASK_INDEX ({index}) must be below CLOUD_RUN_TASK_COUNT ({count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard covers `partner_id`.
    pub fn covers(&self, partner_id: i64) -> bool {
        partner_id.rem_euclid(i64::from(self.count)) == i64::from(self.index)
    }
}

/// The one-shot input: the first argument, else `<PREFIX>_JOB_INPUT`, else `{}`.
fn one_shot_input(service: &Service) -> Result<Value, String> {
    let raw = std::env::args()
        .nth(1)
        .or_else(|| std::env::var(service.variable("JOB_INPUT")).ok());
    match raw {
        None => Ok(json!({})),
        Some(r) => serde_json::from_str(&r).map_err(|e| format!("the job input is not JSON ({e}): {r}")),
    }
}

fn fail(function: &str, message: &str) -> ! {
    tracing::error!(function, error = message, "job failed");
    eprintln!("{function} failed: {message}");
    std::process::exit(1);
}

/// Runs `work` per event, or once when the process is not under the Lambda runtime. For jobs that do not shard.
pub async fn run<F, Fut>(service: &Service, function: &'static str, work: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = anyhow::Result<Value>>,
{
    run_sharded(service, function, |event, _shard| work(event)).await
}

/// Runs `work` per event over every partner, or once over the shard Cloud Run assigns.
pub async fn run_sharded<F, Fut>(
    service: &Service,
    function: &'static str,
    work: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Value, Shard) -> Fut,
    Fut: Future<Output = anyhow::Result<Value>>,
{
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        let input = one_shot_input(service).unwrap_or_else(|e| fail(function, &e));
        let shard = Shard::from_env().unwrap_or_else(|e| fail(function, &e));
        return match work(input, shard).await {
            Ok(report) => {
                println!("{report}");
                Ok(())
            }
            Err(e) => fail(function, &format!("{e:#}")),
        };
    }
    let work = &work;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            if crate::http::is_warmup_ping(&event.payload) {
                return Ok(json!({ "warm": true, "function": function }));
            }
            work(event.payload, Shard::ALL)
                .await
                .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_partners_without_overlap_or_gap() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for id in 1..1000 {
            assert_eq!(shards.iter().filter(|s| s.covers(id)).count(), 1, "partner {id}");
        }
        assert!((1..100).all(|id| Shard::ALL.covers(id)));
    }
}
