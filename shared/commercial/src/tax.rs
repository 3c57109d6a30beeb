//! PPN (Indonesian VAT) on a sale: the rate in force on a day, and the tax on a selling price (rounding rule in the
//! crate doc).
//!
//! Under PMK 131/2024 (from 1 January 2025) the tariff is 12 %, and for goods that are not luxury goods the base is
//! the "DPP nilai lain", 11/12 of the selling price, so the tax is 11 % of the price in effect. Before that the
//! tariff was 11 % on the whole price. A [`PpnRate`] carries both halves (tariff and DPP share) so either regime, or
//! the next one, is data; a [`PpnSchedule`] says which rate applies from which day.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kernel::Money;
use serde::Serialize;

/// A tariff of 100 % in basis points; no VAT rate is above it.
const FULL_BP: u32 = 10_000;
/// The largest denominator accepted for the DPP share; keeps every product far inside `i128`.
const MAX_DENOMINATOR: u32 = 1_000;
/// WIB (Asia/Jakarta) is UTC+7 all year: the tax day of a sale is its calendar day there.
const WIB_OFFSET_HOURS: i64 = 7;

/// A PPN rate: the tariff, and the share of the selling price that is the tax base (DPP).
///
/// A value that exists is valid: the tariff is at most 100 % and the DPP share is a fraction in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PpnRate {
    tariff_bp: u32,
    dpp_numerator: u32,
    dpp_denominator: u32,
}

/// Why a rate or a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("the PPN tariff is {0} basis points; it must be from 0 to {FULL_BP}")]
    TariffOutOfRange(u32),
    #[error(
        "the DPP share {0}/{1} must be a fraction above 0 and at most 1, with a denominator up to {MAX_DENOMINATOR}"
    )]
    DppShare(u32, u32),
    #[error("a PPN schedule needs at least one rate")]
    EmptySchedule,
    #[error("PPN schedule dates must increase; {0} does not come after the date before it")]
    DatesOutOfOrder(NaiveDate),
}

/// Why the tax on a price could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("no PPN rate is in force on {0}")]
    NoRate(NaiveDate),
    #[error("a selling price must not be negative")]
    NegativePrice,
    #[error("the total with PPN is too large to compute")]
    Overflow,
}

impl PpnRate {
    /// PMK 131/2024, from 1 January 2025: 12 % on DPP nilai lain, 11/12 of the selling price.
    pub const PMK_131_2024: PpnRate = PpnRate {
        tariff_bp: 1_200,
        dpp_numerator: 11,
        dpp_denominator: 12,
    };

    /// `tariff_bp` ≤ 10 000; `0 < dpp_numerator ≤ dpp_denominator ≤ 1 000`.
    pub fn new(tariff_bp: u32, dpp_numerator: u32, dpp_denominator: u32) -> Result<PpnRate, RateError> {
        if tariff_bp > FULL_BP {
            return Err(RateError::TariffOutOfRange(tariff_bp));
        }
        if dpp_numerator == 0 || dpp_numerator > dpp_denominator || dpp_denominator > MAX_DENOMINATOR {
            return Err(RateError::DppShare(dpp_numerator, dpp_denominator));
        }
        Ok(PpnRate {
            tariff_bp,
            dpp_numerator,
            dpp_denominator,
        })
    }

    pub fn tariff_bp(&self) -> u32 {
        self.tariff_bp
    }

    /// The DPP share of the selling price as (numerator, denominator).
    pub fn dpp_share(&self) -> (u32, u32) {
        (self.dpp_numerator, self.dpp_denominator)
    }

    /// The PPN on one invoice (one order) with this selling price. Rounding: the crate doc. `price` is the
    /// harga jual after every discount, the sum of the order's line totals.
    pub fn on(&self, price: Money) -> Result<Ppn, TaxError> {
        if price < Money::ZERO {
            return Err(TaxError::NegativePrice);
        }
        let p = i128::from(price.minor());
        let (num, den) = (i128::from(self.dpp_numerator), i128::from(self.dpp_denominator));
        // Both quotients are of non-negative numbers, so integer division is rounding down; and both are at most
        // `p` (the share is ≤ 1 and the tariff ≤ 100 %), so they fit back into i64.
        let dpp = p * num / den;
        let ppn = p * num * i128::from(self.tariff_bp) / (den * i128::from(FULL_BP));
        let to_money = |v: i128| i64::try_from(v).map(Money::from_minor).map_err(|_| TaxError::Overflow);
        let (dpp, ppn) = (to_money(dpp)?, to_money(ppn)?);
        Ok(Ppn {
            ppn_tariff_bp: self.tariff_bp,
            dpp_numerator: self.dpp_numerator,
            dpp_denominator: self.dpp_denominator,
            dpp,
            ppn,
            total_incl_tax: price.checked_add(ppn).map_err(|_| TaxError::Overflow)?,
        })
    }
}

/// The PPN of one invoice: the rate it was computed at, the base and the tax, in whole rupiah. Field names are the
/// ones an order and a quote show them under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Ppn {
    /// The PPN tariff in basis points (1 200 = 12 %; 0 on orders placed before Niaga charged PPN).
    pub ppn_tariff_bp: u32,
    /// The DPP as a share of the selling price, `dpp_numerator / dpp_denominator` (11/12: DPP nilai lain).
    pub dpp_numerator: u32,
    pub dpp_denominator: u32,
    /// The tax base: the selling price × the DPP share, rounded down to a whole rupiah.
    pub dpp: Money,
    /// The tax: the selling price × the DPP share × the tariff, rounded down to a whole rupiah once per invoice.
    pub ppn: Money,
    /// The selling price plus `ppn`: what the partner owes.
    pub total_incl_tax: Money,
}

impl Ppn {
    /// No tax at all: what an order placed before Niaga charged PPN carries.
    pub fn none(price: Money) -> Ppn {
        Ppn {
            ppn_tariff_bp: 0,
            dpp_numerator: 1,
            dpp_denominator: 1,
            dpp: Money::ZERO,
            ppn: Money::ZERO,
            total_incl_tax: price,
        }
    }

    /// True when the base is the DPP nilai lain (a share below the whole price), not the price itself.
    pub fn is_dpp_nilai_lain(&self) -> bool {
        self.dpp_numerator < self.dpp_denominator
    }
}

/// The PPN rates in force from given days (WIB calendar days), oldest first.
///
/// A value that exists is valid: at least one rate, days strictly increasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpnSchedule {
    from: Vec<(NaiveDate, PpnRate)>,
}

impl PpnSchedule {
    /// Rates with the day each takes effect; the days must increase strictly.
    pub fn new(from: Vec<(NaiveDate, PpnRate)>) -> Result<PpnSchedule, RateError> {
        if from.is_empty() {
            return Err(RateError::EmptySchedule);
        }
        if let Some(w) = from.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(RateError::DatesOutOfOrder(w[1].0));
        }
        Ok(PpnSchedule { from })
    }

    /// The rate in force on `day`: the last one whose day is not after it.
    pub fn rate_on(&self, day: NaiveDate) -> Result<PpnRate, TaxError> {
        self.from
            .iter()
            .rev()
            .find(|(from, _)| *from <= day)
            .map(|(_, rate)| *rate)
            .ok_or(TaxError::NoRate(day))
    }

    /// The rate in force at `at`, by the WIB calendar day: a change dated 1 January applies from 00:00 WIB.
    pub fn rate_at(&self, at: DateTime<Utc>) -> Result<PpnRate, TaxError> {
        self.rate_on(tax_day(at))
    }
}

/// The calendar day of `at` in WIB, the day an invoice is dated.
pub fn tax_day(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(WIB_OFFSET_HOURS)).date_naive()
}
