//! `export-rss <database url> <YYYY-MM>`: writes that month's profit report as CSV and XLSX into a temporary folder
//! through export-worker's own code, then prints `{"rows", "peak_rss_kb", "csv_bytes", "xlsx_bytes"}`. The
//! benchmark runs it for a small and a large month: bounded memory means the two peaks are about the same.

use anyhow::Context;

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("usage: export-rss <database url> <YYYY-MM>")?;
    let month = args.next().context("usage: export-rss <database url> <YYYY-MM>")?;
    let month = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")?;
    // The local cluster accepts TCP only over TLS: verify-full against its CA.
    let ca: store::CaBundle = std::env::var("DATABASE_CA")
        .context("DATABASE_CA: the local cluster's CA certificate")?
        .parse()
        .map_err(|e: String| anyhow::anyhow!("DATABASE_CA: {e}"))?;
    let settings = store::DbSettings::verified(&url, ca);
    let db = store::Db::new(&settings, std::sync::Arc::new(store::StaticCredentials(None)))?;
    let exports = store::exports::PgExports::new(db);
    let dir = std::env::temp_dir().join(format!("niaga-export-rss-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (rows, csv, xlsx) = export_worker::write_files(&exports, month, &dir).await?;
    let report = serde_json::json!({
        "rows": rows,
        "peak_rss_kb": peak_rss_kb()?,
        "csv_bytes": std::fs::metadata(&csv)?.len(),
        "xlsx_bytes": std::fs::metadata(&xlsx)?.len(),
    });
    std::fs::remove_dir_all(&dir)?;
    println!("{report}");
    Ok(())
}
