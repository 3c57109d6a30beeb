//! The ERP's documents, field for field: Indonesian names (`NoRef`, `KodeBarang`…), amounts as strings, dates as
//! WIB strings. Private to this crate: nothing else in Niaga may see these shapes, so an ERP change stops here.
//!
//! Feed rows are read one by one from `Data` (see [`Daftar`]) so that one bad row is skipped rather than failing
//! the whole feed.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/pesanan`: a sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Pesanan {
    /// Niaga's order id: the ERP deduplicates on it.
    pub no_ref: String,
    pub kode_pelanggan: String,
    pub tgl_pesan: String,
    /// The selling price (harga jual), before tax: Σ Qty × Harga.
    pub total: String,
    /// The tax lines; none for an order placed before Niaga charged PPN.
    pub pajak: Vec<Pajak>,
    /// What the partner owes: `Total` + Σ `Pajak.Nilai`.
    pub total_bayar: String,
    /// Days of credit for an order on payment terms: the ERP invoices it, due that many days after `TglPesan`.
    /// Absent for an order paid through the gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termin_hari: Option<u32>,
    pub detail: Vec<PesananDetail>,
}

/// A tax line of a sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Pajak {
    /// `PPN`.
    pub jenis: String,
    /// The faktur's transaction code: `04` when the base is DPP nilai lain, `01` when it is the price itself.
    pub kode_transaksi: String,
    pub dpp: String,
    /// The tariff in percent with two decimals (`"12.00"`).
    pub tarif: String,
    pub nilai: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PesananDetail {
    pub kode_barang: String,
    pub kode_gudang: String,
    pub qty: u32,
    pub harga: String,
}

/// The answer to a sales order: 201 `DITERIMA` (taken) or 200 `SUDAH_ADA` (that NoRef was taken before).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PesananJawaban {
    pub no_pesanan: String,
    pub no_ref: String,
    pub status: String,
}

pub(crate) const DITERIMA: &str = "DITERIMA";
pub(crate) const SUDAH_ADA: &str = "SUDAH_ADA";

/// A refusal (422, and other errors when the ERP explains itself).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Penolakan {
    pub pesan: String,
}

/// A feed: rows as of a time. Rows stay raw JSON until each is translated on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Daftar {
    pub data: Vec<serde_json::Value>,
    pub per: String,
    /// The last movement (shipment or return) the ERP had booked: stock rows include every movement up to it.
    #[serde(default)]
    pub urutan: Option<u64>,
}

/// A row of `GET /api/v1/mutasi`: a delivery note (`KIRIM`) or a return into stock (`RETUR`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MutasiBaris {
    pub no_dok: String,
    pub jenis: String,
    pub urutan: u64,
    pub no_ref: String,
    pub detail: Vec<MutasiDetail>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MutasiDetail {
    pub kode_gudang: String,
    pub kode_barang: String,
    /// Signed on the wire; a movement with a line of 0 or less is skipped whole at translation.
    pub qty: i64,
}

pub(crate) const KIRIM: &str = "KIRIM";
pub(crate) const RETUR: &str = "RETUR";

/// A row of `GET /api/v1/stok`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StokBaris {
    pub kode_gudang: String,
    pub kode_barang: String,
    /// Signed on the wire; a negative count is skipped at translation.
    pub qty_fisik: i64,
}

/// A row of `GET /api/v1/piutang`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PiutangBaris {
    pub kode_pelanggan: String,
    pub saldo_piutang: String,
}

/// A row of `GET /api/v1/harga-pokok`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HargaPokokBaris {
    pub kode_barang: String,
    pub harga_pokok: String,
}
