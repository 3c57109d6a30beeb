//! The admin API wired as `main` wires it, over a test database and a settings cache.

use admin_api::AdminApi;
use platform::auth::Authenticator;
use platform::settings::SettingsCache;
use settings::Settings;
use std::sync::Arc;
use store::config::PgSettings;
use store::identity::PgIdentity;

pub type Api = AdminApi<PgIdentity, PgSettings, Arc<SettingsCache>>;

/// `admin-api` over `db`, writing setting changes through to `cache`.
pub fn admin_api(db: &store::Db, cache: SettingsCache) -> Api {
    AdminApi::new(
        db.clone(),
        Settings::new(PgSettings::new(db.clone()), Arc::new(cache)),
        Authenticator::new(testkit::auth::jwt(), PgIdentity::new(db.clone())),
    )
}
