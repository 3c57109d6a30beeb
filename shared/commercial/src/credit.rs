//! The credit-limit rule (seed 004): what a partner may still order on credit; and a partner's payment terms.
//!
//! Every amount here is what the partner owes, PPN included. What counts as `open_unpaid` is decided where orders
//! are stored, by one rule: an order counts until the ERP's debt includes it or it is paid. A gateway order counts
//! while it waits for payment (the ERP only ever sees it paid). A terms order counts from the moment it is
//! confirmed until a debt snapshot from the ERP, taken after the ERP took the order, carries it; from then on it is
//! in `erp_debt`, and leaves it when the ERP records the payment. So a terms order is never counted twice, and
//! never not at all.

use kernel::Money;
use serde::Serialize;

/// A partner's credit position (seed 004: limit minus outstanding ERP debt minus open unpaid orders).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CreditPosition {
    pub limit: Money,
    /// Outstanding debt as last synced from the ERP.
    pub erp_debt: Money,
    /// Orders placed here, not paid, and not in `erp_debt` yet (the crate's rule above).
    pub open_unpaid: Money,
}

/// An order refused because it exceeds the partner's available credit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order total {order_total} exceeds available credit {available} by {short_by}")]
pub struct CreditLimitExceeded {
    pub limit: Money,
    pub erp_debt: Money,
    pub open_unpaid: Money,
    pub available: Money,
    pub order_total: Money,
    /// `order_total − available`; always positive.
    pub short_by: Money,
}

impl CreditPosition {
    /// `limit − erp_debt − open_unpaid`. May be negative: ERP debt can grow after orders were placed.
    ///
    /// Saturates at the bounds of `i64` instead of overflowing; real rupiah amounts are many orders of magnitude
    /// away from that. [`CreditPosition::check`] does not rely on this value for its decision: it compares exactly.
    pub fn available(&self) -> Money {
        Money::from_minor(saturate(self.exact_available()))
    }

    /// Ok when `order_total ≤ available`; otherwise the refusal says by how much
    /// (`short_by = order_total − available`, always > 0).
    pub fn check(&self, order_total: Money) -> Result<(), CreditLimitExceeded> {
        // Decided in i128 so a saturated `available` can never accept an order the exact arithmetic refuses.
        let short_by = i128::from(order_total.minor()) - self.exact_available();
        if short_by <= 0 {
            return Ok(());
        }
        Err(CreditLimitExceeded {
            limit: self.limit,
            erp_debt: self.erp_debt,
            open_unpaid: self.open_unpaid,
            available: self.available(),
            order_total,
            short_by: Money::from_minor(saturate(short_by)),
        })
    }

    /// Three i64 terms cannot overflow an i128.
    fn exact_available(&self) -> i128 {
        i128::from(self.limit.minor()) - i128::from(self.erp_debt.minor()) - i128::from(self.open_unpaid.minor())
    }
}

/// The longest credit term accepted, in days.
pub const MAX_TERM_DAYS: u32 = 365;

/// How a partner pays for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PaymentTerms {
    /// Through the payment gateway, within the payment window; unpaid orders expire.
    Cash,
    /// On credit: the order is confirmed without payment and the ERP invoices it, due `days` days later.
    Credit { days: u32 },
}

/// Payment terms that are not a number of days Niaga accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment terms of {0} days; terms must be from 1 to {MAX_TERM_DAYS} days")]
pub struct TermsError(pub i64);

impl PaymentTerms {
    /// From the stored form: no days is cash, otherwise credit for that many days (1 to [`MAX_TERM_DAYS`]).
    pub fn from_days(days: Option<i64>) -> Result<PaymentTerms, TermsError> {
        match days {
            None => Ok(PaymentTerms::Cash),
            Some(d) => u32::try_from(d)
                .ok()
                .filter(|d| (1..=MAX_TERM_DAYS).contains(d))
                .map(|days| PaymentTerms::Credit { days })
                .ok_or(TermsError(d)),
        }
    }

    /// The days of credit; `None` for cash.
    pub fn days(&self) -> Option<u32> {
        match self {
            PaymentTerms::Cash => None,
            PaymentTerms::Credit { days } => Some(*days),
        }
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_cash_or_one_to_a_year_of_credit() {
        assert_eq!(PaymentTerms::from_days(None), Ok(PaymentTerms::Cash));
        assert_eq!(PaymentTerms::from_days(Some(30)), Ok(PaymentTerms::Credit { days: 30 }));
        assert_eq!(PaymentTerms::from_days(Some(365)).unwrap().days(), Some(365));
        for bad in [0, -1, 366, i64::MAX] {
            assert_eq!(PaymentTerms::from_days(Some(bad)), Err(TermsError(bad)));
        }
    }

    #[test]
    fn available_saturates_instead_of_overflowing() {
        let p = CreditPosition {
            limit: Money::from_minor(i64::MIN),
            erp_debt: Money::from_minor(i64::MAX),
            open_unpaid: Money::from_minor(i64::MAX),
        };
        assert_eq!(p.available(), Money::from_minor(i64::MIN));
        // The exact available is far below i64::MIN, so even the smallest order total is refused.
        let refused = p.check(Money::from_minor(i64::MIN)).unwrap_err();
        assert_eq!(refused.short_by, Money::from_minor(i64::MAX));
    }
}
