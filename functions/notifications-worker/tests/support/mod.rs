//! The notifier wired as `main` wires it, over a test database and a sender.

use notifications::{Notifier, Sender};
use store::blasts::PgBlasts;
use store::notifications::PgNotificationLog;
use store::settings::PgSettings;

/// The notifier over `db`, sending through `sender`.
pub fn notifier<S: Sender>(db: &store::Db, sender: S) -> Notifier<PgNotificationLog, PgBlasts, S, PgSettings> {
    Notifier::new(
        PgNotificationLog::new(db.clone()),
        PgBlasts::new(db.clone()),
        sender,
        PgSettings::new(db.clone()),
    )
}
