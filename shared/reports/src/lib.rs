//! Reports: the monthly profit report and its exports. This crate is their application layer: the use cases, the
//! ports they go through, and the file formats they write.
//!
//! # Layout
//! - [`profit`]: the profit report's rules and [`ProfitReports`], which recomputes a month through the
//!   [`ProfitLedger`].
//! - [`exports`]: [`ProfitExports`], which takes export requests ([`ExportRequest`], the body the API documents),
//!   writes a month's report as CSV and XLSX in bounded memory, and hands the files out through short-lived
//!   download links.
//! - [`ports`]: export storage ([`ExportStore`]), the profit ledger ([`ProfitLedger`]) and file storage with
//!   presigned links ([`FileStore`]), with what implementations must do.
//! - [`formats`]: report files written one row at a time: [`CsvWriter`] and [`XlsxWriter`].
//!
//! Money is whole rupiah, never floating point.
//!
//! Application crate: depends on `kernel` only among Niaga crates. It must not depend on I/O crates (Postgres, the
//! AWS SDK, HTTP, Lambda) nor on `store`, `niaga-aws` or `platform`: storage arrives through its ports, and of the
//! machine it uses only local temporary files for the exports it writes.

pub mod exports;
pub mod formats;
pub mod ports;
pub mod profit;

pub use exports::{
    CreatedExport, Downloads, Export, ExportError, ExportRequest, InvalidExport, NewExport, ProduceExportError,
    ProfitExports, ProfitRow, RequestExportError, LINK_VALIDITY,
};
pub use formats::{Cell, CsvWriter, ReportError, XlsxWriter};
pub use ports::{ExportStore, FileStore, ProfitLedger};
pub use profit::{MonthRecomputed, PartnerMonth, ProfitReports};
