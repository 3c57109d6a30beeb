//! Export memory: the peak RSS of writing a month's profit report (CSV and XLSX, export-worker's own code in the
//! `export-rss` probe) for a 1,000-row and a 50,000-row month, each in a fresh process. Bounded memory means the
//! large export peaks at about the small one's figure; the ratio between them is the result.

use crate::localdb;
use crate::services::step;
use anyhow::{bail, Context, Result};
use std::process::Command;

/// The probe binary.
pub const PROBE: &str = "export-rss";
const SMALL: i64 = 1_000;
const LARGE: i64 = 50_000;

async fn prepare(admin_url: &str, db_url: &str) -> Result<()> {
    localdb::prepare(admin_url, "niaga_bench_exports", None).await?;
    let client = localdb::connect(db_url).await?;
    client
        .batch_execute(
            "DELETE FROM profit_reports WHERE month IN ('2001-01-01', '2001-02-01');
             DELETE FROM partners WHERE code LIKE 'EXPBENCH-%';",
        )
        .await?;
    client
        .execute(
            "WITH p AS (
                 INSERT INTO partners (code, name, tier, lat_e6, lon_e6, credit_limit)
                 SELECT format('EXPBENCH-%s', lpad(g::text, 6, '0')), 'Toko Mitra Sejahtera ' || g, 'silver',
                        -6200000, 106816666, 0
                 FROM generate_series(1, $1::int8) AS g
                 RETURNING id)
             INSERT INTO profit_reports (month, partner_id, orders, revenue, cost_of_goods, gross_margin, returns)
             SELECT m.month, p.id, 12, 125000000 + p.id, 90000000, 35000000 + p.id, 150000
             FROM p, (VALUES ('2001-02-01'::date)) AS m (month)",
            &[&LARGE],
        )
        .await?;
    client
        .execute(
            "INSERT INTO profit_reports (month, partner_id, orders, revenue, cost_of_goods, gross_margin, returns)
             SELECT '2001-01-01', id, 12, 125000000, 90000000, 35000000, 0 FROM partners
             WHERE code LIKE 'EXPBENCH-%' ORDER BY id LIMIT $1",
            &[&SMALL],
        )
        .await?;
    Ok(())
}

fn probe(db_url: &str, month: &str) -> Result<serde_json::Value> {
    let out = Command::new(crate::bin_path("release", PROBE))
        .args([db_url, month])
        .env("DATABASE_CA", crate::pgtls::ca_path())
        .output()
        .with_context(|| format!("running {PROBE}"))?;
    if !out.status.success() {
        bail!("{PROBE} {month} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{PROBE} printed no report"))
}

/// Runs the probe and returns the markdown table.
pub async fn run(pg: &crate::services::Postgres) -> Result<String> {
    let db_url = pg.url("niaga_bench_exports");
    step(format!(
        "exports: {SMALL} and {LARGE} profit rows, peak RSS of writing both formats"
    ));
    prepare(&pg.url("postgres"), &db_url).await?;
    let small = probe(&db_url, "2001-01")?;
    let large = probe(&db_url, "2001-02")?;
    let kb = |v: &serde_json::Value| v["peak_rss_kb"].as_f64().unwrap_or(0.0);
    let mb = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0) / 1_048_576.0;
    for (v, n) in [(&small, SMALL), (&large, LARGE)] {
        if v["rows"].as_i64() != Some(n) {
            bail!("{PROBE} wrote {} rows, not {n}", v["rows"]);
        }
    }
    let mut t = String::from("| export (CSV + XLSX) | rows | peak RSS | CSV | XLSX | peak RSS / 1,000-row export |\n");
    t.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (label, v) in [("small month", &small), ("large month", &large)] {
        t.push_str(&format!(
            "| {label} | {} | {:.1} MB | {:.2} MB | {:.2} MB | {:.2}× |\n",
            v["rows"],
            kb(v) / 1024.0,
            mb(v, "csv_bytes"),
            mb(v, "xlsx_bytes"),
            kb(v) / kb(&small)
        ));
    }
    t.push_str(&format!(
        "\nEach export runs in a fresh process; 50× the rows at {:.2}× the memory is what \"bounded\" means here.\n",
        kb(&large) / kb(&small)
    ));
    Ok(t)
}
