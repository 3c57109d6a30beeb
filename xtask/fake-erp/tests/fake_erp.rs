//! The fake over HTTP, as a client (or a developer with curl) sees it.

use fake_erp::{BalanceRow, CostPriceRow, FakeErp, StockRow, Switches};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

async fn started() -> (FakeErp, reqwest::Client) {
    let erp = FakeErp::start(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    (erp, reqwest::Client::new())
}

fn order(no_ref: &str) -> Value {
    json!({
        "NoRef": no_ref,
        "KodePelanggan": "17",
        "TglPesan": "28/11/2026 10:15:07",
        "Total": "1250000.00",
        "Detail": [
            {"KodeBarang": "SHM-00001", "KodeGudang": "JKT-CKR", "Qty": 12, "Harga": "94000.00"},
            {"KodeBarang": "SHM-00002", "KodeGudang": "JKT-CKR", "Qty": 1, "Harga": "122000.00"}
        ]
    })
}

async fn post_order(erp: &FakeErp, http: &reqwest::Client, body: &Value) -> (u16, Value) {
    let resp = http
        .post(format!("{}/api/v1/pesanan", erp.url()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn get(erp: &FakeErp, http: &reqwest::Client, path: &str) -> (u16, Value) {
    let resp = http.get(format!("{}{path}", erp.url())).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn post_switches(erp: &FakeErp, http: &reqwest::Client, body: Value) -> (u16, Value) {
    post_admin(erp, http, "/_fake/switches", body).await
}

#[tokio::test]
async fn a_repeated_no_ref_gets_the_same_order_number_and_is_recorded_as_a_repeat() {
    let (erp, http) = started().await;
    let (status, first) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 201);
    assert_eq!(first["Status"], "DITERIMA");
    assert_eq!(first["NoRef"], "ref-1");
    let no = first["NoPesanan"].as_str().unwrap().to_string();
    assert!(no.starts_with("SO-") && no.ends_with("-000001"), "{no}");

    let (status, again) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 200);
    assert_eq!(again["Status"], "SUDAH_ADA");
    assert_eq!(again["NoPesanan"], no.as_str());

    let (_, other) = post_order(&erp, &http, &order("ref-2")).await;
    assert_ne!(other["NoPesanan"], no.as_str());

    let received = erp.received();
    let seen: Vec<(&str, bool)> = received.iter().map(|r| (r.no_ref.as_str(), r.new)).collect();
    assert_eq!(seen, vec![("ref-1", true), ("ref-1", false), ("ref-2", true)]);
    assert_eq!(received[0].document, order("ref-1"));
    assert_eq!(erp.received_count(false), 3);
    assert_eq!(erp.received_count(true), 2);
}

#[tokio::test]
async fn a_document_it_refuses_is_answered_422_with_a_reason_and_not_taken() {
    let (erp, http) = started().await;
    let mut empty = order("ref-empty");
    empty["Detail"] = json!([]);
    let mut wrong_total = order("ref-total");
    wrong_total["Total"] = json!("1250001.00");
    let mut one_decimal = order("ref-decimal");
    one_decimal["Total"] = json!("1250000.0");
    let mut iso_date = order("ref-date");
    iso_date["TglPesan"] = json!("2026-11-28T10:15:07");
    let mut missing = order("ref-missing");
    missing.as_object_mut().unwrap().remove("KodePelanggan");

    for doc in [empty, wrong_total, one_decimal, iso_date, missing] {
        let (status, body) = post_order(&erp, &http, &doc).await;
        assert_eq!(status, 422, "{doc}");
        assert!(body["Pesan"].as_str().is_some_and(|p| !p.is_empty()), "{body}");
    }
    assert_eq!(erp.received_count(false), 0);
    assert_eq!(erp.attempts().len(), 5);
    assert!(erp.attempts().iter().all(|a| a.status == 422));
}

#[tokio::test]
async fn an_outage_answers_503_to_every_api_call_records_no_order_and_leaves_the_admin_api_working() {
    let (erp, http) = started().await;
    erp.switches().set_outage(true);

    let (status, _) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 503);
    for path in ["/api/v1/stok", "/api/v1/piutang", "/api/v1/harga-pokok"] {
        assert_eq!(get(&erp, &http, path).await.0, 503, "{path}");
    }
    assert_eq!(erp.received_count(false), 0);
    assert_eq!(erp.attempts()[0].no_ref.as_deref(), Some("ref-1"));
    assert_eq!(erp.attempts()[0].status, 503);

    let (status, switches) = get(&erp, &http, "/_fake/switches").await;
    assert_eq!(status, 200);
    assert_eq!(switches["outage"], true);

    // Once it is back, the order it never took is new.
    erp.switches().set_outage(false);
    let (status, _) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn an_error_rate_of_a_half_fails_every_second_call_and_restarts_when_set_again() {
    let (erp, http) = started().await;
    erp.switches().set_error_rate(0.5).unwrap();
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(post_order(&erp, &http, &order(&format!("ref-{i}"))).await.0);
    }
    assert_eq!(statuses, vec![201, 500, 201, 500, 201, 500]);
    // Orders answered 500 were not taken.
    let taken: Vec<String> = erp.received().into_iter().map(|r| r.no_ref).collect();
    assert_eq!(taken, vec!["ref-0", "ref-2", "ref-4"]);

    // Feeds count too, and setting the rate restarts the pattern.
    post_switches(&erp, &http, json!({"error_rate": 0.25})).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(get(&erp, &http, "/api/v1/stok").await.0);
    }
    assert_eq!(statuses, vec![200, 200, 200, 500, 200, 200, 200, 500]);
}

#[tokio::test]
async fn malformed_replies_succeed_with_a_body_that_is_not_the_documented_shape_and_the_order_is_still_taken() {
    let (erp, http) = started().await;
    erp.set_stock(vec![StockRow::new("JKT-CKR", "SHM-00001", 120)]);
    erp.switches().set_malformed(true);

    let (status, body) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 201);
    assert!(
        body.get("NoPesanan").is_none() && body.get("Status").is_none(),
        "{body}"
    );
    let (status, body) = get(&erp, &http, "/api/v1/stok").await;
    assert_eq!(status, 200);
    assert!(!body["Data"].is_array() && body.get("Per").is_none(), "{body}");
    assert_eq!(erp.received_count(true), 1);

    // A refusal stays a refusal.
    let mut empty = order("ref-2");
    empty["Detail"] = json!([]);
    let (status, body) = post_order(&erp, &http, &empty).await;
    assert_eq!(status, 422);
    assert!(body["Pesan"].is_string());
}

#[tokio::test]
async fn latency_and_slow_hold_every_reply_back() {
    let (erp, http) = started().await;
    erp.switches().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(get(&erp, &http, "/api/v1/piutang").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    erp.switches().set_latency(Duration::ZERO);
    erp.switches().set_slow(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(get(&erp, &http, "/api/v1/piutang").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // The admin API is never held back.
    let started = Instant::now();
    assert_eq!(get(&erp, &http, "/_fake/switches").await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn a_slow_reply_the_client_gave_up_on_still_took_the_order() {
    let (erp, http) = started().await;
    erp.switches().set_slow(Duration::from_secs(5));
    let result = http
        .post(format!("{}/api/v1/pesanan", erp.url()))
        .json(&order("ref-1"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(erp.received_count(true), 1);
}

#[tokio::test]
async fn feeds_serve_the_rows_set_in_process_or_over_the_admin_api() {
    let (erp, http) = started().await;
    erp.set_as_of("28/11/2026 10:00:00");
    erp.set_stock(vec![StockRow::new("JKT-CKR", "SHM-00001", 120)]);
    erp.set_balances(vec![BalanceRow::new("17", "2500000.00")]);
    let (status, body) = get(&erp, &http, "/api/v1/stok").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"Data": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "QtyFisik": 120}], "Per": "28/11/2026 10:00:00",
               "Urutan": 0})
    );
    let (_, body) = get(&erp, &http, "/api/v1/piutang").await;
    assert_eq!(
        body["Data"],
        json!([{"KodePelanggan": "17", "SaldoPiutang": "2500000.00"}])
    );

    let resp = http
        .put(format!("{}/_fake/cost-prices", erp.url()))
        .json(&vec![CostPriceRow::new("SHM-00001", "80000.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (_, body) = get(&erp, &http, "/api/v1/harga-pokok").await;
    assert_eq!(
        body["Data"],
        json!([{"KodeBarang": "SHM-00001", "HargaPokok": "80000.00"}])
    );
}

#[tokio::test]
async fn per_defaults_to_the_current_wib_time() {
    let (erp, http) = started().await;
    let (_, body) = get(&erp, &http, "/api/v1/stok").await;
    let per = body["Per"].as_str().unwrap();
    let b = per.as_bytes();
    assert_eq!(
        (b.len(), b[2], b[5], b[10], b[13], b[16]),
        (19, b'/', b'/', b' ', b':', b':'),
        "{per}"
    );
    assert_eq!(body["Data"], json!([]));
}

#[tokio::test]
async fn the_admin_api_round_trips_switches_received_orders_counts_and_reset() {
    let (erp, http) = started().await;
    let (status, now) = post_switches(&erp, &http, json!({"latency_ms": 5, "malformed": true})).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<Switches>(now.clone()).unwrap(),
        Switches {
            latency_ms: 5,
            malformed: true,
            ..Switches::default()
        }
    );
    // A partial update keeps what it does not name.
    let (_, now) = post_switches(&erp, &http, json!({"malformed": false})).await;
    assert_eq!(now["latency_ms"], 5);
    assert_eq!(get(&erp, &http, "/_fake/switches").await.1, now);
    assert_eq!(erp.switches().get().latency_ms, 5);

    // Out of range and unknown switches are refused and change nothing.
    assert_eq!(post_switches(&erp, &http, json!({"error_rate": 2.0})).await.0, 422);
    assert_eq!(post_switches(&erp, &http, json!({"outrage": true})).await.0, 400);
    assert_eq!(erp.switches().get().error_rate, 0.0);

    post_order(&erp, &http, &order("ref-1")).await;
    post_order(&erp, &http, &order("ref-1")).await;
    post_order(&erp, &http, &order("ref-2")).await;
    let (_, received) = get(&erp, &http, "/_fake/received").await;
    let seen: Vec<(String, bool)> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["no_ref"].as_str().unwrap().to_string(), r["new"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        seen,
        vec![("ref-1".into(), true), ("ref-1".into(), false), ("ref-2".into(), true)]
    );
    assert_eq!(received[0]["no_pesanan"], received[1]["no_pesanan"]);
    assert_eq!(get(&erp, &http, "/_fake/received/count").await.1, json!({"count": 3}));
    assert_eq!(
        get(&erp, &http, "/_fake/received/count?unique=true").await.1,
        json!({"count": 2})
    );
    assert_eq!(get(&erp, &http, "/_fake/attempts").await.1.as_array().unwrap().len(), 3);

    let resp = http.post(format!("{}/_fake/reset", erp.url())).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(get(&erp, &http, "/_fake/received").await.1, json!([]));
    assert_eq!(erp.switches().get(), Switches::default());
    // Numbering starts again, and a NoRef it took before reset is new again.
    let (status, body) = post_order(&erp, &http, &order("ref-1")).await;
    assert_eq!(status, 201);
    assert!(body["NoPesanan"].as_str().unwrap().ends_with("-000001"));
}

#[tokio::test]
async fn a_stopped_fake_refuses_connections() {
    let (erp, http) = started().await;
    let url = erp.url();
    assert_eq!(get(&erp, &http, "/_fake/switches").await.0, 200);
    erp.stop().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{url}/_fake/switches")).send().await.is_err());
}

async fn post_admin(erp: &FakeErp, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let resp = http
        .post(format!("{}{path}", erp.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn the_warehouse_ships_and_takes_returns_over_the_admin_api_and_the_feeds_agree_on_the_book() {
    let (erp, http) = started().await;
    erp.set_stock(vec![
        StockRow::new("JKT-CKR", "SHM-00001", 20),
        StockRow::new("JKT-CKR", "SHM-00002", 0),
    ]);
    post_order(&erp, &http, &order("ref-1")).await;

    let (status, _) = post_admin(&erp, &http, "/_fake/kirim", json!({"NoRef": "nobody"})).await;
    assert_eq!(status, 422, "an unknown NoRef");
    // SHM-00002 has nothing on the shelf: the whole delivery note is refused and nothing moves.
    let (status, refused) = post_admin(&erp, &http, "/_fake/kirim", json!({"NoRef": "ref-1"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(erp.stock_of("JKT-CKR", "SHM-00001"), 20);

    let one = json!({"NoRef": "ref-1", "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 5}]});
    let (status, note) = post_admin(&erp, &http, "/_fake/kirim", one).await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(
        (note["Jenis"].as_str(), note["Urutan"].as_u64()),
        (Some("KIRIM"), Some(1))
    );
    let back = json!({"NoRef": "ref-1", "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 2}]});
    let (status, ret) = post_admin(&erp, &http, "/_fake/retur", back).await;
    assert_eq!(status, 201, "{ret}");
    let too_many =
        json!({"NoRef": "ref-1", "Detail": [{"KodeGudang": "JKT-CKR", "KodeBarang": "SHM-00001", "Qty": 4}]});
    assert_eq!(
        post_admin(&erp, &http, "/_fake/retur", too_many).await.0,
        422,
        "only 3 are out"
    );

    let (_, stock) = get(&erp, &http, "/api/v1/stok").await;
    assert_eq!(stock["Urutan"], 2);
    assert_eq!(stock["Data"][0]["QtyFisik"], 17, "20 - 5 shipped + 2 returned");
    let (_, feed) = get(&erp, &http, "/api/v1/mutasi?sejak=1").await;
    assert_eq!(feed["Urutan"], 2);
    let kinds: Vec<&str> = feed["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Jenis"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["RETUR"], "only what came after Urutan 1");
    let (_, all) = get(&erp, &http, "/_fake/mutasi").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}
