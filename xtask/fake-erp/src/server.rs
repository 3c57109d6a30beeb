//! The HTTP server: the ERP's API, the admin API, and what the fake remembers.

use crate::switches::{fails, rate_ppm, InvalidSwitch, Switches, SwitchesUpdate};
use crate::wire::{now_wib, BalanceRow, CostPriceRow, Pesanan, StockRow};
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
        .route("/_fake/switches", get(get_switches).post(post_switches))
        .route("/_fake/received", get(get_received))
        .route("/_fake/received/count", get(get_received_count))
        .route("/_fake/attempts", get(get_attempts))
        .route("/_fake/reset", post(post_reset))
        .route("/_fake/stock", put(put_stock))
        .route("/_fake/balances", put(put_balances))
        .route("/_fake/cost-prices", put(put_cost_prices))
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

    fn feed<T: Serialize>(&self, rows: &[T]) -> Reply {
        let per = self.as_of.clone().unwrap_or_else(|| now_wib().0);
        (StatusCode::OK, json!({"Data": rows, "Per": per}))
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
