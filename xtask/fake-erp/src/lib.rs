//! A stand-in for the legacy ERP, for local runs and tests: the four endpoints Niaga uses (sales-order intake and
//! the stock, receivables and cost-price feeds) in the ERP's own wire format, plus switches that make it slow,
//! flaky, down or garbled, and an admin API to drive a separately running fake.
//!
//! Only ever a dev-dependency or a local tool; no deployed crate may depend on it. It must not depend on any Niaga
//! crate either: it speaks only the ERP's documented wire format, so the `erp` crate's tests against it check that
//! crate's translation rather than share it.
//!
//! # Layout
//! - [`server`]: [`FakeErp`] (start, stop, feed data, what it received) and the HTTP routes.
//! - [`switches`]: the fault switches and the deterministic `error_rate` rule ([`switches::fails`]).
//! - [`wire`]: the feed rows it serves and the checks it makes on a sales order.
//!
//! # The ERP's API (`/api/v1`)
//! - `POST /api/v1/pesanan`: 201 `DITERIMA` for a new NoRef; 200 `SUDAH_ADA` with the same NoPesanan for a NoRef
//!   already taken; 422 `{"Pesan": ...}` for a document it refuses (not JSON, fields missing, empty `Detail`, a
//!   `Qty` of 0, an amount without exactly two decimals, a `TglPesan` not `dd/mm/yyyy HH:MM:SS`, a `Total`
//!   that is not Σ Qty × Harga, a `Pajak` line that is not PPN as PMK 131/2024 has it (code 04: 12 % on a DPP of
//!   11/12 of `Total` shown in whole rupiah, rounded down; code 01: on `Total` itself; the tax on the exact base,
//!   rounded down), a `TotalBayar` that is not `Total` + Σ `Pajak.Nilai`, or `TerminHari` outside 1–365).
//! - `GET /api/v1/stok`, `GET /api/v1/piutang`, `GET /api/v1/harga-pokok`: `{"Data": [...], "Per": "...",
//!   "Urutan": n}`, where `Urutan` is the last movement booked: the stock rows include every movement up to it.
//! - `GET /api/v1/mutasi?sejak=n`: the shipments (`KIRIM`) and returns (`RETUR`) booked after `Urutan` n, in
//!   booking order, in the same envelope. The fake is a book: shipping lowers its stock rows and a return raises
//!   them, so the stock feed and the movement feed always agree.
//!
//! Switches apply in this order: `outage` answers 503; otherwise the call is counted and `error_rate` may answer
//! 500; otherwise the call is processed, and `malformed` replaces a 200/201 body with `{"Hasil": "OK", "Data":
//! null}`. Then the reply waits `latency_ms + slow_ms`. An order answered 503 or 500 is not taken.
//!
//! # The admin API (`/_fake`, never subject to the switches)
//! - `GET /_fake/switches`; `POST /_fake/switches` with any subset of `{"latency_ms": 0, "error_rate": 0.0,
//!   "outage": false, "slow_ms": 0, "malformed": false}`, answering the switches now in force.
//! - `GET /_fake/received`: every order taken, in arrival order, repeats included, each with its NoRef, NoPesanan,
//!   whether it was new, and the document. `GET /_fake/received/count?unique=true` → `{"count": n}` (distinct
//!   NoRefs; without `unique`, all).
//! - `GET /_fake/attempts`: every `POST /api/v1/pesanan` with the status it got, failures included.
//! - `PUT /_fake/stock`, `PUT /_fake/balances`, `PUT /_fake/cost-prices`: replace a feed's rows (a JSON array of
//!   rows in the feed's own shape).
//! - `POST /_fake/kirim` `{"NoRef": "...", "Detail": [{"KodeGudang", "KodeBarang", "Qty"}]}`: ship (everything still
//!   to ship when `Detail` is absent); `POST /_fake/retur` with the same body: take goods back into stock. 201 with
//!   the movement booked, or 422 with nothing booked (unknown NoRef, more than is open, not enough stock).
//!   `GET /_fake/mutasi`: every movement.
//! - `POST /_fake/reset`: forget everything, as if just started.

pub mod server;
pub mod switches;
pub mod wire;

pub use server::{Attempt, FakeErp, Received, SwitchesHandle};
pub use switches::{InvalidSwitch, Switches, SwitchesUpdate};
pub use wire::{BalanceRow, CostPriceRow, MovementLine, MovementRow, StockRow};
