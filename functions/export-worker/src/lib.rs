//! `export-worker`: turns `export.requested` messages from the exports queue into a CSV and an XLSX file of the
//! month's profit report in S3, and marks the export done with their keys.
//!
//! Memory stays bounded whatever the number of rows: rows stream from Postgres one at a time into both writers,
//! which write to temporary files (Lambda's `/tmp`), and the files stream from disk to S3. An export is safe to
//! redo: the objects' keys are fixed by the export id, so a second run replaces them with the same content, and a
//! done export is left alone. A month without a report fails the export (visible through the API), not the message.
//!
//! This crate must not hold SQL.

use niaga_aws::files::Files;
use platform::sqs::{Message, MessageError, MessageHandler};
use reports::{Cell, CsvWriter, XlsxWriter};
use serde_json::Value;
use std::io::BufWriter;
use std::path::PathBuf;
use store::exports::{PgExports, ProfitRow, REQUESTED_EVENT};

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

/// The object keys of an export's files.
pub fn keys(id: uuid::Uuid, month: chrono::NaiveDate) -> (String, String) {
    let m = month.format("%Y-%m");
    (
        format!("exports/{id}/profit-{m}.csv"),
        format!("exports/{id}/profit-{m}.xlsx"),
    )
}

fn cells(r: &ProfitRow) -> Vec<Cell> {
    vec![
        Cell::Integer(r.partner_id),
        r.partner_code.as_str().into(),
        r.partner_name.as_str().into(),
        r.tier.as_str().into(),
        Cell::Integer(i64::from(r.orders)),
        Cell::Integer(r.revenue),
        Cell::Integer(r.cost_of_goods),
        Cell::Integer(r.gross_margin),
        Cell::Integer(r.returns),
        Cell::Integer(r.dpp),
        Cell::Integer(r.ppn),
    ]
}

/// Writes `month`'s report as CSV and XLSX into `dir`; returns the data rows and the two paths.
pub async fn write_files(
    exports: &PgExports,
    month: chrono::NaiveDate,
    dir: &std::path::Path,
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

/// The worker.
#[derive(Debug)]
pub struct ExportWorker {
    exports: PgExports,
    files: Files,
}

impl ExportWorker {
    pub fn new(exports: PgExports, files: Files) -> Self {
        ExportWorker { exports, files }
    }
}

fn retry(cause: impl Into<anyhow::Error>) -> MessageError {
    MessageError::Retry {
        after: None,
        cause: cause.into(),
    }
}

/// The export id an `export.requested` body carries.
pub fn export_id(body: &str) -> Result<uuid::Uuid, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("event_type").and_then(Value::as_str) != Some(REQUESTED_EVENT) {
        return Err("not an export request".into());
    }
    v.get("payload")
        .and_then(|p| p.get("export_id"))
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| "no `payload.export_id` UUID".into())
}

impl MessageHandler for ExportWorker {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let id = export_id(&message.body).map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
        let export = self
            .exports
            .get(id)
            .await
            .map_err(retry)?
            .ok_or_else(|| MessageError::Poison(anyhow::anyhow!("no export {id}")))?;
        if export.status == "done" {
            return Ok(());
        }
        self.exports.start(id).await.map_err(retry)?;
        let dir = std::env::temp_dir().join(format!("niaga-export-{id}"));
        std::fs::create_dir_all(&dir).map_err(retry)?;
        let written = write_files(&self.exports, export.month, &dir).await;
        let result = async {
            let (rows, csv, xlsx) = written?;
            if rows == 0 {
                self.exports
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
            self.exports
                .finish(id, i32::try_from(rows)?, &csv_key, &xlsx_key)
                .await?;
            tracing::info!(export = %id, rows, "export written");
            Ok(())
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        result.map_err(retry)
    }
}
