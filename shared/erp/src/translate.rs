//! Translation at the boundary: Niaga's order to the ERP's sales order, and the ERP's replies and feeds to
//! Niaga's types. Pure functions, so every rule is tested without a network.

use crate::amount::{format_amount, parse_amount, parse_non_negative};
use crate::documents::{
    Daftar, HargaPokokBaris, MutasiBaris, Pajak, Penolakan, Pesanan, PesananDetail, PesananJawaban, PiutangBaris,
    StokBaris, DITERIMA, KIRIM, RETUR, SUDAH_ADA,
};
use crate::time::{format_wib, parse_wib};
use kernel::Sku;
use orders::Order;
use serde::de::DeserializeOwned;
use supply_sync::{
    Delivery, ErpBalance, ErpCostPrice, ErpError, ErpMovement, ErpStock, MovedLine, MovementKind, Snapshot,
};

/// How much of an unexpected body goes into an error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// An order as the ERP's sales order, with its PPN as a tax line (none for an order placed before Niaga charged
/// PPN). The order id is the NoRef, so sending the same order twice is one order in the ERP. Nothing is checked
/// here: the ERP is the judge of its documents, and a refusal comes back as [`ErpError::Rejected`].
pub(crate) fn order_document(order: &Order) -> Pesanan {
    let t = &order.tax;
    let pajak = (t.ppn_tariff_bp > 0)
        .then(|| Pajak {
            jenis: "PPN".into(),
            kode_transaksi: if t.is_dpp_nilai_lain() { "04" } else { "01" }.into(),
            dpp: format_amount(t.dpp),
            tarif: format!("{}.{:02}", t.ppn_tariff_bp / 100, t.ppn_tariff_bp % 100),
            nilai: format_amount(t.ppn),
        })
        .into_iter()
        .collect();
    Pesanan {
        no_ref: order.id.to_string(),
        kode_pelanggan: order.partner_id.to_string(),
        tgl_pesan: format_wib(order.placed_at),
        total: format_amount(order.total),
        pajak,
        total_bayar: format_amount(t.total_incl_tax),
        termin_hari: order.payment_terms_days,
        detail: order
            .lines
            .iter()
            .map(|l| PesananDetail {
                kode_barang: l.sku.as_str().to_string(),
                kode_gudang: l.warehouse.clone(),
                qty: l.quantity,
                harga: format_amount(l.unit_price),
            })
            .collect(),
    }
}

/// The ERP's answer to a sales order it accepted (any 2xx). `Status` decides whether it was new; a reply about
/// another NoRef, without an order number or with an unknown status is not the documented shape.
pub(crate) fn delivery(no_ref: &str, body: &[u8]) -> Result<Delivery, ErpError> {
    let reply: PesananJawaban = serde_json::from_slice(body)
        .map_err(|e| ErpError::Malformed(format!("sales-order reply: {e}: {}", excerpt(body))))?;
    if !reply.no_ref.trim().eq_ignore_ascii_case(no_ref) {
        return Err(ErpError::Malformed(format!(
            "sales-order reply is about NoRef {:?}, not {no_ref}",
            reply.no_ref
        )));
    }
    let erp_order_no = reply.no_pesanan.trim();
    if erp_order_no.is_empty() {
        return Err(ErpError::Malformed("sales-order reply has an empty NoPesanan".into()));
    }
    let already_received = match reply.status.trim() {
        DITERIMA => false,
        SUDAH_ADA => true,
        other => {
            return Err(ErpError::Malformed(format!(
                "sales-order reply has an unknown Status {other:?}"
            )))
        }
    };
    Ok(Delivery {
        erp_order_no: erp_order_no.to_string(),
        already_received,
    })
}

/// The ERP's explanation of an error: its `Pesan` when the body has one, else the start of the body.
pub(crate) fn refusal_reason(body: &[u8]) -> String {
    match serde_json::from_slice::<Penolakan>(body) {
        Ok(p) => p.pesan,
        Err(_) => excerpt(body),
    }
}

/// A feed reply as a snapshot. Fails only when the reply as a whole is not a feed (no `Data` array, no readable
/// `Per`); a row that does not translate is skipped, counted and logged.
pub(crate) fn snapshot<D, T>(
    feed: &'static str,
    body: &[u8],
    translate: fn(D) -> Result<T, String>,
) -> Result<Snapshot<T>, ErpError>
where
    D: DeserializeOwned,
{
    let daftar: Daftar = serde_json::from_slice(body)
        .map_err(|e| ErpError::Malformed(format!("{feed} feed: {e}: {}", excerpt(body))))?;
    let as_of = parse_wib(&daftar.per)
        .ok_or_else(|| ErpError::Malformed(format!("{feed} feed: Per {:?} is not dd/mm/yyyy HH:MM:SS", daftar.per)))?;
    let mut rows = Vec::with_capacity(daftar.data.len());
    let mut skipped = 0;
    for (index, value) in daftar.data.into_iter().enumerate() {
        let row = serde_json::from_value::<D>(value)
            .map_err(|e| format!("not a {feed} row: {e}"))
            .and_then(translate);
        match row {
            Ok(row) => rows.push(row),
            Err(reason) => {
                skipped += 1;
                tracing::warn!(feed, index, %reason, "skipping an ERP feed row that does not translate");
            }
        }
    }
    Ok(Snapshot {
        as_of,
        seq: daftar.urutan,
        rows,
        skipped,
    })
}

/// A movement, whole: a line that does not translate skips the movement, since applying part of a delivery note
/// would leave the rest unaccounted for.
pub(crate) fn movement_row(row: MutasiBaris) -> Result<ErpMovement, String> {
    let kind = match row.jenis.trim() {
        KIRIM => MovementKind::Shipment,
        RETUR => MovementKind::Return,
        other => return Err(format!("Jenis {other:?} is neither {KIRIM} nor {RETUR}")),
    };
    let document_no = row.no_dok.trim();
    if document_no.is_empty() {
        return Err("empty NoDok".into());
    }
    if row.urutan == 0 {
        return Err("Urutan 0: movements are numbered from 1".into());
    }
    if row.detail.is_empty() {
        return Err(format!("{document_no}: empty Detail"));
    }
    let lines = row
        .detail
        .into_iter()
        .map(|d| {
            let warehouse = d.kode_gudang.trim();
            if warehouse.is_empty() {
                return Err(format!("{document_no}: empty KodeGudang"));
            }
            let sku = Sku::parse(&d.kode_barang)
                .map_err(|e| format!("{document_no}: KodeBarang {:?}: {e}", d.kode_barang))?;
            let quantity = u32::try_from(d.qty)
                .ok()
                .filter(|q| *q > 0)
                .ok_or_else(|| format!("{document_no}: Qty {} is out of range", d.qty))?;
            Ok(MovedLine {
                warehouse: warehouse.to_string(),
                sku,
                quantity,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let no_ref = row.no_ref.trim();
    Ok(ErpMovement {
        document_no: document_no.to_string(),
        kind,
        seq: row.urutan,
        order_ref: (!no_ref.is_empty()).then(|| no_ref.to_string()),
        lines,
    })
}

pub(crate) fn stock_row(row: StokBaris) -> Result<ErpStock, String> {
    let warehouse = row.kode_gudang.trim();
    if warehouse.is_empty() {
        return Err("empty KodeGudang".into());
    }
    let sku = Sku::parse(&row.kode_barang).map_err(|e| format!("KodeBarang {:?}: {e}", row.kode_barang))?;
    let on_hand = u32::try_from(row.qty_fisik).map_err(|_| format!("QtyFisik {} is out of range", row.qty_fisik))?;
    Ok(ErpStock {
        warehouse: warehouse.to_string(),
        sku,
        on_hand,
    })
}

pub(crate) fn balance_row(row: PiutangBaris) -> Result<ErpBalance, String> {
    let partner_id = row
        .kode_pelanggan
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("KodePelanggan {:?} is not a partner id", row.kode_pelanggan))?;
    let outstanding = parse_amount(&row.saldo_piutang).map_err(|e| format!("SaldoPiutang: {e}"))?;
    Ok(ErpBalance {
        partner_id,
        outstanding,
    })
}

pub(crate) fn cost_price_row(row: HargaPokokBaris) -> Result<ErpCostPrice, String> {
    let sku = Sku::parse(&row.kode_barang).map_err(|e| format!("KodeBarang {:?}: {e}", row.kode_barang))?;
    let cost = parse_non_negative(&row.harga_pokok).map_err(|e| format!("HargaPokok: {e}"))?;
    Ok(ErpCostPrice { sku, cost })
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().nth(BODY_EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use commercial::PpnRate;
    use kernel::{Money, Tier};
    use orders::{OrderLine, OrderStatus};
    use serde_json::json;
    use uuid::Uuid;

    fn line(sku: &str, warehouse: &str, quantity: u32, unit_price: i64) -> OrderLine {
        let unit_price = Money::from_minor(unit_price);
        OrderLine {
            sku: Sku::parse(sku).unwrap(),
            warehouse: warehouse.into(),
            quantity,
            list_price: unit_price,
            unit_price,
            line_total: unit_price.times(quantity).unwrap(),
            shipped: 0,
            returned: 0,
        }
    }

    fn order() -> Order {
        let placed_at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 15, 7).unwrap();
        Order {
            id: Uuid::parse_str("6f1c2a9e-8d4b-4c1e-9a7f-3b2d1e0c9a8b").unwrap(),
            status: OrderStatus::Paid,
            partner_id: 17,
            tier: Tier::Gold,
            placed_by: "partner:17".into(),
            placed_by_agent: None,
            placed_at,
            payment_due_at: placed_at + chrono::Duration::hours(24),
            paid_at: Some(placed_at),
            lines: vec![
                line("SHM-00001", "JKT-CKR", 12, 94_000),
                line("SHM-00002", "SBY-RKT", 1, 122_000),
            ],
            list_total: Money::from_minor(1_300_000),
            discount: Money::from_minor(50_000),
            total: Money::from_minor(1_250_000),
            tax: PpnRate::PMK_131_2024.on(Money::from_minor(1_250_000)).unwrap(),
            currency: kernel::Currency::Idr,
            payment_terms_days: None,
            promised_sla_hours: 48,
            erp_order_no: None,
        }
    }

    #[test]
    fn an_order_becomes_a_sales_order_with_the_erps_exact_field_names() {
        let doc = serde_json::to_value(order_document(&order())).unwrap();
        assert_eq!(
            doc,
            json!({
                "NoRef": "6f1c2a9e-8d4b-4c1e-9a7f-3b2d1e0c9a8b",
                "KodePelanggan": "17",
                "TglPesan": "28/11/2026 10:15:07",
                "Total": "1250000.00",
                "Pajak": [
                    {"Jenis": "PPN", "KodeTransaksi": "04", "Dpp": "1145833.00", "Tarif": "12.00", "Nilai": "137500.00"}
                ],
                "TotalBayar": "1387500.00",
                "Detail": [
                    {"KodeBarang": "SHM-00001", "KodeGudang": "JKT-CKR", "Qty": 12, "Harga": "94000.00"},
                    {"KodeBarang": "SHM-00002", "KodeGudang": "SBY-RKT", "Qty": 1, "Harga": "122000.00"}
                ]
            })
        );
    }

    #[test]
    fn an_untaxed_order_has_no_tax_line_and_a_terms_order_says_its_days() {
        let mut o = order();
        o.tax = commercial::Ppn::none(o.total);
        o.payment_terms_days = Some(30);
        let doc = serde_json::to_value(order_document(&o)).unwrap();
        assert_eq!(doc["Pajak"], json!([]));
        assert_eq!(doc["TotalBayar"], "1250000.00");
        assert_eq!(doc["TerminHari"], 30);
        o.tax = PpnRate::new(1_100, 1, 1).unwrap().on(o.total).unwrap();
        let doc = serde_json::to_value(order_document(&o)).unwrap();
        assert_eq!(
            doc["Pajak"],
            json!([{"Jenis": "PPN", "KodeTransaksi": "01", "Dpp": "1250000.00", "Tarif": "11.00", "Nilai": "137500.00"}])
        );
    }

    #[test]
    fn the_order_date_is_the_wib_calendar_day_even_when_utc_is_still_the_day_before() {
        let mut o = order();
        o.placed_at = Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 0).unwrap();
        assert_eq!(order_document(&o).tgl_pesan, "01/12/2026 00:30:00");
    }

    #[test]
    fn a_new_and_a_repeated_delivery_are_told_apart_by_status() {
        let new = br#"{"NoPesanan": "SO-2026-000123", "NoRef": "abc", "Status": "DITERIMA"}"#;
        let again = br#"{"NoPesanan": "SO-2026-000123", "NoRef": "abc", "Status": "SUDAH_ADA"}"#;
        assert_eq!(
            delivery("abc", new),
            Ok(Delivery {
                erp_order_no: "SO-2026-000123".into(),
                already_received: false
            })
        );
        assert!(delivery("abc", again).unwrap().already_received);
    }

    #[test]
    fn a_delivery_reply_about_another_order_or_with_an_unknown_status_is_malformed() {
        let other = br#"{"NoPesanan": "SO-1", "NoRef": "xyz", "Status": "DITERIMA"}"#;
        let unknown = br#"{"NoPesanan": "SO-1", "NoRef": "abc", "Status": "DIPROSES"}"#;
        let empty_no = br#"{"NoPesanan": " ", "NoRef": "abc", "Status": "DITERIMA"}"#;
        let html = b"<html>502 Bad Gateway</html>";
        for body in [&other[..], unknown, empty_no, html] {
            assert!(matches!(delivery("abc", body), Err(ErpError::Malformed(_))));
        }
    }

    #[test]
    fn a_refusal_reason_is_the_erps_pesan_or_the_start_of_the_body() {
        assert_eq!(refusal_reason(br#"{"Pesan": "Detail kosong"}"#), "Detail kosong");
        assert_eq!(refusal_reason(b"Bad Request"), "Bad Request");
        let long = "x".repeat(500);
        assert_eq!(refusal_reason(long.as_bytes()).chars().count(), BODY_EXCERPT_CHARS + 1);
    }

    #[test]
    fn stock_rows_translate_and_bad_ones_are_skipped_and_counted() {
        let body = json!({
            "Data": [
                {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "QtyFisik": 120},
                {"KodeGudang": " SBY-RKT ", "KodeBarang": "shm-00002", "QtyFisik": 0},
                {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM 00003", "QtyFisik": 5},
                {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00004", "QtyFisik": -3},
                {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00005", "QtyFisik": 5_000_000_000_i64},
                {"KodeGudang": "", "KodeBarang": "SHM-00006", "QtyFisik": 1},
                {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00007", "QtyFisik": "7"},
                "not a row"
            ],
            "Per": "28/11/2026 10:00:00"
        });
        let snap = snapshot("stock", body.to_string().as_bytes(), stock_row).unwrap();
        assert_eq!(snap.as_of, Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap());
        assert_eq!(
            snap.rows,
            vec![
                ErpStock {
                    warehouse: "JKT-CKR".into(),
                    sku: Sku::parse("SHM-00001").unwrap(),
                    on_hand: 120
                },
                ErpStock {
                    warehouse: "SBY-RKT".into(),
                    sku: Sku::parse("SHM-00002").unwrap(),
                    on_hand: 0
                },
            ]
        );
        assert_eq!(snap.skipped, 6);
    }

    #[test]
    fn balances_may_be_negative_and_bad_partner_ids_or_amounts_are_skipped() {
        let body = json!({
            "Data": [
                {"KodePelanggan": "17", "SaldoPiutang": "2500000.00"},
                {"KodePelanggan": "18", "SaldoPiutang": "-150000.00"},
                {"KodePelanggan": "C-19", "SaldoPiutang": "1.00"},
                {"KodePelanggan": "20", "SaldoPiutang": "1.250.000,00"},
                {"KodePelanggan": "21", "SaldoPiutang": "10.50"}
            ],
            "Per": "28/11/2026 10:00:00"
        });
        let snap = snapshot("balances", body.to_string().as_bytes(), balance_row).unwrap();
        assert_eq!(
            snap.rows,
            vec![
                ErpBalance {
                    partner_id: 17,
                    outstanding: Money::from_minor(2_500_000)
                },
                ErpBalance {
                    partner_id: 18,
                    outstanding: Money::from_minor(-150_000)
                },
            ]
        );
        assert_eq!(snap.skipped, 3);
    }

    #[test]
    fn cost_prices_must_not_be_negative() {
        let body = json!({
            "Data": [
                {"KodeBarang": "SHM-00001", "HargaPokok": "80000.00"},
                {"KodeBarang": "SHM-00002", "HargaPokok": "-1.00"}
            ],
            "Per": "28/11/2026 10:00:00"
        });
        let snap = snapshot("cost prices", body.to_string().as_bytes(), cost_price_row).unwrap();
        assert_eq!(
            snap.rows,
            vec![ErpCostPrice {
                sku: Sku::parse("SHM-00001").unwrap(),
                cost: Money::from_minor(80_000)
            }]
        );
        assert_eq!(snap.skipped, 1);
    }

    #[test]
    fn a_movement_translates_whole_or_is_skipped_whole() {
        let body = json!({
            "Per": "28/11/2026 10:15:07",
            "Urutan": 9,
            "Data": [
                {"NoDok": "SJ-000008", "Jenis": "KIRIM", "Urutan": 8, "NoRef": "abc", "NoPesanan": "SO-1",
                 "Tanggal": "28/11/2026 10:00:00",
                 "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 3}]},
                // One bad line spoils the delivery note: applying half of it would lose the other half.
                {"NoDok": "SJ-000009", "Jenis": "KIRIM", "Urutan": 9, "NoRef": "abc",
                 "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 1},
                            {"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00002", "Qty": 0}]},
                {"NoDok": "XX-1", "Jenis": "PINJAM", "Urutan": 10, "NoRef": "abc",
                 "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 1}]},
                {"NoDok": "RT-000011", "Jenis": "RETUR", "Urutan": 11, "NoRef": "",
                 "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 2}]}
            ]
        });
        let snap = snapshot("movements", body.to_string().as_bytes(), movement_row).unwrap();
        assert_eq!((snap.seq, snap.skipped), (Some(9), 2));
        assert_eq!(snap.rows.len(), 2);
        assert_eq!(snap.rows[0].kind, MovementKind::Shipment);
        assert_eq!(snap.rows[0].order_ref.as_deref(), Some("abc"));
        assert_eq!(snap.rows[0].lines[0].quantity, 3);
        assert_eq!(
            (snap.rows[1].kind, snap.rows[1].order_ref.as_deref()),
            (MovementKind::Return, None)
        );
    }

    #[test]
    fn a_reply_that_is_not_a_feed_at_all_is_malformed_not_an_empty_snapshot() {
        for body in [
            json!({"Hasil": "OK", "Data": null}),
            json!({"Data": [], "Per": "2026-11-28T10:00:00"}),
            json!({"Data": {}, "Per": "28/11/2026 10:00:00"}),
            json!([]),
        ] {
            let got = snapshot("stock", body.to_string().as_bytes(), stock_row);
            assert!(matches!(got, Err(ErpError::Malformed(_))), "{body}");
        }
        assert!(matches!(
            snapshot("stock", b"<html>", stock_row),
            Err(ErpError::Malformed(_))
        ));
    }
}
