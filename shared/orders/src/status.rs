//! The order state machine.
//!
//! ```text
//! pending_payment ──pay──▶ paid ──send_to_erp──▶ sent_to_erp ──ship──▶ partly_shipped ──fulfil──▶ fulfilled
//!        │                  │                        │    ▲  ship  │
//!        ├──cancel──▶ cancelled                      │    └────────┘
//!        └──expire──▶ expired                        └───────────fulfil───────────────────────▶ fulfilled
//!
//! confirmed ──send_to_erp──▶ sent_to_erp   (an order on payment terms: the ERP invoices it; ship and fulfil as paid)
//! ```
//! Cancelled and expired are the exits, and only an unpaid order can take them: once money has moved, undoing
//! the order is a refund, which the ERP owns. Anything else is an [`IllegalTransition`] (HTTP 409).
//!
//! Shipping is the ERP's to say: a delivery note that leaves units still to ship is `ship`, the one that ships
//! the last unit is `fulfil`. Both are legal from `paid` as well, since a delivery note proves the ERP has the
//! order even when Niaga has not yet recorded that it does. A return changes no status: it puts units back on
//! hand, and the order stays what its shipments made it.
//!
//! Every live order (not cancelled, expired or fulfilled) holds a reservation for the units it has not yet been
//! shipped: [`OrderStatus::holds_stock`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    SentToErp,
    PartlyShipped,
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
    /// The ERP shipped some units, and some are still to ship.
    Ship,
    /// The ERP shipped the last unit.
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
    pub const ALL: [OrderEvent; 6] = [
        OrderEvent::Pay,
        OrderEvent::SendToErp,
        OrderEvent::Ship,
        OrderEvent::Fulfil,
        OrderEvent::Cancel,
        OrderEvent::Expire,
    ];

    fn past_tense(self) -> &'static str {
        match self {
            OrderEvent::Pay => "paid",
            OrderEvent::SendToErp => "sent to the ERP",
            OrderEvent::Ship => "shipped",
            OrderEvent::Fulfil => "fulfilled",
            OrderEvent::Cancel => "cancelled",
            OrderEvent::Expire => "expired",
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::SentToErp,
        OrderStatus::PartlyShipped,
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
            OrderStatus::PartlyShipped => "partly_shipped",
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
            (S::Paid | S::Confirmed | S::SentToErp | S::PartlyShipped, E::Ship) => Ok(S::PartlyShipped),
            (S::Paid | S::Confirmed | S::SentToErp | S::PartlyShipped, E::Fulfil) => Ok(S::Fulfilled),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }

    /// True when the order still holds reserved stock that nobody will ship (releasing it on exit).
    pub const fn holds_unpaid_reservation(self) -> bool {
        matches!(self, OrderStatus::PendingPayment)
    }

    /// True while the order holds a reservation for every unit the ERP has not yet shipped: from checkout until
    /// it is fulfilled, cancelled or expired.
    pub const fn holds_stock(self) -> bool {
        !matches!(
            self,
            OrderStatus::Fulfilled | OrderStatus::Cancelled | OrderStatus::Expired
        )
    }

    /// True once the ERP has shipped at least one unit of the order.
    pub const fn has_shipped(self) -> bool {
        matches!(self, OrderStatus::PartlyShipped | OrderStatus::Fulfilled)
    }

    pub const fn is_exit(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Expired)
    }

    /// True when the ERP, the book of record, must have the order but has not confirmed it yet: the one list of
    /// such statuses. The ERP sync sends these, and the ERP ledger sweep sends them again until the ERP has them.
    pub const fn must_reach_erp(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Confirmed)
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
    fn shipments_in_parts_end_fulfilled_and_the_erp_may_ship_before_niaga_records_it_has_the_order() {
        let s = OrderStatus::SentToErp.apply(OrderEvent::Ship).unwrap();
        assert_eq!(s, OrderStatus::PartlyShipped);
        assert_eq!(s.apply(OrderEvent::Ship).unwrap(), OrderStatus::PartlyShipped);
        assert_eq!(s.apply(OrderEvent::Fulfil).unwrap(), OrderStatus::Fulfilled);
        assert_eq!(
            OrderStatus::Paid.apply(OrderEvent::Ship).unwrap(),
            OrderStatus::PartlyShipped
        );
        for unshippable in [
            OrderStatus::PendingPayment,
            OrderStatus::Cancelled,
            OrderStatus::Expired,
        ] {
            assert!(unshippable.apply(OrderEvent::Ship).is_err(), "{unshippable}");
            assert!(unshippable.apply(OrderEvent::Fulfil).is_err(), "{unshippable}");
        }
    }

    #[test]
    fn every_live_order_holds_stock_until_it_is_fulfilled_or_leaves() {
        let holding: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.holds_stock()).collect();
        assert_eq!(
            holding,
            [
                OrderStatus::PendingPayment,
                OrderStatus::Paid,
                OrderStatus::SentToErp,
                OrderStatus::PartlyShipped,
                OrderStatus::Confirmed
            ]
        );
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
    fn exactly_the_drawn_transitions_are_legal() {
        let legal = OrderStatus::ALL
            .iter()
            .flat_map(|s| OrderEvent::ALL.iter().map(move |e| s.apply(*e)))
            .filter(Result::is_ok)
            .count();
        // pay, cancel, expire; send_to_erp from paid and confirmed; ship and fulfil from paid, confirmed,
        // sent_to_erp and partly_shipped.
        assert_eq!(legal, 13);
    }

    #[test]
    fn only_an_order_the_erp_has_yet_to_confirm_must_reach_it() {
        for s in OrderStatus::ALL {
            // Money has moved (or credit is committed) and the ERP's number is not yet recorded.
            let expected = s.apply(OrderEvent::SendToErp).is_ok();
            assert_eq!(s.must_reach_erp(), expected, "{s}");
        }
    }

    #[test]
    fn a_confirmed_order_goes_to_the_erp_and_can_never_be_cancelled_or_expire() {
        for e in OrderEvent::ALL {
            let next = OrderStatus::Confirmed.apply(e);
            let legal = matches!(e, OrderEvent::SendToErp | OrderEvent::Ship | OrderEvent::Fulfil);
            assert_eq!(next.is_ok(), legal, "{e:?}");
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
