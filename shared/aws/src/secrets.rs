//! A Secrets Manager cache: each secret is fetched once (at cold start), served from memory until its TTL runs
//! out, and refetched on demand (after the database rejects a rotated password, for example).
//!
//! Values are held as [`kernel::SecretString`], which never prints. Concurrent callers that miss the cache at
//! the same time make one request, not many: the entry's lock is held across the fetch.

use kernel::SecretString;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why a secret could not be had. Messages name the secret, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret `{0}` does not exist")]
    NotFound(String),
    #[error("secret `{id}` is malformed: {reason}")]
    Malformed { id: String, reason: String },
    #[error("secret `{id}` could not be fetched: {reason}")]
    Unavailable { id: String, reason: String },
}

#[derive(Default)]
struct Slot {
    value: Option<(Instant, SecretString)>,
}

/// Cached access to Secrets Manager.
pub struct SecretsCache {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    slots: std::sync::Mutex<HashMap<String, Arc<Mutex<Slot>>>>,
}

impl std::fmt::Debug for SecretsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsCache {
    pub fn new(config: &aws_config::SdkConfig, ttl: Duration) -> Self {
        SecretsCache {
            client: aws_sdk_secretsmanager::Client::new(config),
            ttl,
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, id: &str) -> Arc<Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(id.to_string()).or_default().clone()
    }

    /// The secret string, from memory while fresh.
    pub async fn get(&self, id: &str) -> Result<SecretString, SecretsError> {
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        if let Some((at, value)) = &slot.value {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let value = self.fetch(id).await?;
        slot.value = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    /// Refetches the secret now, whatever its age.
    pub async fn refresh(&self, id: &str) -> Result<SecretString, SecretsError> {
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        let value = self.fetch(id).await?;
        slot.value = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    /// The secret parsed as JSON into `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, id: &str) -> Result<T, SecretsError> {
        let raw = self.get(id).await?;
        parse_json(id, &raw)
    }

    /// Like [`SecretsCache::get_json`], refetching first.
    pub async fn refresh_json<T: DeserializeOwned>(&self, id: &str) -> Result<T, SecretsError> {
        let raw = self.refresh(id).await?;
        parse_json(id, &raw)
    }

    /// The secret's previous value (the `AWSPREVIOUS` stage, which Secrets Manager gives the value a rotation or a
    /// new version replaced), fetched now; `None` when there is none.
    pub async fn previous(&self, id: &str) -> Result<Option<SecretString>, SecretsError> {
        match self.fetch_stage(id, Some("AWSPREVIOUS")).await {
            Ok(v) => Ok(Some(v)),
            Err(SecretsError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, id: &str) -> Result<SecretString, SecretsError> {
        self.fetch_stage(id, None).await
    }

    async fn fetch_stage(&self, id: &str, stage: Option<&str>) -> Result<SecretString, SecretsError> {
        let mut get = self.client.get_secret_value().secret_id(id);
        if let Some(stage) = stage {
            get = get.version_stage(stage);
        }
        let out = get.send().await.map_err(|e| {
            let service = e.as_service_error();
            if service.is_some_and(|s| s.is_resource_not_found_exception()) {
                SecretsError::NotFound(id.to_string())
            } else {
                let reason = service.map_or_else(|| format!("{e:?}"), |s| s.to_string());
                SecretsError::Unavailable {
                    id: id.to_string(),
                    reason,
                }
            }
        })?;
        let value = out.secret_string().ok_or_else(|| SecretsError::Malformed {
            id: id.to_string(),
            reason: "it has no string value".into(),
        })?;
        tracing::debug!(secret = id, "secret fetched");
        Ok(SecretString::new(value))
    }
}

fn parse_json<T: DeserializeOwned>(id: &str, raw: &SecretString) -> Result<T, SecretsError> {
    // serde_json's own message can quote the offending value, so report only its class and position.
    serde_json::from_str(raw.expose()).map_err(|e| SecretsError::Malformed {
        id: id.to_string(),
        reason: format!(
            "not the expected JSON ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}
