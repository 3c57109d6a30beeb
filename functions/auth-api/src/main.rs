//! `auth-api` Lambda entry point: build once, then serve.

use auth_api::AuthApi;
use store::identity::PgIdentity;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("auth-api").await;
    let api = AuthApi::new(PgIdentity::new(deps.db.clone()), deps.jwt.clone());
    platform::http::run(deps.runtime(), api).await
}
