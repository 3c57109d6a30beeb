//! The ERP's documents as the fake reads and writes them: Indonesian field names, amounts as decimal strings with
//! two decimals, dates `dd/mm/yyyy HH:MM:SS` in WIB (UTC+7).
//!
//! Feed rows keep amounts and codes as the strings (and quantities as the signed numbers) the ERP sends, so a test
//! can serve a row the client must skip: a bad SKU, a negative quantity, an amount that is not one.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// A row of `GET /api/v1/stok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRow {
    #[serde(rename = "KodeGudang")]
    pub warehouse: String,
    #[serde(rename = "KodeBarang")]
    pub sku: String,
    #[serde(rename = "QtyFisik")]
    pub on_hand: i64,
}

/// A row of `GET /api/v1/piutang`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    #[serde(rename = "KodePelanggan")]
    pub partner: String,
    /// e.g. `"2500000.00"`.
    #[serde(rename = "SaldoPiutang")]
    pub balance: String,
}

/// A row of `GET /api/v1/harga-pokok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostPriceRow {
    #[serde(rename = "KodeBarang")]
    pub sku: String,
    /// e.g. `"80000.00"`.
    #[serde(rename = "HargaPokok")]
    pub cost: String,
}

impl StockRow {
    pub fn new(warehouse: &str, sku: &str, on_hand: i64) -> Self {
        StockRow {
            warehouse: warehouse.to_string(),
            sku: sku.to_string(),
            on_hand,
        }
    }
}

impl BalanceRow {
    pub fn new(partner: &str, balance: &str) -> Self {
        BalanceRow {
            partner: partner.to_string(),
            balance: balance.to_string(),
        }
    }
}

impl CostPriceRow {
    pub fn new(sku: &str, cost: &str) -> Self {
        CostPriceRow {
            sku: sku.to_string(),
            cost: cost.to_string(),
        }
    }
}

/// A movement of goods for a sales order, a row of `GET /api/v1/mutasi`: a delivery note (`KIRIM`, `NoDok`
/// `SJ-…`) or a return received back into stock (`RETUR`, `NoDok` `RT-…`). `Urutan` numbers every movement in the
/// order the ERP booked it; the stock feed says up to which `Urutan` its numbers include.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementRow {
    #[serde(rename = "NoDok")]
    pub document_no: String,
    /// `KIRIM` or `RETUR`.
    #[serde(rename = "Jenis")]
    pub kind: String,
    #[serde(rename = "Urutan")]
    pub seq: u64,
    /// The sales order's NoRef: Niaga's order id.
    #[serde(rename = "NoRef")]
    pub no_ref: String,
    #[serde(rename = "NoPesanan")]
    pub no_pesanan: String,
    #[serde(rename = "Tanggal")]
    pub date: String,
    #[serde(rename = "Detail")]
    pub lines: Vec<MovementLine>,
}

/// One line of a movement. Signed on the wire, like stock, so a test can serve a line the client must skip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementLine {
    #[serde(rename = "KodeGudang")]
    pub warehouse: String,
    #[serde(rename = "KodeBarang")]
    pub sku: String,
    #[serde(rename = "Qty")]
    pub qty: i64,
}

impl MovementLine {
    pub fn new(warehouse: &str, sku: &str, qty: i64) -> Self {
        MovementLine {
            warehouse: warehouse.to_string(),
            sku: sku.to_string(),
            qty,
        }
    }
}

/// The body of `POST /api/v1/pesanan`, before the fake checks it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Pesanan {
    #[serde(rename = "NoRef")]
    pub no_ref: String,
    #[serde(rename = "KodePelanggan")]
    pub kode_pelanggan: String,
    #[serde(rename = "TglPesan")]
    pub tgl_pesan: String,
    #[serde(rename = "Total")]
    pub total: String,
    #[serde(rename = "Pajak", default)]
    pub pajak: Vec<Pajak>,
    #[serde(rename = "TotalBayar")]
    pub total_bayar: Option<String>,
    #[serde(rename = "TerminHari")]
    pub termin_hari: Option<u32>,
    #[serde(rename = "Detail")]
    pub detail: Vec<PesananDetail>,
}

/// A tax line.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Pajak {
    #[serde(rename = "Jenis")]
    pub jenis: String,
    #[serde(rename = "KodeTransaksi")]
    pub kode_transaksi: String,
    #[serde(rename = "Dpp")]
    pub dpp: String,
    #[serde(rename = "Tarif")]
    pub tarif: String,
    #[serde(rename = "Nilai")]
    pub nilai: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PesananDetail {
    #[serde(rename = "KodeBarang")]
    pub kode_barang: String,
    #[serde(rename = "KodeGudang")]
    pub kode_gudang: String,
    #[serde(rename = "Qty")]
    pub qty: u32,
    #[serde(rename = "Harga")]
    pub harga: String,
}

impl Pesanan {
    /// The ERP's checks on a sales order, with its own (Indonesian) reasons. `Ok` means it would take the order.
    pub fn check(&self) -> Result<(), String> {
        if self.no_ref.trim().is_empty() {
            return Err("NoRef kosong".into());
        }
        if self.kode_pelanggan.trim().is_empty() {
            return Err("KodePelanggan kosong".into());
        }
        if !is_wib_timestamp(&self.tgl_pesan) {
            return Err(format!("TglPesan tidak valid: {:?}", self.tgl_pesan));
        }
        let total = amount_sen(&self.total).ok_or_else(|| format!("Total tidak valid: {:?}", self.total))?;
        if self.detail.is_empty() {
            return Err("Detail kosong".into());
        }
        let mut sum: i128 = 0;
        for (i, d) in self.detail.iter().enumerate() {
            let line = i + 1;
            if d.kode_barang.trim().is_empty() || d.kode_gudang.trim().is_empty() {
                return Err(format!("Detail baris {line}: KodeBarang dan KodeGudang wajib diisi"));
            }
            if d.qty == 0 {
                return Err(format!("Detail baris {line}: Qty harus lebih dari 0"));
            }
            let harga = amount_sen(&d.harga).ok_or_else(|| format!("Detail baris {line}: Harga tidak valid"))?;
            sum += i128::from(d.qty) * i128::from(harga);
        }
        if sum != i128::from(total) {
            return Err("Total tidak sesuai dengan jumlah Qty x Harga".into());
        }
        if self.termin_hari.is_some_and(|d| !(1..=365).contains(&d)) {
            return Err("TerminHari harus 1 sampai 365".into());
        }
        let mut tax = 0i128;
        for (i, p) in self.pajak.iter().enumerate() {
            tax += i128::from(p.check(total).map_err(|e| format!("Pajak baris {}: {e}", i + 1))?);
        }
        match &self.total_bayar {
            None if self.pajak.is_empty() => Ok(()),
            None => Err("TotalBayar wajib diisi bila ada Pajak".into()),
            Some(t) => {
                let bayar = amount_sen(t).ok_or_else(|| format!("TotalBayar tidak valid: {t:?}"))?;
                if i128::from(bayar) != i128::from(total) + tax {
                    return Err("TotalBayar tidak sesuai dengan Total ditambah Pajak".into());
                }
                Ok(())
            }
        }
    }
}

impl Pajak {
    /// The ERP's rules for a PPN line on a sale of `total` (hundredths): the base is the price (code 01) or, for
    /// code 04, the DPP nilai lain of 11/12 of it at the 12 % tariff (PMK 131/2024), shown in whole rupiah
    /// without going above the exact base; the tax is the tariff on the exact base, rounded down to a whole rupiah.
    /// Returns the tax in hundredths.
    fn check(&self, total: i64) -> Result<i64, String> {
        if self.jenis != "PPN" {
            return Err(format!("Jenis pajak tidak dikenal: {:?}", self.jenis));
        }
        let rupiah = |name: &str, text: &str| {
            amount_sen(text)
                .filter(|sen| sen % 100 == 0)
                .map(|sen| i128::from(sen / 100))
                .ok_or_else(|| format!("{name} harus rupiah utuh: {text:?}"))
        };
        let tarif = i128::from(amount_sen(&self.tarif).ok_or_else(|| format!("Tarif tidak valid: {:?}", self.tarif))?);
        let (dpp, nilai, total) = (
            rupiah("Dpp", &self.dpp)?,
            rupiah("Nilai", &self.nilai)?,
            i128::from(total / 100),
        );
        let (num, den) = match self.kode_transaksi.as_str() {
            "01" => (1, 1),
            "04" if tarif == 1_200 => (11, 12),
            "04" => return Err("KodeTransaksi 04 berlaku untuk tarif 12%".into()),
            other => return Err(format!("KodeTransaksi tidak dikenal: {other:?}")),
        };
        // den × Dpp ≤ num × Total < den × (Dpp + 1): the base, rounded down to a rupiah.
        if !(den * dpp <= num * total && num * total < den * (dpp + 1)) {
            return Err("Dpp tidak sesuai dengan Total".into());
        }
        if nilai != total * num * tarif / (den * 10_000) {
            return Err("Nilai PPN tidak sesuai dengan Tarif x DPP (dibulatkan ke bawah)".into());
        }
        i64::try_from(nilai * 100).map_err(|_| "Nilai terlalu besar".to_string())
    }
}

/// A non-negative amount in the ERP's format, exactly two decimals (`"1250000.00"`), in hundredths.
pub(crate) fn amount_sen(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.len() != 2 || !digits(fraction) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = fraction.parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// Whether `text` is `dd/mm/yyyy HH:MM:SS` with every field in range (day-of-month not checked against the month).
fn is_wib_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 19 || b[2] != b'/' || b[5] != b'/' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        let s = text.get(from..to)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let fields = (
        number(0, 2),
        number(3, 5),
        number(6, 10),
        number(11, 13),
        number(14, 16),
        number(17, 19),
    );
    match fields {
        (Some(d), Some(m), Some(_), Some(h), Some(min), Some(s)) => {
            (1..=31).contains(&d) && (1..=12).contains(&m) && h < 24 && min < 60 && s < 60
        }
        _ => false,
    }
}

/// WIB is UTC+7 all year (Indonesia has no daylight saving).
const WIB_OFFSET_SECS: i64 = 7 * 3600;

/// The current time in WIB as the ERP writes it, and the current WIB year.
pub(crate) fn now_wib() -> (String, i64) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    wib(secs)
}

/// `unix_secs` as a WIB timestamp `dd/mm/yyyy HH:MM:SS`, and its year.
pub(crate) fn wib(unix_secs: i64) -> (String, i64) {
    let local = unix_secs.saturating_add(WIB_OFFSET_SECS);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{d:02}/{m:02}/{y:04} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    (text, y)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard Hinnant's algorithm),
/// so the fake needs no date library.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pesanan(pajak: serde_json::Value, bayar: &str) -> Pesanan {
        serde_json::from_value(serde_json::json!({
            "NoRef": "r", "KodePelanggan": "17", "TglPesan": "28/11/2026 10:15:07", "Total": "1250000.00",
            "Pajak": pajak, "TotalBayar": bayar,
            "Detail": [{"KodeBarang": "A", "KodeGudang": "W", "Qty": 1, "Harga": "1250000.00"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_ppn_line_must_follow_pmk_131_2024_and_add_up() {
        let line = |dpp: &str, nilai: &str| serde_json::json!([{"Jenis": "PPN", "KodeTransaksi": "04", "Dpp": dpp, "Tarif": "12.00", "Nilai": nilai}]);
        assert_eq!(pesanan(line("1145833.00", "137500.00"), "1387500.00").check(), Ok(()));
        for (dpp, nilai, bayar) in [
            ("1145834.00", "137500.00", "1387500.00"), // DPP above 11/12 of the price
            ("1145832.00", "137500.00", "1387500.00"), // DPP more than a rupiah below it
            ("1145833.00", "137499.00", "1387499.00"), // tax rounded twice
            ("1145833.00", "137500.00", "1387501.00"), // does not add up
            ("1145833.00", "137500.50", "1387500.50"), // a fraction of a rupiah
        ] {
            assert!(
                pesanan(line(dpp, nilai), bayar).check().is_err(),
                "{dpp} {nilai} {bayar}"
            );
        }
        let full = serde_json::json!([{"Jenis": "PPN", "KodeTransaksi": "01", "Dpp": "1250000.00", "Tarif": "11.00",
                                       "Nilai": "137500.00"}]);
        assert_eq!(pesanan(full, "1387500.00").check(), Ok(()));
        assert_eq!(pesanan(serde_json::json!([]), "1250000.00").check(), Ok(()));
    }

    #[test]
    fn amounts_need_exactly_two_decimals() {
        assert_eq!(amount_sen("1250000.00"), Some(125_000_000));
        assert_eq!(amount_sen("0.05"), Some(5));
        for bad in [
            "1250000",
            "1250000.0",
            "1.250.000",
            "-1.00",
            "1e3.00",
            "",
            ".00",
            "12.345",
        ] {
            assert_eq!(amount_sen(bad), None, "{bad}");
        }
    }

    #[test]
    fn wib_is_seven_hours_ahead_of_utc_and_crosses_midnight() {
        // 2026-11-28T03:15:07Z
        assert_eq!(wib(1_795_835_707), ("28/11/2026 10:15:07".to_string(), 2026));
        // 2026-12-31T20:00:00Z is already new year in Jakarta.
        assert_eq!(wib(1_798_747_200), ("01/01/2027 03:00:00".to_string(), 2027));
    }

    #[test]
    fn the_epoch_and_a_leap_day_come_out_right() {
        assert_eq!(wib(-WIB_OFFSET_SECS).0, "01/01/1970 00:00:00");
        // 2024-02-29T00:00:00+07:00
        assert_eq!(wib(1_709_139_600).0, "29/02/2024 00:00:00");
    }

    #[test]
    fn timestamps_are_checked_field_by_field() {
        assert!(is_wib_timestamp("28/11/2026 10:15:07"));
        for bad in [
            "2026-11-28 10:15:07",
            "28/13/2026 10:15:07",
            "28/11/2026 24:00:00",
            "28/11/2026 10:15",
        ] {
            assert!(!is_wib_timestamp(bad), "{bad}");
        }
    }
}
