//! The HTTP server: the ERP's API, the admin API, and what the fake remembers.

use crate::switches::{fails, rate_ppm, InvalidSwitch, Switches, SwitchesUpdate};
use crate::wire::{now_wib, BalanceRow, CostPriceRow, MovementLine, MovementRow, Pesanan, StockRow};
use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`FakeErp::stop`] waits for in-flight replies (a slow one, say) before cutting them off.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// One sales order the ERP took: a new one, or a repeat of a NoRef it already had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Received {
    pub no_ref: String,
    /// The ERP's order number, the same for every repeat of a NoRef.
    pub no_pesanan: String,
    /// False for a repeat (answered 200 `SUDAH_ADA`).
    pub new: bool,
    /// The request body as sent.
    pub document: Value,
}

/// One `POST /api/v1/pesanan`, whatever became of it: taken, repeated, rejected, or failed by a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The body's NoRef, when it had one.
    pub no_ref: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// A running fake ERP. Stops when dropped, or with [`FakeErp::stop`] to wait until it has.
#[derive(Debug)]
pub struct FakeErp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// The fault switches of one running fake; cheap to clone, and shares state with the fake.
#[derive(Debug, Clone)]
pub struct SwitchesHandle {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    switches: Switches,
    /// API calls counted by the `error_rate` rule since it was last set.
    counted_calls: u64,
    stock: Vec<StockRow>,
    balances: Vec<BalanceRow>,
    cost_prices: Vec<CostPriceRow>,
    /// `Per` of the feeds; the current WIB time when `None`.
    as_of: Option<String>,
    /// NoRef → NoPesanan.
    orders: HashMap<String, String>,
    last_order_no: u64,
    received: Vec<Received>,
    attempts: Vec<Attempt>,
    /// NoRef → what the sales order asked for per (warehouse, SKU), and how much of it moved.
    books: HashMap<String, Vec<BookLine>>,
    /// Every shipment and return, in booking order.
    movements: Vec<MovementRow>,
    /// The `Urutan` of the last movement; the stock rows include every movement up to it.
    last_seq: u64,
}

/// One (warehouse, SKU) of a sales order as the ERP books it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BookLine {
    warehouse: String,
    sku: String,
    ordered: i64,
    shipped: i64,
    returned: i64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that matters to a fake; keep
        // serving rather than poison every later request.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeErp {
    /// Binds `addr` (use `127.0.0.1:0` in tests for a free port) and serves on a tokio task until stopped.
    pub async fn start(addr: SocketAddr) -> anyhow::Result<FakeErp> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("fake ERP cannot bind {addr}"))?;
        let addr = listener.local_addr().context("fake ERP has no local address")?;
        let shared = Arc::new(Shared::default());
        let app = router(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender means the same as a sent signal: stop.
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("fake ERP stopped with an error: {e}");
            }
        });
        Ok(FakeErp {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    pub fn switches(&self) -> SwitchesHandle {
        SwitchesHandle {
            shared: self.shared.clone(),
        }
    }

    /// Replaces the rows of `GET /api/v1/stok`.
    pub fn set_stock(&self, rows: Vec<StockRow>) {
        self.shared.lock().stock = rows;
    }

    /// Replaces the rows of `GET /api/v1/piutang`.
    pub fn set_balances(&self, rows: Vec<BalanceRow>) {
        self.shared.lock().balances = rows;
    }

    /// Replaces the rows of `GET /api/v1/harga-pokok`.
    pub fn set_cost_prices(&self, rows: Vec<CostPriceRow>) {
        self.shared.lock().cost_prices = rows;
    }

    /// Fixes the feeds' `Per` (`dd/mm/yyyy HH:MM:SS`, sent as given, unchecked); until set, it is the current WIB
    /// time.
    pub fn set_as_of(&self, per: &str) {
        self.shared.lock().as_of = Some(per.to_string());
    }

    /// Every sales order taken, in arrival order, repeats included.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// How many sales orders were taken: all, or (`unique`) distinct NoRefs.
    pub fn received_count(&self, unique: bool) -> usize {
        count(&self.shared.lock(), unique)
    }

    /// Every `POST /api/v1/pesanan`, in arrival order, including those rejected or failed by a switch.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.lock().attempts.clone()
    }

    /// Ships goods of a sales order the ERP holds: `lines`, or everything still to ship when `None`. The stock
    /// rows go down by what left, and the delivery note is booked with the next `Urutan`. Refused, with nothing
    /// booked, for an unknown NoRef, more than is still to ship, or more than the warehouse has on hand.
    pub fn ship(&self, no_ref: &str, lines: Option<Vec<MovementLine>>) -> Result<MovementRow, String> {
        self.shared.lock().ship(no_ref, lines)
    }

    /// Books goods of a sales order coming back into stock: the stock rows go up by `lines`. Refused, with
    /// nothing booked, for an unknown NoRef or more than was shipped and not yet returned.
    pub fn receive_return(&self, no_ref: &str, lines: Vec<MovementLine>) -> Result<MovementRow, String> {
        self.shared.lock().receive_return(no_ref, lines)
    }

    /// Stock that comes or goes outside Niaga's orders (a receipt from a supplier, a counter sale): the row
    /// moves by `delta`, never below zero, and no movement is booked. Returns the new count.
    pub fn adjust_stock(&self, warehouse: &str, sku: &str, delta: i64) -> Result<i64, String> {
        self.shared.lock().adjust_stock(warehouse, sku, delta)
    }

    /// What the stock feed would say for one row now (0 for a row the ERP does not have).
    pub fn stock_of(&self, warehouse: &str, sku: &str) -> i64 {
        let inner = self.shared.lock();
        inner.stock_row(warehouse, sku).map_or(0, |i| inner.stock[i].on_hand)
    }

    /// The stock book: every row the stock feed serves, as it stands now.
    pub fn stock(&self) -> Vec<StockRow> {
        self.shared.lock().stock.clone()
    }

    /// Every shipment and return booked, in `Urutan` order.
    pub fn movements(&self) -> Vec<MovementRow> {
        self.shared.lock().movements.clone()
    }

    /// Forgets everything: switches off, no orders, no attempts, no feed rows, `Per` back to the clock.
    pub fn reset(&self) {
        *self.shared.lock() = Inner::default();
    }

    /// Stops serving and waits until it has (at most a couple of seconds for replies in flight).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for FakeErp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl SwitchesHandle {
    pub fn get(&self) -> Switches {
        self.shared.lock().switches
    }

    /// Applies a partial update and returns the switches now in force. Setting `error_rate` (even to its current
    /// value) restarts its failure pattern at the first call.
    pub fn update(&self, update: SwitchesUpdate) -> Result<Switches, InvalidSwitch> {
        let mut inner = self.shared.lock();
        inner.switches = inner.switches.with(update)?;
        if update.error_rate.is_some() {
            inner.counted_calls = 0;
        }
        Ok(inner.switches)
    }

    pub fn set_outage(&self, on: bool) {
        self.apply(SwitchesUpdate {
            outage: Some(on),
            ..SwitchesUpdate::default()
        });
    }

    pub fn set_malformed(&self, on: bool) {
        self.apply(SwitchesUpdate {
            malformed: Some(on),
            ..SwitchesUpdate::default()
        });
    }

    pub fn set_latency(&self, latency: Duration) {
        self.apply(SwitchesUpdate {
            latency_ms: Some(millis(latency)),
            ..SwitchesUpdate::default()
        });
    }

    pub fn set_slow(&self, slow: Duration) {
        self.apply(SwitchesUpdate {
            slow_ms: Some(millis(slow)),
            ..SwitchesUpdate::default()
        });
    }

    /// Err for a rate outside 0.0..=1.0.
    pub fn set_error_rate(&self, rate: f64) -> Result<(), InvalidSwitch> {
        self.update(SwitchesUpdate {
            error_rate: Some(rate),
            ..SwitchesUpdate::default()
        })
        .map(|_| ())
    }

    /// All switches off.
    pub fn clear(&self) {
        let mut inner = self.shared.lock();
        inner.switches = Switches::default();
        inner.counted_calls = 0;
    }

    /// For updates that cannot be out of range.
    fn apply(&self, update: SwitchesUpdate) {
        let mut inner = self.shared.lock();
        if let Ok(switches) = inner.switches.with(update) {
            inner.switches = switches;
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn count(inner: &Inner, unique: bool) -> usize {
    if unique {
        inner.received.iter().filter(|r| r.new).count()
    } else {
        inner.received.len()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/pesanan", post(pesanan))
        .route("/api/v1/stok", get(stok))
        .route("/api/v1/piutang", get(piutang))
        .route("/api/v1/harga-pokok", get(harga_pokok))
        .route("/api/v1/mutasi", get(mutasi))
        .route("/_fake/switches", get(get_switches).post(post_switches))
        .route("/_fake/received", get(get_received))
        .route("/_fake/received/count", get(get_received_count))
        .route("/_fake/attempts", get(get_attempts))
        .route("/_fake/reset", post(post_reset))
        .route("/_fake/stock", put(put_stock))
        .route("/_fake/balances", put(put_balances))
        .route("/_fake/cost-prices", put(put_cost_prices))
        .route("/_fake/kirim", post(post_kirim))
        .route("/_fake/retur", post(post_retur))
        .route("/_fake/mutasi", get(get_mutasi))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------------------
// The ERP's API
// ---------------------------------------------------------------------------------------------------------

/// One call to the ERP's API.
enum Call<'a> {
    Pesanan(&'a [u8]),
    Stok,
    Piutang,
    HargaPokok,
    /// Movements after this `Urutan`.
    Mutasi(u64),
}

type Reply = (StatusCode, Value);

/// What every malformed reply carries: valid JSON, but none of the documented fields.
fn malformed_body() -> Value {
    json!({"Hasil": "OK", "Data": null})
}

async fn pesanan(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    api(&shared, Call::Pesanan(&body)).await
}

async fn stok(State(shared): State<Arc<Shared>>) -> Response {
    api(&shared, Call::Stok).await
}

async fn piutang(State(shared): State<Arc<Shared>>) -> Response {
    api(&shared, Call::Piutang).await
}

async fn harga_pokok(State(shared): State<Arc<Shared>>) -> Response {
    api(&shared, Call::HargaPokok).await
}

#[derive(Debug, Deserialize)]
struct MutasiQuery {
    #[serde(default)]
    sejak: u64,
}

async fn mutasi(State(shared): State<Arc<Shared>>, Query(q): Query<MutasiQuery>) -> Response {
    api(&shared, Call::Mutasi(q.sejak)).await
}

/// Decides the answer at once (so an order is recorded, or not, before any wait), then holds it back for
/// `latency_ms + slow_ms`.
async fn api(shared: &Shared, call: Call<'_>) -> Response {
    let ((status, body), delay) = {
        let mut inner = shared.lock();
        let delay = inner.switches.delay();
        (inner.answer(&call), delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (status, Json(body)).into_response()
}

impl Inner {
    fn answer(&mut self, call: &Call<'_>) -> Reply {
        let switches = self.switches;
        let mut reply = if switches.outage {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"Pesan": "Layanan sedang dalam pemeliharaan"}),
            )
        } else {
            self.counted_calls = self.counted_calls.saturating_add(1);
            if fails(self.counted_calls, rate_ppm(switches.error_rate)) {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"Pesan": "Terjadi kesalahan pada server"}),
                )
            } else {
                match call {
                    Call::Pesanan(body) => self.take_order(body),
                    Call::Stok => self.feed(&self.stock),
                    Call::Mutasi(since) => {
                        let after: Vec<&MovementRow> = self.movements.iter().filter(|m| m.seq > *since).collect();
                        self.feed(&after)
                    }
                    Call::Piutang => self.feed(&self.balances),
                    Call::HargaPokok => self.feed(&self.cost_prices),
                }
            }
        };
        if let Call::Pesanan(body) = call {
            self.attempts.push(Attempt {
                no_ref: no_ref_of(body),
                status: reply.0.as_u16(),
            });
        }
        if switches.malformed && reply.0.is_success() {
            reply.1 = malformed_body();
        }
        reply
    }

    /// A feed's envelope. `Urutan` is the last movement booked: the stock rows include every movement up to it,
    /// and the movement feed has nothing after it.
    fn feed<T: Serialize>(&self, rows: &[T]) -> Reply {
        let per = self.as_of.clone().unwrap_or_else(|| now_wib().0);
        (
            StatusCode::OK,
            json!({"Data": rows, "Per": per, "Urutan": self.last_seq}),
        )
    }

    fn stock_row(&self, warehouse: &str, sku: &str) -> Option<usize> {
        self.stock.iter().position(|r| r.warehouse == warehouse && r.sku == sku)
    }

    fn adjust_stock(&mut self, warehouse: &str, sku: &str, delta: i64) -> Result<i64, String> {
        let i = match self.stock_row(warehouse, sku) {
            Some(i) => i,
            None => {
                self.stock.push(StockRow::new(warehouse, sku, 0));
                self.stock.len() - 1
            }
        };
        let now = self.stock[i]
            .on_hand
            .checked_add(delta)
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                format!(
                    "Stok {sku} di {warehouse} tidak cukup: {} ada, {delta} diminta",
                    self.stock[i].on_hand
                )
            })?;
        self.stock[i].on_hand = now;
        Ok(now)
    }

    /// Requested quantities summed per (warehouse, SKU), each checked against `limit` of the order's book line.
    fn requested(
        &self,
        no_ref: &str,
        lines: &[MovementLine],
        limit: fn(&BookLine) -> i64,
    ) -> Result<Vec<(usize, i64)>, String> {
        let book = self
            .books
            .get(no_ref)
            .ok_or_else(|| format!("NoRef {no_ref} tidak dikenal"))?;
        if lines.is_empty() {
            return Err("Detail kosong".into());
        }
        let mut per_line: Vec<(usize, i64)> = Vec::new();
        for l in lines {
            if l.qty <= 0 {
                return Err(format!("Qty {} untuk {} harus lebih dari 0", l.qty, l.sku));
            }
            let i = book
                .iter()
                .position(|b| b.warehouse == l.warehouse && b.sku == l.sku)
                .ok_or_else(|| format!("{} di {} tidak ada di pesanan {no_ref}", l.sku, l.warehouse))?;
            match per_line.iter_mut().find(|(j, _)| *j == i) {
                Some((_, q)) => *q += l.qty,
                None => per_line.push((i, l.qty)),
            }
        }
        for (i, q) in &per_line {
            let b = &book[*i];
            if *q > limit(b) {
                return Err(format!(
                    "{} di {}: {q} diminta, hanya {} bisa",
                    b.sku,
                    b.warehouse,
                    limit(b)
                ));
            }
        }
        Ok(per_line)
    }

    fn book_movement(&mut self, kind: &str, no_ref: &str, per_line: &[(usize, i64)]) -> MovementRow {
        self.last_seq += 1;
        let prefix = if kind == "KIRIM" { "SJ" } else { "RT" };
        let book = &self.books[no_ref];
        let row = MovementRow {
            document_no: format!("{prefix}-{:06}", self.last_seq),
            kind: kind.to_string(),
            seq: self.last_seq,
            no_ref: no_ref.to_string(),
            no_pesanan: self.orders.get(no_ref).cloned().unwrap_or_default(),
            date: now_wib().0,
            lines: per_line
                .iter()
                .map(|(i, q)| MovementLine::new(&book[*i].warehouse, &book[*i].sku, *q))
                .collect(),
        };
        self.movements.push(row.clone());
        row
    }

    fn ship(&mut self, no_ref: &str, lines: Option<Vec<MovementLine>>) -> Result<MovementRow, String> {
        let lines = match lines {
            Some(lines) => lines,
            None => self
                .books
                .get(no_ref)
                .ok_or_else(|| format!("NoRef {no_ref} tidak dikenal"))?
                .iter()
                .filter(|b| b.ordered > b.shipped)
                .map(|b| MovementLine::new(&b.warehouse, &b.sku, b.ordered - b.shipped))
                .collect(),
        };
        let per_line = self.requested(no_ref, &lines, |b| b.ordered - b.shipped)?;
        // Every line is checked before anything moves: a delivery note is booked whole or not at all.
        for (i, q) in &per_line {
            let b = &self.books[no_ref][*i];
            let have = self
                .stock_row(&b.warehouse, &b.sku)
                .map_or(0, |r| self.stock[r].on_hand);
            if have < *q {
                return Err(format!(
                    "Stok {} di {} tidak cukup: {have} ada, {q} dikirim",
                    b.sku, b.warehouse
                ));
            }
        }
        for (i, q) in &per_line {
            let (warehouse, sku) = {
                let b = &mut self.books.get_mut(no_ref).expect("checked above")[*i];
                b.shipped += q;
                (b.warehouse.clone(), b.sku.clone())
            };
            self.adjust_stock(&warehouse, &sku, -q)?;
        }
        Ok(self.book_movement("KIRIM", no_ref, &per_line))
    }

    fn receive_return(&mut self, no_ref: &str, lines: Vec<MovementLine>) -> Result<MovementRow, String> {
        let per_line = self.requested(no_ref, &lines, |b| b.shipped - b.returned)?;
        for (i, q) in &per_line {
            let (warehouse, sku) = {
                let b = &mut self.books.get_mut(no_ref).expect("checked above")[*i];
                b.returned += q;
                (b.warehouse.clone(), b.sku.clone())
            };
            self.adjust_stock(&warehouse, &sku, *q)?;
        }
        Ok(self.book_movement("RETUR", no_ref, &per_line))
    }

    /// The ERP's sales-order intake: idempotent on NoRef, checked before it is taken.
    fn take_order(&mut self, body: &[u8]) -> Reply {
        let rejected = |pesan: String| (StatusCode::UNPROCESSABLE_ENTITY, json!({ "Pesan": pesan }));
        let document: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return rejected(format!("Dokumen bukan JSON: {e}")),
        };
        let order: Pesanan = match serde_json::from_value(document.clone()) {
            Ok(o) => o,
            Err(e) => return rejected(format!("Dokumen tidak lengkap: {e}")),
        };
        // A NoRef the ERP already has is answered before any check: the first copy was taken, and a repeat is
        // only ever a retry of it.
        if let Some(no_pesanan) = self.orders.get(&order.no_ref).cloned() {
            self.received.push(Received {
                no_ref: order.no_ref.clone(),
                no_pesanan: no_pesanan.clone(),
                new: false,
                document,
            });
            return (
                StatusCode::OK,
                json!({"NoPesanan": no_pesanan, "NoRef": order.no_ref, "Status": "SUDAH_ADA"}),
            );
        }
        if let Err(reason) = order.check() {
            return rejected(reason);
        }
        self.last_order_no += 1;
        let no_pesanan = format!("SO-{}-{:06}", now_wib().1, self.last_order_no);
        self.orders.insert(order.no_ref.clone(), no_pesanan.clone());
        let mut book: Vec<BookLine> = Vec::new();
        for d in &order.detail {
            match book
                .iter_mut()
                .find(|b| b.warehouse == d.kode_gudang && b.sku == d.kode_barang)
            {
                Some(b) => b.ordered += i64::from(d.qty),
                None => book.push(BookLine {
                    warehouse: d.kode_gudang.clone(),
                    sku: d.kode_barang.clone(),
                    ordered: i64::from(d.qty),
                    shipped: 0,
                    returned: 0,
                }),
            }
        }
        self.books.insert(order.no_ref.clone(), book);
        self.received.push(Received {
            no_ref: order.no_ref.clone(),
            no_pesanan: no_pesanan.clone(),
            new: true,
            document,
        });
        (
            StatusCode::CREATED,
            json!({"NoPesanan": no_pesanan, "NoRef": order.no_ref, "Status": "DITERIMA"}),
        )
    }
}

fn no_ref_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("NoRef")?.as_str().map(str::to_string)
}

// ---------------------------------------------------------------------------------------------------------
// The admin API: never subject to the switches
// ---------------------------------------------------------------------------------------------------------

fn admin_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| admin_error(StatusCode::BAD_REQUEST, e.to_string()))
}

async fn get_switches(State(shared): State<Arc<Shared>>) -> Json<Switches> {
    Json(shared.lock().switches)
}

async fn post_switches(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let update: SwitchesUpdate = match parse(&body) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let handle = SwitchesHandle { shared };
    match handle.update(update) {
        Ok(now) => Json(now).into_response(),
        Err(e) => admin_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

async fn get_received(State(shared): State<Arc<Shared>>) -> Json<Vec<Received>> {
    Json(shared.lock().received.clone())
}

#[derive(Debug, Deserialize)]
struct CountQuery {
    #[serde(default)]
    unique: bool,
}

async fn get_received_count(State(shared): State<Arc<Shared>>, Query(q): Query<CountQuery>) -> Json<Value> {
    Json(json!({ "count": count(&shared.lock(), q.unique) }))
}

async fn get_attempts(State(shared): State<Arc<Shared>>) -> Json<Vec<Attempt>> {
    Json(shared.lock().attempts.clone())
}

async fn post_reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    *shared.lock() = Inner::default();
    StatusCode::NO_CONTENT
}

async fn put_stock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Vec<StockRow>>(&body) {
        Ok(rows) => {
            shared.lock().stock = rows;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

/// The body of `POST /_fake/kirim` and `POST /_fake/retur`: a NoRef and, for a shipment, optionally the lines
/// (everything still to ship when absent).
#[derive(Debug, Deserialize)]
struct MovementRequest {
    #[serde(rename = "NoRef")]
    no_ref: String,
    #[serde(rename = "Detail")]
    lines: Option<Vec<MovementLine>>,
}

fn booked(result: Result<MovementRow, String>) -> Response {
    match result {
        Ok(row) => (StatusCode::CREATED, Json(row)).into_response(),
        Err(e) => admin_error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn post_kirim(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<MovementRequest>(&body) {
        Ok(r) => booked(shared.lock().ship(&r.no_ref, r.lines)),
        Err(r) => r,
    }
}

async fn post_retur(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<MovementRequest>(&body) {
        Ok(r) => booked(shared.lock().receive_return(&r.no_ref, r.lines.unwrap_or_default())),
        Err(r) => r,
    }
}

async fn get_mutasi(State(shared): State<Arc<Shared>>) -> Json<Vec<MovementRow>> {
    Json(shared.lock().movements.clone())
}

async fn put_balances(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Vec<BalanceRow>>(&body) {
        Ok(rows) => {
            shared.lock().balances = rows;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn put_cost_prices(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Vec<CostPriceRow>>(&body) {
        Ok(rows) => {
            shared.lock().cost_prices = rows;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}
