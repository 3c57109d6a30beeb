//! The order state machine.
//!
//! ```text
//! pending_payment ──pay──▶ paid ──send_to_erp──▶ sent_to_erp ──fulfil──▶ fulfilled
//!        │
//!        ├──cancel──▶ cancelled
//!        └──expire──▶ expired
//!
//! confirmed ──send_to_erp──▶ sent_to_erp        (an order on payment terms: the ERP invoices it)
//! ```
//! Cancelled and expired are the exits, and only an unpaid order can take them: once money has moved, undoing
//! the order is a refund, which the ERP owns. Anything else is an [`IllegalTransition`] (HTTP 409).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    SentToErp,
    Fulfilled,
    Cancelled,
    Expired,
    /// Placed on payment terms: no gateway payment; the ERP takes it and invoices the partner.
    Confirmed,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    Pay,
    SendToErp,
    Fulfil,
    Cancel,
    Expire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot be {verb}", verb = event.past_tense())]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 5] = [
        OrderEvent::Pay,
        OrderEvent::SendToErp,
        OrderEvent::Fulfil,
        OrderEvent::Cancel,
        OrderEvent::Expire,
    ];

    fn past_tense(self) -> &'static str {
        match self {
            OrderEvent::Pay => "paid",
            OrderEvent::SendToErp => "sent to the ERP",
            OrderEvent::Fulfil => "fulfilled",
            OrderEvent::Cancel => "cancelled",
            OrderEvent::Expire => "expired",
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::SentToErp,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::Confirmed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::SentToErp => "sent_to_erp",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Confirmed => "confirmed",
        }
    }

    /// The status after `event`, or why it cannot happen.
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        match (self, event) {
            (S::PendingPayment, E::Pay) => Ok(S::Paid),
            (S::PendingPayment, E::Cancel) => Ok(S::Cancelled),
            (S::PendingPayment, E::Expire) => Ok(S::Expired),
            (S::Paid, E::SendToErp) => Ok(S::SentToErp),
            (S::Confirmed, E::SendToErp) => Ok(S::SentToErp),
            (S::SentToErp, E::Fulfil) => Ok(S::Fulfilled),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }

    /// True when the order still holds reserved stock that nobody will ship (releasing it on exit).
    pub const fn holds_unpaid_reservation(self) -> bool {
        matches!(self, OrderStatus::PendingPayment)
    }

    pub const fn is_exit(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Expired)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_runs_from_pending_payment_to_fulfilled() {
        let s = OrderStatus::PendingPayment;
        let s = s.apply(OrderEvent::Pay).unwrap();
        let s = s.apply(OrderEvent::SendToErp).unwrap();
        assert_eq!(s.apply(OrderEvent::Fulfil).unwrap(), OrderStatus::Fulfilled);
    }

    #[test]
    fn exits_are_terminal_and_a_paid_order_cannot_be_cancelled() {
        for exit in [OrderStatus::Cancelled, OrderStatus::Expired, OrderStatus::Fulfilled] {
            for e in OrderEvent::ALL {
                assert!(exit.apply(e).is_err(), "{exit} accepted {e:?}");
            }
        }
        let err = OrderStatus::Paid.apply(OrderEvent::Cancel).unwrap_err();
        assert_eq!(err.to_string(), "an order that is paid cannot be cancelled");
    }

    #[test]
    fn exactly_six_transitions_are_legal() {
        let legal = OrderStatus::ALL
            .iter()
            .flat_map(|s| OrderEvent::ALL.iter().map(move |e| s.apply(*e)))
            .filter(Result::is_ok)
            .count();
        assert_eq!(legal, 6);
    }

    #[test]
    fn a_confirmed_order_can_only_go_to_the_erp() {
        for e in OrderEvent::ALL {
            let next = OrderStatus::Confirmed.apply(e);
            assert_eq!(next.is_ok(), e == OrderEvent::SendToErp, "{e:?}");
        }
        assert_eq!(
            OrderStatus::Confirmed.apply(OrderEvent::SendToErp),
            Ok(OrderStatus::SentToErp)
        );
    }

    #[test]
    fn every_status_round_trips_through_its_name() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
        }
    }
}
