//! Profit report exports: requested by an admin for a month, written as a CSV and an XLSX file, handed out through
//! short-lived download links.
//!
//! Memory stays bounded whatever the number of rows: rows stream from the [`ExportStore`] one at a time into both
//! writers, which write to local temporary files, and the [`FileStore`] streams the files from disk. An export is
//! safe to redo: the files' keys are fixed by the export id, so a second run replaces them with the same content,
//! and a done export is left alone. A month without a report fails the export (visible through the API).

use crate::formats::{Cell, CsvWriter, XlsxWriter};
use crate::ports::{ExportStore, FileStore};
use crate::profit::PartnerMonth;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::IdempotencyKey;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

/// The outbox event that enqueues an export.
pub const REQUESTED_EVENT: &str = kernel::EventType::ExportRequested.as_str();

/// How long a download link works.
pub const LINK_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// The header row.
pub const HEADER: [&str; 11] = [
    "partner_id",
    "partner_code",
    "partner_name",
    "tier",
    "orders",
    "revenue_idr",
    "cost_of_goods_idr",
    "gross_margin_idr",
    "returns_idr",
    "dpp_idr",
    "ppn_idr",
];

/// One export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub id: Uuid,
    pub month: NaiveDate,
    pub status: String,
    pub rows: Option<i32>,
    pub csv_key: Option<String>,
    pub xlsx_key: Option<String>,
    pub error: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What creating an export found.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatedExport {
    New(Export),
    Replayed(Export),
    KeyReused,
}

/// One row of the profit report, as exported: the partner and their month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfitRow {
    pub partner_code: String,
    pub partner_name: String,
    pub tier: String,
    pub month: PartnerMonth,
}

/// An export to create.
#[derive(Debug)]
pub struct NewExport<'a> {
    pub id: Uuid,
    /// The report's month (its first day).
    pub month: NaiveDate,
    pub requested_by: &'a str,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
}

/// The object keys of an export's files.
pub fn keys(id: Uuid, month: NaiveDate) -> (String, String) {
    let m = month.format("%Y-%m");
    (
        format!("exports/{id}/profit-{m}.csv"),
        format!("exports/{id}/profit-{m}.xlsx"),
    )
}

fn cells(r: &ProfitRow) -> Vec<Cell> {
    let m = &r.month;
    vec![
        Cell::Integer(m.partner_id),
        r.partner_code.as_str().into(),
        r.partner_name.as_str().into(),
        r.tier.as_str().into(),
        Cell::Integer(m.orders),
        Cell::Integer(m.revenue),
        Cell::Integer(m.cost_of_goods),
        Cell::Integer(m.gross_margin),
        Cell::Integer(m.returns),
        Cell::Integer(m.dpp),
        Cell::Integer(m.ppn),
    ]
}

/// Writes `month`'s report as CSV and XLSX into `dir`; returns the data rows and the two paths.
pub async fn write_files<E: ExportStore>(
    exports: &E,
    month: NaiveDate,
    dir: &Path,
) -> anyhow::Result<(u64, PathBuf, PathBuf)> {
    let (csv_path, xlsx_path) = (dir.join("report.csv"), dir.join("report.xlsx"));
    let mut csv = CsvWriter::new(BufWriter::new(std::fs::File::create(&csv_path)?));
    let mut xlsx = XlsxWriter::new(
        BufWriter::new(std::fs::File::create(&xlsx_path)?),
        &format!("Laba {}", month.format("%Y-%m")),
    )?;
    let header: Vec<Cell> = HEADER.iter().map(|h| Cell::from(*h)).collect();
    csv.row(&header)?;
    xlsx.row(&header)?;
    let rows = exports
        .for_each_profit_row(month, |r| {
            let c = cells(&r);
            csv.row(&c)?;
            xlsx.row(&c)?;
            Ok(())
        })
        .await?;
    csv.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    xlsx.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok((rows, csv_path, xlsx_path))
}

/// Why an export request was refused: `field` breaks a rule, and `reason` completes "`<field>` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct InvalidExport {
    pub field: String,
    pub reason: String,
}

fn invalid(field: &str, reason: &str) -> InvalidExport {
    InvalidExport {
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

/// `POST /reports/profit-exports`'s body: the month whose profit report to export. A refusal names the member at
/// fault.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `YYYY-MM`, not in the future.
    #[schemars(regex(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: String,
}

impl ExportRequest {
    /// Reads a request body (`{"month": "2026-10"}`); a refusal names the member at fault. [`Self::month`] then
    /// checks the month.
    pub fn from_json(body: &Value) -> Result<ExportRequest, InvalidExport> {
        if !body.is_object() {
            return Err(invalid("body", "must be a JSON object with `month`"));
        }
        serde_path_to_error::deserialize(body).map_err(|e| {
            let reason = e.inner().to_string();
            // serde reports a missing member at the object that lacks it: the member is named in the message.
            match reason.strip_prefix("missing field `").and_then(|r| r.split_once('`')) {
                Some((missing, _)) => invalid(missing, "is required, as YYYY-MM"),
                None => invalid(&e.path().to_string(), &reason),
            }
        })
    }

    /// The month's first day, which must not be after `today`.
    pub fn month(&self, today: NaiveDate) -> Result<NaiveDate, InvalidExport> {
        let malformed = || invalid("month", "must be YYYY-MM, such as 2026-10");
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let (year, month) = self
            .month
            .split_once('-')
            .filter(|(y, m)| digits(y, 4) && digits(m, 2))
            .ok_or_else(malformed)?;
        let first = NaiveDate::from_ymd_opt(
            year.parse().map_err(|_| malformed())?,
            month.parse().map_err(|_| malformed())?,
            1,
        )
        .ok_or_else(malformed)?;
        if first > today {
            return Err(invalid("month", "must not be in the future"));
        }
        Ok(first)
    }
}

/// Why an export was not requested. Nothing is stored for any of these.
#[derive(Debug, thiserror::Error)]
pub enum RequestExportError {
    #[error(transparent)]
    Invalid(#[from] InvalidExport),
    #[error("export storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why reading an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no such export")]
    NotFound,
    #[error("export storage unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// Why producing an export's files stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProduceExportError {
    /// There is no such export: the request can never be produced.
    #[error("no export {0}")]
    NoSuchExport(Uuid),
    /// A passing failure (storage, the local disk, the file store): the next attempt may succeed.
    #[error(transparent)]
    Retry(anyhow::Error),
}

/// A done export's download links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloads {
    /// `csv` and `xlsx`, each a link.
    pub links: BTreeMap<String, String>,
    /// How long the links work.
    pub valid_for: Duration,
}

/// Profit exports over export storage and file storage.
#[derive(Debug)]
pub struct ProfitExports<E, F> {
    store: E,
    files: F,
}

fn retry(cause: impl Into<anyhow::Error>) -> ProduceExportError {
    ProduceExportError::Retry(cause.into())
}

impl<E: ExportStore, F: FileStore> ProfitExports<E, F> {
    pub fn new(store: E, files: F) -> Self {
        ProfitExports { store, files }
    }

    pub fn store(&self) -> &E {
        &self.store
    }

    /// Requests an export of the month `body` names for `requested_by` under `key`; a key used before answers the
    /// first export or [`CreatedExport::KeyReused`].
    pub async fn request(
        &self,
        requested_by: &str,
        key: &IdempotencyKey,
        body: &Value,
    ) -> Result<CreatedExport, RequestExportError> {
        let month = ExportRequest::from_json(body)?.month(Utc::now().date_naive())?;
        self.store
            .create(&NewExport {
                id: Uuid::new_v4(),
                month,
                requested_by,
                key,
                fingerprint: &kernel::fingerprint(body),
            })
            .await
            .map_err(RequestExportError::Unavailable)
    }

    /// The export with this id.
    pub async fn export(&self, id: Uuid) -> Result<Export, ExportError> {
        self.store
            .get(id)
            .await
            .map_err(ExportError::Unavailable)?
            .ok_or(ExportError::NotFound)
    }

    /// Download links for a done export's files, each saved as `laba-<month>.<format>`; `None` until it is done.
    pub async fn downloads(&self, e: &Export) -> anyhow::Result<Option<Downloads>> {
        if e.status != "done" {
            return Ok(None);
        }
        let m = e.month.format("%Y-%m");
        let mut links = BTreeMap::new();
        for (format, key) in [("csv", &e.csv_key), ("xlsx", &e.xlsx_key)] {
            if let Some(key) = key {
                let url = self
                    .files
                    .download_link(key, &format!("laba-{m}.{format}"), LINK_VALIDITY)
                    .await?;
                links.insert(format.to_string(), url);
            }
        }
        Ok(Some(Downloads {
            links,
            valid_for: LINK_VALIDITY,
        }))
    }

    /// Writes export `id`'s files and records them, unless it is done already.
    pub async fn produce(&self, id: Uuid) -> Result<(), ProduceExportError> {
        let export = self
            .store
            .get(id)
            .await
            .map_err(retry)?
            .ok_or(ProduceExportError::NoSuchExport(id))?;
        if export.status == "done" {
            return Ok(());
        }
        self.store.start(id).await.map_err(retry)?;
        let dir = std::env::temp_dir().join(format!("niaga-export-{id}"));
        std::fs::create_dir_all(&dir).map_err(retry)?;
        let written = write_files(&self.store, export.month, &dir).await;
        let result = async {
            let (rows, csv, xlsx) = written?;
            if rows == 0 {
                self.store
                    .fail(
                        id,
                        &format!("there is no profit report for {}", export.month.format("%Y-%m")),
                    )
                    .await?;
                return Ok::<_, anyhow::Error>(());
            }
            let (csv_key, xlsx_key) = keys(id, export.month);
            self.files.upload(&csv_key, &csv, "text/csv; charset=utf-8").await?;
            self.files
                .upload(
                    &xlsx_key,
                    &xlsx,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
                .await?;
            self.store.finish(id, i32::try_from(rows)?, &csv_key, &xlsx_key).await?;
            tracing::info!(export = %id, rows, "export written");
            Ok(())
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        result.map_err(retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn month(body: Value) -> Result<NaiveDate, String> {
        let today = NaiveDate::from_ymd_opt(2026, 10, 15).unwrap();
        ExportRequest::from_json(&body)
            .and_then(|r| r.month(today))
            .map_err(|e| e.field)
    }

    #[test]
    fn a_past_or_current_month_reads_as_its_first_day() {
        assert_eq!(
            month(json!({"month": "2026-10"})),
            Ok(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
        );
        assert_eq!(
            month(json!({"month": "1999-01"})),
            Ok(NaiveDate::from_ymd_opt(1999, 1, 1).unwrap())
        );
    }

    #[test]
    fn bad_requests_name_the_member_at_fault() {
        for (body, field) in [
            (json!(["2026-10"]), "body"),
            (json!("2026-10"), "body"),
            (json!({}), "month"),
            (json!({"month": 202610}), "month"),
            (json!({"month": "2026-10", "format": "csv"}), "format"),
            (json!({"month": "2026-13'; --"}), "month"),
            (json!({"month": "2026-13"}), "month"),
            (json!({"month": "2026-00"}), "month"),
            (json!({"month": "2026-1"}), "month"),
            (json!({"month": "+202-10"}), "month"),
            (json!({"month": "2026-11"}), "month"),
        ] {
            assert_eq!(month(body.clone()), Err(field.to_string()), "{body}");
        }
    }
}
