//! `agent-jobs-api` Lambda entry point: build once, then serve.

use agent_jobs_api::AgentJobsApi;
use platform::auth::Authenticator;
use store::agent_jobs::PgAgentJobs;
use store::identity::PgIdentity;

// One event at a time per instance: a single-threaded runtime keeps the connection task and the handler on one
// thread, saving a cross-thread wake-up on every database round trip.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<platform::callbacks::CallbackConfig>("agent-jobs-api").await;
    let api = AgentJobsApi::new(
        PgAgentJobs::new(deps.db.clone()),
        deps.settings.clone(),
        Authenticator::new(deps.jwt.clone(), PgIdentity::new(deps.db.clone())).with_limits(std::sync::Arc::new(
            platform::limits::RateLimits::new(&deps.sdk, &deps.common.environment, deps.settings.clone()),
        )),
        deps.config.0,
    )
    .with_resolver(std::sync::Arc::new(platform::callbacks::SystemResolver))
    .with_relay(deps.fast_path_relay().await);
    lambda_glue::http::run(deps.runtime(), api).await
}
