//! Settings from `system_config`, cached in two layers so a warm function rarely reads Postgres for them and every
//! instance sees a change within seconds:
//!
//! 1. a per-instance snapshot trusted for [`LOCAL_TTL`] (1 s);
//! 2. a shared snapshot of the whole table in DynamoDB (the `config-cache` table, one versioned item) trusted for
//!    [`SHARED_TTL`] (5 minutes);
//! 3. Postgres.
//!
//! Every snapshot carries a *generation*: the sum of the settings' versions, which grows by one with every change.
//! The shared item is only ever replaced by a snapshot of a higher generation (compare-and-set on the item's
//! version, see `niaga_aws::versioned`), so an instance that read Postgres just before a change can never put the
//! old values back over the new ones. A change made through the admin API writes its new snapshot straight through
//! to DynamoDB ([`SettingsCache::publish`]): that replaces, and so purges, the shared entry, and every instance
//! reads it within [`LOCAL_TTL`] of the change.
//!
//! When DynamoDB cannot be reached the cache reads Postgres directly: settings stay correct, only slower.

use niaga_aws::versioned::VersionedItems;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long an instance trusts its own snapshot.
pub const LOCAL_TTL: Duration = Duration::from_secs(1);
/// How long the shared snapshot is trusted.
pub const SHARED_TTL: Duration = Duration::from_secs(300);
/// The shared item's key.
const ITEM: &str = "system_config";

/// A snapshot of every setting.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsSnapshot {
    pub generation: i64,
    pub values: BTreeMap<String, Value>,
}

impl SettingsSnapshot {
    /// Every integer setting whose key starts with `prefix`.
    pub fn ints(&self, prefix: &str) -> BTreeMap<String, i64> {
        self.values
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| v.as_i64().map(|n| (k.clone(), n)))
            .collect()
    }
}

/// The two-layer settings cache of one function instance.
#[derive(Debug)]
pub struct SettingsCache {
    db: store::Db,
    shared: Option<VersionedItems>,
    local: Mutex<Option<(Instant, SettingsSnapshot)>>,
    local_ttl: Duration,
}

impl SettingsCache {
    /// Shares snapshots through the environment's `config-cache` table.
    pub fn new(sdk: &aws_config::SdkConfig, environment: &str, db: store::Db) -> Self {
        Self::with_table(
            db,
            Some(VersionedItems::new(
                sdk,
                niaga_aws::table_physical_name(environment, "config-cache"),
            )),
        )
    }

    /// Over an explicit table (`None`: Postgres only, for functions without the table).
    pub fn with_table(db: store::Db, shared: Option<VersionedItems>) -> Self {
        SettingsCache {
            db,
            shared,
            local: Mutex::new(None),
            local_ttl: LOCAL_TTL,
        }
    }

    /// Trusts this instance's snapshot for `ttl` instead of [`LOCAL_TTL`] (tests that change settings behind the
    /// cache's back use zero).
    pub fn with_local_ttl(mut self, ttl: Duration) -> Self {
        self.local_ttl = ttl;
        self
    }

    /// Every integer setting whose key starts with `prefix`.
    pub async fn ints(&self, prefix: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        Ok(self.snapshot().await?.ints(prefix))
    }
}

impl settings::SettingsSource for SettingsCache {
    async fn ints(&self, prefix: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        SettingsCache::ints(self, prefix).await
    }
}

impl settings::SettingsPublisher for SettingsCache {
    async fn publish(&self) -> anyhow::Result<()> {
        SettingsCache::publish(self).await.map(|_| ())
    }
}

impl SettingsCache {
    /// The current snapshot, from the nearest layer that has a fresh one.
    pub async fn snapshot(&self) -> anyhow::Result<SettingsSnapshot> {
        let mut local = self.local.lock().await;
        if let Some((at, s)) = local.as_ref() {
            if at.elapsed() < self.local_ttl {
                return Ok(s.clone());
            }
        }
        let snapshot = match self.shared_snapshot().await {
            Some(s) => s,
            None => {
                let s = read_db(&self.db).await?;
                self.store_shared(&s).await;
                s
            }
        };
        *local = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// After a change: reads Postgres and writes the snapshot through to the shared item and this instance.
    pub async fn publish(&self) -> anyhow::Result<SettingsSnapshot> {
        let s = read_db(&self.db).await?;
        self.store_shared(&s).await;
        *self.local.lock().await = Some((Instant::now(), s.clone()));
        Ok(s)
    }

    async fn shared_snapshot(&self) -> Option<SettingsSnapshot> {
        let shared = self.shared.as_ref()?;
        let item = match shared.get(ITEM).await {
            Ok(item) => item?,
            Err(e) => {
                niaga_aws::fail_open("config cache unreadable; reading Postgres", &e);
                return None;
            }
        };
        let body: Value = serde_json::from_str(&item.body).ok()?;
        let expires = body.get("expires_at").and_then(Value::as_i64)?;
        if expires <= chrono::Utc::now().timestamp() {
            return None;
        }
        Some(SettingsSnapshot {
            generation: body.get("generation").and_then(Value::as_i64)?,
            values: serde_json::from_value(body.get("values")?.clone()).ok()?,
        })
    }

    /// Replaces the shared item with `s` unless it already holds this generation or a later one (within its TTL).
    async fn store_shared(&self, s: &SettingsSnapshot) {
        let Some(shared) = &self.shared else { return };
        for _ in 0..3 {
            let current = match shared.get(ITEM).await {
                Ok(c) => c,
                Err(e) => {
                    niaga_aws::fail_open("config cache unwritable", &e);
                    return;
                }
            };
            let now = chrono::Utc::now().timestamp();
            if let Some(c) = &current {
                let body: Value = serde_json::from_str(&c.body).unwrap_or(Value::Null);
                let newer = body
                    .get("generation")
                    .and_then(Value::as_i64)
                    .is_some_and(|g| g >= s.generation);
                let live = body.get("expires_at").and_then(Value::as_i64).is_some_and(|e| e > now);
                if newer && live {
                    return;
                }
            }
            let expires_at = now + SHARED_TTL.as_secs() as i64;
            let body = json!({ "generation": s.generation, "values": s.values, "expires_at": expires_at });
            // The table's TTL attribute outlives the snapshot's own expiry, so DynamoDB never deletes an item a
            // writer is comparing against.
            match shared
                .put_if_version(
                    ITEM,
                    &body.to_string(),
                    current.map(|c| c.version),
                    Some(expires_at + 86_400),
                )
                .await
            {
                Ok(true) => return,
                Ok(false) => continue,
                Err(e) => {
                    niaga_aws::fail_open("config cache unwritable", &e);
                    return;
                }
            }
        }
    }
}

async fn read_db(db: &store::Db) -> anyhow::Result<SettingsSnapshot> {
    let all = store::settings::list(db).await?;
    Ok(SettingsSnapshot {
        generation: all.iter().map(|s| i64::from(s.version)).sum(),
        values: all.into_iter().map(|s| (s.key, s.value)).collect(),
    })
}
