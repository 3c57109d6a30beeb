//! The admin API wired as `main` wires it, over a test database and a settings cache.

use admin_api::AdminApi;
use notifications::Blasts;
use orders::Orders;
use platform::auth::Authenticator;
use platform::settings::SettingsCache;
use settings::Settings;
use std::sync::Arc;
use store::blasts::PgBlasts;
use store::identity::PgIdentity;
use store::orders::PgOrders;
use store::settings::PgSettings;

pub type Api = AdminApi<PgIdentity, PgSettings, Arc<SettingsCache>, PgBlasts, PgOrders>;

/// `admin-api` over `db`, writing setting changes through to `cache`.
pub fn admin_api(db: &store::Db, cache: SettingsCache) -> Api {
    AdminApi::new(
        Settings::new(PgSettings::new(db.clone()), Arc::new(cache)),
        Blasts::new(PgBlasts::new(db.clone())),
        Orders::new(PgOrders::new(db.clone())),
        Authenticator::new(testkit::auth::jwt(), PgIdentity::new(db.clone())),
    )
}
