//! The application secret and the rules it must meet before a function may start.

use kernel::SecretString;
use serde::Deserialize;

/// Shortest JWT signing key accepted (seed 002: "JWT_SECRET minimal 32 char, fail-fast").
pub const MIN_JWT_KEY_CHARS: usize = 32;

/// The application secret's contents.
#[derive(Clone)]
pub struct AppSecrets {
    pub jwt_signing_key: SecretString,
}

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecrets")
            .field("jwt_signing_key", &self.jwt_signing_key)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawAppSecrets {
    jwt_signing_key: Option<String>,
}

/// Why the application secret is unusable. Messages never contain the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppSecretsError {
    #[error("secret `{0}` has no `jwt_signing_key`")]
    MissingKey(String),
    #[error("secret `{id}`: jwt_signing_key must be at least {MIN_JWT_KEY_CHARS} characters, it has {len}")]
    KeyTooShort { id: String, len: usize },
    #[error("secret `{id}` is not a JSON object with a `jwt_signing_key` string")]
    NotJson { id: String },
}

impl AppSecrets {
    /// Parses and checks the secret string stored under `id`.
    pub fn parse(id: &str, raw: &SecretString) -> Result<Self, AppSecretsError> {
        let parsed: RawAppSecrets =
            serde_json::from_str(raw.expose()).map_err(|_| AppSecretsError::NotJson { id: id.into() })?;
        let key = parsed
            .jwt_signing_key
            .ok_or_else(|| AppSecretsError::MissingKey(id.into()))?;
        let key = SecretString::new(key);
        if key.char_len() < MIN_JWT_KEY_CHARS {
            return Err(AppSecretsError::KeyTooShort {
                id: id.into(),
                len: key.char_len(),
            });
        }
        Ok(AppSecrets { jwt_signing_key: key })
    }
}

/// The keys a function signs and checks with, kept current while it runs: rotating a secret reaches every warm
/// instance within the secrets cache's TTL (`NIAGA_SECRETS_TTL_SECONDS`), with no redeploy.
///
/// - The application secret's JWT key. Tokens signed with the key the rotation replaced (Secrets Manager's
///   `AWSPREVIOUS` version) stay valid until they expire or the next rotation.
/// - Keys a function follows ([`SigningKeys::follow`]), such as the payment gateway's server key, which signs
///   the gateway's notifications: the gateway switches to a new key at once, so there is no previous one to keep.
/// - Behind CloudFront, the origin header's value ([`SigningKeys::follow_origin`]): the current and the previous
///   one, since CloudFront's edges take minutes to switch.
pub struct SigningKeys {
    secrets: std::sync::Arc<niaga_aws::SecretsCache>,
    id: String,
    jwt: identity::Jwt,
    /// The secret's value the keys were last built from.
    applied: tokio::sync::Mutex<Option<SecretString>>,
    followed: std::sync::Mutex<Vec<Followed>>,
    origin: std::sync::Mutex<Option<FollowedOrigin>>,
}

/// The origin header's secret and the guard that checks it, with the value the guard was last given.
struct FollowedOrigin {
    id: String,
    guard: &'static crate::origin::OriginGuard,
    applied: Option<SecretString>,
}

/// A string field of a JSON secret, kept in a shared key.
#[derive(Clone)]
struct Followed {
    id: String,
    field: &'static str,
    key: kernel::SharedSecret,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why the keys could not be brought up to date (the ones in use stay).
#[derive(Debug, thiserror::Error)]
pub enum KeyRefreshError {
    #[error(transparent)]
    Secret(#[from] niaga_aws::SecretsError),
    #[error(transparent)]
    AppSecret(#[from] AppSecretsError),
    #[error("application secret: {0}")]
    Key(#[from] identity::KeyError),
    #[error("secret `{id}` has no string `{field}`")]
    MissingField { id: String, field: &'static str },
    #[error("secret `{0}` is empty")]
    Empty(String),
}

impl SigningKeys {
    /// Keeps `jwt` (and every clone of it) on the keys of the secret `id`.
    pub fn new(secrets: std::sync::Arc<niaga_aws::SecretsCache>, id: impl Into<String>, jwt: identity::Jwt) -> Self {
        SigningKeys {
            secrets,
            id: id.into(),
            jwt,
            applied: tokio::sync::Mutex::new(None),
            followed: std::sync::Mutex::new(Vec::new()),
            origin: std::sync::Mutex::new(None),
        }
    }

    /// Also keeps `guard` on the current and previous values of the secret `id` (a plain string).
    pub fn follow_origin(&self, id: impl Into<String>, guard: &'static crate::origin::OriginGuard) {
        *self.origin.lock().unwrap_or_else(|p| p.into_inner()) = Some(FollowedOrigin {
            id: id.into(),
            guard,
            applied: None,
        });
    }

    /// Also keeps `key` on the string `field` of the JSON secret `id`.
    pub fn follow(&self, id: impl Into<String>, field: &'static str, key: kernel::SharedSecret) {
        self.followed.lock().unwrap_or_else(|p| p.into_inner()).push(Followed {
            id: id.into(),
            field,
            key,
        });
    }

    /// Brings every key up to date with its secret (read through the cache); `Ok(true)` when one changed.
    pub async fn refresh(&self) -> Result<bool, KeyRefreshError> {
        let mut changed = self.refresh_jwt().await?;
        let followed = self.followed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for f in followed {
            let value: serde_json::Value = self.secrets.get_json(&f.id).await?;
            let fresh = value[f.field].as_str().ok_or_else(|| KeyRefreshError::MissingField {
                id: f.id.clone(),
                field: f.field,
            })?;
            changed |= f.key.replace(SecretString::new(fresh));
        }
        changed |= self.refresh_origin().await?;
        Ok(changed)
    }

    /// Gives the origin guard the secret's current value and its previous one when the current value changed;
    /// `Ok(true)` when it did. A previous value that cannot be read only means no previous value.
    async fn refresh_origin(&self) -> Result<bool, KeyRefreshError> {
        let (id, guard, applied) = {
            let origin = self.origin.lock().unwrap_or_else(|p| p.into_inner());
            let Some(o) = origin.as_ref() else { return Ok(false) };
            (o.id.clone(), o.guard, o.applied.clone())
        };
        let current = self.secrets.get(&id).await?;
        if applied.as_ref().is_some_and(|a| a.expose() == current.expose()) {
            return Ok(false);
        }
        let previous = match self.secrets.previous(&id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(secret = %id, error = %e, "previous origin header value unavailable");
                None
            }
        };
        if !guard.rotate(current.clone(), previous) {
            return Err(KeyRefreshError::Empty(id));
        }
        if let Some(o) = self.origin.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            o.applied = Some(current);
        }
        Ok(true)
    }

    /// Rebuilds the JWT keys when the application secret's value changed since they were last built; `Ok(true)`
    /// when it did. A previous value that is missing or unusable only means no previous key.
    async fn refresh_jwt(&self) -> Result<bool, KeyRefreshError> {
        let raw = self.secrets.get(&self.id).await?;
        let mut applied = self.applied.lock().await;
        if applied.as_ref().is_some_and(|a| a.expose() == raw.expose()) {
            return Ok(false);
        }
        let current = AppSecrets::parse(&self.id, &raw)?;
        let previous = match self.secrets.previous(&self.id).await {
            Ok(Some(p)) => AppSecrets::parse(&self.id, &p).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(secret = %self.id, error = %e, "previous signing key unavailable");
                None
            }
        };
        self.jwt
            .rotate(&current.jwt_signing_key, previous.as_ref().map(|p| &p.jwt_signing_key))?;
        *applied = Some(raw);
        Ok(true)
    }
}

/// Database credentials as RDS stores them in Secrets Manager.
#[derive(Deserialize)]
pub struct DbCredentials {
    pub username: String,
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_key_is_refused_without_revealing_it() {
        let err = AppSecrets::parse(
            "niaga/local/app",
            &SecretString::new(r#"{"jwt_signing_key":"short-key"}"#),
        )
        .unwrap_err();
        assert_eq!(
            err,
            AppSecretsError::KeyTooShort {
                id: "niaga/local/app".into(),
                len: 9
            }
        );
        assert!(!err.to_string().contains("short-key"));
    }

    #[test]
    fn a_32_character_key_is_accepted() {
        let raw = SecretString::new(format!(r#"{{"jwt_signing_key":"{}"}}"#, "k".repeat(32)));
        assert!(AppSecrets::parse("x", &raw).is_ok());
    }

    #[test]
    fn a_missing_key_and_non_json_are_refused() {
        assert!(matches!(
            AppSecrets::parse("x", &SecretString::new("{}")),
            Err(AppSecretsError::MissingKey(_))
        ));
        assert!(matches!(
            AppSecrets::parse("x", &SecretString::new("plain")),
            Err(AppSecretsError::NotJson { .. })
        ));
    }
}
