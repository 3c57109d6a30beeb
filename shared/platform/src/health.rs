//! What a health check probes ([`Probe`]), implemented over the database and the ERP sync ledger in it.

use std::future::Future;
use supply_sync::{SyncLedger, SyncStatus};

/// Something whose reachability health reports.
pub trait Probe: Send + Sync + 'static {
    fn ping(&self) -> impl Future<Output = Result<(), String>> + Send;

    /// Where each ERP sync (stock, movements, partner debt) stands, if known.
    fn erp_sync(&self) -> impl Future<Output = Option<Vec<SyncStatus>>> + Send {
        async { None }
    }
}

impl Probe for store::Db {
    async fn ping(&self) -> Result<(), String> {
        store::Db::ping(self).await.map_err(|e| e.to_string())
    }

    async fn erp_sync(&self) -> Option<Vec<SyncStatus>> {
        store::erp_sync::PgErpSync::new(self.clone()).status().await.ok()
    }
}
