//! Cold start, done once per instance: logging, typed configuration, the AWS SDK configuration, the application
//! secret (checked against the key policy), behind CloudFront the origin header's secret ([`crate::origin`],
//! followed through its rotations like the signing keys), the database pools wired to Secrets Manager
//! credentials, and the first connections opened so the first request does not pay for them.
//!
//! A configuration or secret problem stops the instance: [`init`] logs the reason (naming the variable or the
//! secret, never a value) and exits non-zero, which Lambda reports as an init failure.

use crate::config::CommonConfig;
use crate::secrets::{AppSecrets, AppSecretsError, DbCredentials};
use lambda_glue::env::{ConfigError, Env, FromEnv};
use niaga_aws::{SecretsCache, SecretsError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a function builds once.
pub struct Deps<C> {
    pub function: &'static str,
    pub config: C,
    pub common: CommonConfig,
    pub sdk: aws_config::SdkConfig,
    pub secrets: Arc<SecretsCache>,
    pub app: AppSecrets,
    /// Signs and verifies this environment's tokens with the application secret's key.
    pub jwt: identity::Jwt,
    /// Keeps `jwt` on the secret's current (and previous) keys after a rotation.
    pub keys: Arc<crate::secrets::SigningKeys>,
    pub db: store::Db,
    /// `system_config` through the per-instance and shared (DynamoDB `config-cache`) caches.
    pub settings: Arc<crate::settings::SettingsCache>,
    /// How long cold start took, for health and logs.
    pub init_duration: Duration,
}

impl<C> std::fmt::Debug for Deps<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("function", &self.function)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl<C> Deps<C> {
    /// The outbox relay over this function's database and the queues `NIAGA_OUTBOX_ROUTES` names.
    pub async fn outbox_relay(&self) -> anyhow::Result<crate::outbox::Relay> {
        let routes = <crate::outbox::Routes as FromEnv>::from_env(&Env::process())?;
        crate::outbox::Relay::new(self.db.clone(), &self.sdk, &self.common.environment, routes).await
    }

    /// The relay for a function that publishes right after its commits, or `None` (with a warning) when the
    /// queues cannot be reached now: the `outbox-relay` schedule publishes what the fast path could not.
    pub async fn fast_path_relay(&self) -> Option<crate::outbox::Relay> {
        match self.outbox_relay().await {
            Ok(r) => Some(r),
            Err(e) => {
                // An IAM refusal here is a missing grant, not an outage: logged as one.
                niaga_aws::fail_open(
                    &format!("{}: outbox fast path disabled", self.function),
                    &format!("{e:#}"),
                );
                None
            }
        }
    }

    /// The HTTP entry point's settings for this function.
    pub fn runtime(&self) -> lambda_glue::http::Runtime {
        crate::hooks::runtime(
            self.function,
            Some(self.keys.clone()),
            Some(self.db.clone()),
            self.common.slow_request,
        )
    }
}

/// Why a cold start failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretsError),
    #[error(transparent)]
    AppSecret(#[from] AppSecretsError),
    #[error("application secret: {0}")]
    Jwt(#[from] identity::KeyError),
    #[error("database settings: {0}")]
    Database(String),
}

/// Cold start from the process environment; on failure logs why and exits with status 1.
pub async fn init<C: FromEnv>(function: &'static str) -> Deps<C> {
    lambda_glue::telemetry::init(&crate::NIAGA, function);
    match init_from(function, &Env::process()).await {
        Ok(deps) => deps,
        Err(e) => refuse_to_start(function, &e),
    }
}

/// Ends a cold start that cannot go on (a setting no adapter can work with): logs why, naming the variable and
/// never a value, and exits with status 1, which Lambda reports as an init failure.
pub fn refuse_to_start(function: &str, why: &dyn std::fmt::Display) -> ! {
    tracing::error!(function, error = %why, "cold start failed; refusing to start");
    eprintln!("{function}: refusing to start: {why}");
    std::process::exit(1);
}

/// Cold start from the given environment.
pub async fn init_from<C: FromEnv>(function: &'static str, env: &Env) -> Result<Deps<C>, InitError> {
    let started = Instant::now();
    let common = CommonConfig::from_env(env)?;
    let config = C::from_env(env)?;
    let sdk = niaga_aws::sdk_config().await;
    let t_sdk = started.elapsed();
    let secrets = Arc::new(SecretsCache::new(&sdk, common.secrets_ttl));
    let origin = origin_settings(env)?;

    // Fetch the secrets concurrently: they are the slowest part of a cold start.
    let origin_fetch = async {
        match &origin {
            Some((_, id)) => secrets.get(id).await.map(Some),
            None => Ok(None),
        }
    };
    let app_fetch = secrets.get(&common.app_secret_id);
    let db_fetch = async {
        match &common.db_secret_id {
            Some(id) => secrets.get_json::<DbCredentials>(id).await.map(Some),
            None => Ok(None),
        }
    };
    // The database secret is fetched here only to fill the cache, so the pool's first connections find it.
    let (app_raw, db_primed, origin_value) = tokio::join!(app_fetch, db_fetch, origin_fetch);
    let app = AppSecrets::parse(&common.app_secret_id, &app_raw?)?;
    if let (Some((header, id)), Some(value)) = (&origin, origin_value?) {
        let guard = crate::origin::OriginGuard::new(header, value).ok_or_else(|| ConfigError {
            variable: "NIAGA_ORIGIN_HEADER".into(),
            problem: format!("is not a header name, or the secret `{id}` is empty"),
        })?;
        crate::origin::configure(guard);
    }
    let jwt = identity::Jwt::hs256(&app.jwt_signing_key, identity::JwtConfig::niaga(&common.environment))?;
    db_primed?;
    let keys = Arc::new(crate::secrets::SigningKeys::new(
        secrets.clone(),
        common.app_secret_id.clone(),
        jwt.clone(),
    ));
    // Behind CloudFront, the origin header's value follows its secret's rotations too.
    if let (Some((_, id)), Some(guard)) = (&origin, crate::origin::configured()) {
        keys.follow_origin(id.clone(), guard);
    }
    let t_secrets = started.elapsed();

    let credentials: Arc<dyn store::CredentialSource> = match &common.db_secret_id {
        Some(id) => Arc::new(SecretCredentials {
            secrets: secrets.clone(),
            id: id.clone(),
        }),
        None => Arc::new(store::StaticCredentials(None)),
    };
    let db = store::Db::new(&common.db, credentials).map_err(|e| InitError::Database(format!("{e:#}")))?;
    // Best effort: a database that is down at cold start must not stop the function; requests will get 503s
    // and the pool reconnects by itself.
    // The previous signing key too, so a cold start just after a rotation still accepts the tokens issued before
    // it: fetched while the first connections open, so it adds no round trip of its own.
    let (warmed, refreshed) = tokio::join!(db.warm(), keys.refresh());
    match warmed {
        Ok(n) => tracing::info!(function, connections = n, "database connections opened"),
        Err(e) => tracing::warn!(function, error = %e, "database not reachable at cold start"),
    }
    if let Err(e) = refreshed {
        tracing::warn!(function, error = %e, "signing keys not refreshed at cold start");
    }
    let init_duration = started.elapsed();
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    tracing::info!(
        function,
        init_ms = ms(init_duration),
        sdk_ms = ms(t_sdk),
        secrets_ms = ms(t_secrets - t_sdk),
        database_ms = ms(init_duration - t_secrets),
        "cold start complete"
    );
    let settings = Arc::new(crate::settings::SettingsCache::new(
        &sdk,
        &common.environment,
        db.clone(),
    ));
    Ok(Deps {
        function,
        config,
        common,
        sdk,
        secrets,
        app,
        jwt,
        keys,
        db,
        settings,
        init_duration,
    })
}

/// Behind CloudFront: the origin header's name and the id of the secret holding its value, both or neither.
fn origin_settings(env: &Env) -> Result<Option<(String, String)>, ConfigError> {
    match (
        env.optional("NIAGA_ORIGIN_HEADER"),
        env.optional("NIAGA_ORIGIN_SECRET_ID"),
    ) {
        (None, None) => Ok(None),
        (Some(header), Some(id)) => Ok(Some((header, id))),
        (Some(_), None) => Err(ConfigError {
            variable: "NIAGA_ORIGIN_SECRET_ID".into(),
            problem: "must be set with NIAGA_ORIGIN_HEADER".into(),
        }),
        (None, Some(_)) => Err(ConfigError {
            variable: "NIAGA_ORIGIN_HEADER".into(),
            problem: "must be set with NIAGA_ORIGIN_SECRET_ID".into(),
        }),
    }
}

/// Database credentials from a Secrets Manager secret, refetched when the database rejects them.
struct SecretCredentials {
    secrets: Arc<SecretsCache>,
    id: String,
}

impl store::CredentialSource for SecretCredentials {
    fn credentials(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<Option<(String, kernel::SecretString)>>> + Send + '_>,
    > {
        Box::pin(async move {
            let c: DbCredentials = self.secrets.get_json(&self.id).await?;
            Ok(Some((c.username, kernel::SecretString::new(c.password))))
        })
    }

    fn refresh(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send + '_>> {
        Box::pin(async move {
            self.secrets.refresh(&self.id).await?;
            Ok(())
        })
    }
}
