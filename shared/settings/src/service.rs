//! The settings use cases: list, read, change (under optimistic concurrency, within the key's schema, audited,
//! then written through to the shared cache) and read a setting's history.

use crate::ports::{Change, Setting, SettingsPublisher, SettingsStore, Updated};
use crate::{valid_key, RuleError, Schema};
use serde_json::Value;

/// How many changes [`Settings::history`] shows.
pub const HISTORY_LIMIT: u32 = 100;

/// A change of one setting, parsed at the edge.
#[derive(Debug)]
pub struct ChangeSetting<'a> {
    pub key: &'a str,
    /// The version the writer read (`If-Match`).
    pub expected_version: i32,
    pub value: &'a Value,
    pub changed_by: &'a str,
    /// The partner a masquerading agent acted for.
    pub acting_for: Option<&'a str>,
}

/// Why reading settings failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadSettingError {
    #[error("no such setting")]
    NotFound,
    #[error("settings storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why a change was refused. Nothing is written for any of these.
#[derive(Debug, thiserror::Error)]
pub enum ChangeSettingError {
    #[error("no such setting")]
    NotFound,
    /// The key's stored schema cannot be read: the setting cannot be changed until it is repaired.
    #[error("{0}")]
    InvalidSchema(String),
    /// The value breaks a rule of the key's schema.
    #[error("{broken}")]
    OutOfRange { broken: RuleError, schema: Schema },
    /// The setting is at another version than the writer read.
    #[error("the setting is at version {current}")]
    Stale { current: i32 },
    #[error("settings storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl From<ReadSettingError> for ChangeSettingError {
    fn from(e: ReadSettingError) -> Self {
        match e {
            ReadSettingError::NotFound => ChangeSettingError::NotFound,
            ReadSettingError::Unavailable(e) => ChangeSettingError::Unavailable(e),
        }
    }
}

/// The settings application service over a store and the cache it writes changes through to.
#[derive(Debug)]
pub struct Settings<S, P> {
    store: S,
    publisher: P,
}

impl<S: SettingsStore, P: SettingsPublisher> Settings<S, P> {
    pub fn new(store: S, publisher: P) -> Self {
        Settings { store, publisher }
    }

    /// Every setting, by key.
    pub async fn list(&self) -> Result<Vec<Setting>, ReadSettingError> {
        self.store.list().await.map_err(ReadSettingError::Unavailable)
    }

    /// One setting; a malformed key is as unknown as a missing one.
    pub async fn get(&self, key: &str) -> Result<Setting, ReadSettingError> {
        if !valid_key(key) {
            return Err(ReadSettingError::NotFound);
        }
        self.store
            .get(key)
            .await
            .map_err(ReadSettingError::Unavailable)?
            .ok_or(ReadSettingError::NotFound)
    }

    /// Changes a setting if the writer read its current version and the value keeps to the key's schema, with its
    /// audit row, then writes the settings through to the shared cache. A failed write-through is logged, not
    /// returned: the change is saved and the cache catches up within its TTL.
    pub async fn change(&self, c: &ChangeSetting<'_>) -> Result<Setting, ChangeSettingError> {
        let current = self.get(c.key).await?;
        let schema = Schema::parse(&current.schema).map_err(ChangeSettingError::InvalidSchema)?;
        if let Err(broken) = schema.check(c.value) {
            return Err(ChangeSettingError::OutOfRange { broken, schema });
        }
        let updated = self
            .store
            .update(c.key, c.expected_version, c.value, c.changed_by, c.acting_for)
            .await
            .map_err(ChangeSettingError::Unavailable)?;
        match updated {
            Updated::Done(s) => {
                if let Err(e) = self.publisher.publish().await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "the change is saved; the shared cache refreshes within its TTL"
                    );
                }
                Ok(s)
            }
            Updated::Stale { current } => Err(ChangeSettingError::Stale { current }),
            Updated::NotFound => Err(ChangeSettingError::NotFound),
        }
    }

    /// A setting's last [`HISTORY_LIMIT`] changes, newest first, under its key.
    pub async fn history(&self, key: &str) -> Result<(String, Vec<Change>), ReadSettingError> {
        let s = self.get(key).await?;
        let changes = self
            .store
            .history(&s.key, HISTORY_LIMIT)
            .await
            .map_err(ReadSettingError::Unavailable)?;
        Ok((s.key, changes))
    }
}
