//! What the settings use cases need from outside: where settings are stored (with their audit trail), where they
//! are read from, and the cache a change is written through to. `store` implements [`SettingsStore`] and
//! [`SettingsSource`] over `system_config`; the Lambda wiring implements [`SettingsSource`] and
//! [`SettingsPublisher`] over its two-layer cache.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;

/// One setting with its schema and version.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    /// Starts at 1 and grows by one per change: the `ETag` that `If-Match` must name.
    pub version: i32,
    pub schema: Value,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// One change of a setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub old_value: Option<Value>,
    pub new_value: Value,
    pub changed_by: String,
    pub acting_for: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// What an update found.
#[derive(Debug, Clone, PartialEq)]
pub enum Updated {
    Done(Setting),
    /// The setting is at another version than the writer read.
    Stale {
        current: i32,
    },
    NotFound,
}

/// Where use cases read business settings from.
pub trait SettingsSource: Send + Sync {
    /// Every integer setting whose key starts with `prefix`, by key. MUST show a committed change within the
    /// source's stated staleness (none for `system_config` itself).
    fn ints(&self, prefix: &str) -> impl Future<Output = anyhow::Result<BTreeMap<String, i64>>> + Send;
}

impl<T: SettingsSource> SettingsSource for std::sync::Arc<T> {
    fn ints(&self, prefix: &str) -> impl Future<Output = anyhow::Result<BTreeMap<String, i64>>> + Send {
        (**self).ints(prefix)
    }
}

impl<T: SettingsSource> SettingsSource for &T {
    fn ints(&self, prefix: &str) -> impl Future<Output = anyhow::Result<BTreeMap<String, i64>>> + Send {
        (**self).ints(prefix)
    }
}

/// The settings themselves, with their versions and audit trail.
pub trait SettingsStore: Send + Sync {
    /// Every setting, by key.
    fn list(&self) -> impl Future<Output = anyhow::Result<Vec<Setting>>> + Send;

    /// One setting. MUST show every committed change (read your writes): an admin reading after a change must see
    /// the version `If-Match` will be compared with.
    fn get(&self, key: &str) -> impl Future<Output = anyhow::Result<Option<Setting>>> + Send;

    /// Sets `key` to `value` if it is still at `expected_version`. MUST compare and write under the setting's row
    /// lock, and MUST write the audit row (who, when, old, new, and `acting_for`, the partner a masquerading agent
    /// acted for) in the same transaction as the change, so a change without its audit row never exists. MUST
    /// write nothing when the version differs ([`Updated::Stale`]) or the key is unknown ([`Updated::NotFound`]).
    /// The caller has checked the value against the key's schema.
    fn update(
        &self,
        key: &str,
        expected_version: i32,
        value: &Value,
        changed_by: &str,
        acting_for: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<Updated>> + Send;

    /// A setting's changes, newest first, at most `limit`.
    fn history(&self, key: &str, limit: u32) -> impl Future<Output = anyhow::Result<Vec<Change>>> + Send;
}

/// Where a change is written through to, so every reader of a cache sees it without waiting out its TTL.
pub trait SettingsPublisher: Send + Sync {
    /// Called after a change committed. MUST replace what the cache holds with the committed settings (or with
    /// later ones), never with older ones. A failure leaves the change saved; readers then see it within the
    /// cache's own TTL.
    fn publish(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl<T: SettingsPublisher> SettingsPublisher for std::sync::Arc<T> {
    fn publish(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        (**self).publish()
    }
}
