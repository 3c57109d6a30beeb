//! What Niaga runs around every HTTP request ([`lambda_glue::http::Hooks`]): signing keys (and the origin header's
//! value) brought up to date from their secrets, the CDN's origin header checked, and database connections opened
//! by a warm-up ping. [`runtime`] gives a function's HTTP entry point its settings.

use crate::secrets::SigningKeys;
use lambda_glue::http::{BoxFuture, Hooks, Runtime};
use lambda_glue::Problem;
use lambda_http::Request;
use std::sync::Arc;
use std::time::Duration;

/// Niaga's HTTP hooks.
#[derive(Debug, Clone)]
pub struct NiagaHooks {
    /// The function, named in what the hooks log.
    pub function: &'static str,
    /// Brought up to date before each request, so a rotated signing key takes effect without a redeploy.
    pub keys: Option<Arc<SigningKeys>>,
    /// Connections a warm-up ping makes sure are open.
    pub db: Option<store::Db>,
}

impl Hooks for NiagaHooks {
    fn before_request(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let Some(keys) = &self.keys else { return };
            // From memory until the secrets cache's TTL runs out; a failed refresh keeps the keys in use.
            match keys.refresh().await {
                Ok(true) => tracing::info!(
                    function = self.function,
                    "signing keys replaced from the application secret"
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!(function = self.function, error = %e, "signing keys not refreshed"),
            }
        })
    }

    /// Behind CloudFront: refuses what did not come through it, and learns the viewer's address from what did.
    fn admit(&self, request: &mut Request) -> Result<(), Problem> {
        crate::origin::admit(crate::origin::configured(), request)
    }

    fn warm(&self) -> BoxFuture<'_, Result<usize, String>> {
        Box::pin(async move {
            match &self.db {
                Some(db) => db.warm().await.map_err(|e| format!("{e:#}")),
                None => Ok(0),
            }
        })
    }
}

/// The HTTP entry point's settings for `function`: Niaga's names and hooks.
pub fn runtime(
    function: &'static str,
    keys: Option<Arc<SigningKeys>>,
    db: Option<store::Db>,
    slow_request: Duration,
) -> Runtime {
    Runtime {
        service: crate::NIAGA,
        function,
        slow_request,
        hooks: Some(Arc::new(NiagaHooks { function, keys, db })),
    }
}
