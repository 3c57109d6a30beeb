//! `export-worker`: turns `export.requested` messages from the exports queue into a CSV and an XLSX file of the
//! month's profit report, through [`reports::ProfitExports`], which writes them in bounded memory, stores them,
//! and marks the export done with their keys (or failed, for a month without a report).
//!
//! This crate maps the outcome to the queue: a body that is not an export request, or names no export, is a poison
//! message; any other failure is retried. It must not hold SQL or name the adapters, which `main` wires in.

use lambda_glue::sqs::{Message, MessageError, MessageHandler};
use reports::{ExportStore, FileStore, ProduceExportError, ProfitExports};
use serde_json::Value;

pub use reports::exports::write_files;

/// The worker over export storage `E` and file storage `F`.
#[derive(Debug)]
pub struct ExportWorker<E, F> {
    exports: ProfitExports<E, F>,
}

impl<E: ExportStore, F: FileStore> ExportWorker<E, F> {
    pub fn new(exports: E, files: F) -> Self {
        ExportWorker {
            exports: ProfitExports::new(exports, files),
        }
    }
}

/// The export id an `export.requested` body carries.
pub fn export_id(body: &str) -> Result<uuid::Uuid, String> {
    let event = kernel::Envelope::from_body(body).map_err(|e| format!("not an outbox event: {e}"))?;
    if event.kind() != Some(kernel::EventType::ExportRequested) {
        return Err("not an export request".into());
    }
    event
        .payload
        .get("export_id")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| "no `payload.export_id` UUID".into())
}

impl<E: ExportStore, F: FileStore> MessageHandler for ExportWorker<E, F> {
    async fn handle(&self, message: &Message) -> Result<(), MessageError> {
        let id = export_id(&message.body).map_err(|e| MessageError::Poison(anyhow::anyhow!(e)))?;
        self.exports.produce(id).await.map_err(|e| match e {
            ProduceExportError::NoSuchExport(_) => MessageError::Poison(anyhow::Error::new(e)),
            ProduceExportError::Retry(cause) => MessageError::Retry { after: None, cause },
        })
    }
}
