//! `reports-api` Lambda entry point: build once, then serve.

use niaga_aws::files::Files;
use platform::auth::Authenticator;
use reports_api::ReportsApi;
use store::exports::PgExports;
use store::identity::PgIdentity;

/// Settings read at cold start.
#[derive(Debug)]
struct ReportsConfig {
    bucket: String,
}

impl lambda_glue::env::FromEnv for ReportsConfig {
    fn from_env(env: &lambda_glue::Env) -> Result<Self, lambda_glue::ConfigError> {
        Ok(ReportsConfig {
            bucket: env.required("NIAGA_EXPORTS_BUCKET")?,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<ReportsConfig>("reports-api").await;
    let api = ReportsApi::new(
        PgExports::new(deps.db.clone()),
        Files::new(&deps.sdk, &deps.config.bucket),
        Authenticator::new(deps.jwt.clone(), PgIdentity::new(deps.db.clone())),
    )
    .with_relay(deps.fast_path_relay().await);
    lambda_glue::http::run(deps.runtime(), api).await
}
