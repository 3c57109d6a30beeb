//! What the report use cases need from outside. `store` implements [`ExportStore`] and [`ProfitLedger`] over
//! PostgreSQL; `niaga-aws` implements [`FileStore`] over S3.

use crate::exports::{CreatedExport, Export, NewExport, ProfitRow};
use crate::profit::PartnerMonth;
use chrono::NaiveDate;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// Export requests, their progress, and the rows they export.
pub trait ExportStore: Send + Sync + 'static {
    /// Stores a profit export together with its [`crate::exports::REQUESTED_EVENT`] outbox event in one
    /// transaction, so an export is enqueued exactly when it exists. When `requested_by` used `key` before, MUST
    /// write nothing and answer [`CreatedExport::Replayed`] with the first export if `fingerprint` is the same,
    /// [`CreatedExport::KeyReused`] if not.
    fn create(&self, export: &NewExport<'_>) -> impl Future<Output = anyhow::Result<CreatedExport>> + Send;

    /// The export with this id. MUST show every committed write: the worker's `done` is read back by the API.
    fn get(&self, id: Uuid) -> impl Future<Output = anyhow::Result<Option<Export>>> + Send;

    /// Marks the export running (again, after a crash). MUST leave a done export done.
    fn start(&self, id: Uuid) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Records the finished files: the export is done.
    fn finish(
        &self,
        id: Uuid,
        rows: i32,
        csv_key: &str,
        xlsx_key: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Records why the export cannot be made: the export has failed.
    fn fail(&self, id: Uuid, error: &str) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Hands each row of `month`'s profit report, in partner order, to `each`, and answers how many there were.
    /// MUST stream the rows, never collect them: a month may have more rows than the function has memory for.
    /// An error from `each` stops the walk and is answered.
    fn for_each_profit_row<F>(&self, month: NaiveDate, each: F) -> impl Future<Output = anyhow::Result<u64>> + Send
    where
        F: FnMut(ProfitRow) -> anyhow::Result<()> + Send;
}

/// The monthly profit report's rows, by month and partner.
pub trait ProfitLedger: Send + Sync + 'static {
    /// Recomputes `month` (its first day) for the partners with `id % count = index` by the rules in
    /// [`crate::profit`], and replaces their rows in one transaction. MUST replace, never add to, what is there: a
    /// re-run, or a run over a month still in progress, leaves what one run over the final data leaves. Answers
    /// the rows written, by partner.
    fn recompute_month(
        &self,
        month: NaiveDate,
        count: u32,
        index: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<PartnerMonth>>> + Send;

    /// The report rows of `month`, by partner.
    fn report(&self, month: NaiveDate) -> impl Future<Output = anyhow::Result<Vec<PartnerMonth>>> + Send;
}

/// Where report files are kept and how they are handed out.
pub trait FileStore: Send + Sync + 'static {
    /// Stores the local file at `path` as `key`, replacing what is there. MUST stream it from disk rather than
    /// read it whole: a report file may be larger than the function's memory.
    fn upload(&self, key: &str, path: &Path, content_type: &str) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// A link that downloads `key`, saved as `filename`, for anyone holding it. MUST stop working once `valid_for`
    /// has passed.
    fn download_link(
        &self,
        key: &str,
        filename: &str,
        valid_for: Duration,
    ) -> impl Future<Output = anyhow::Result<String>> + Send;
}
