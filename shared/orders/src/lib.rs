//! Orders: the application layer of checkout. It places, reads, lists, cancels and expires orders and applies
//! payment notifications, wiring commercial (price, credit) and supply (stock, routing) together through the
//! ports in [`ports`], which the Postgres adapter implements.
//!
//! # Layout
//! - [`status`]: the order state machine; illegal transitions are errors (HTTP 409 at the edge).
//! - [`model`]: the order, its lines, outbox events and audit entries.
//! - [`idempotency`]: `Idempotency-Key` rules, request fingerprints, stored answers.
//! - [`payment`]: Midtrans-style notifications, their SHA-512 signature, amount rules and status table; the
//!   [`payment::PaymentGateway`] port to the gateway's Get Status API; refunds due.
//! - [`ports`]: storage as the use-cases need it; one [`ports::OrderTx`] is one transaction.
//! - [`service`]: the use-cases.
//!
//! This crate owns no I/O and must not depend on PostgreSQL, the AWS SDK, Lambda crates or HTTP types; metrics and
//! HTTP status codes belong to the edge, which reads them from the results and errors returned here.

pub mod idempotency;
pub mod model;
pub mod payment;
pub mod ports;
pub mod service;
pub mod status;

pub use idempotency::{fingerprint, IdempotencyKey, KeyClaim, StoredAnswer};
pub use model::{AuditEntry, Order, OrderLine, OrderSummary, OutboxEvent};
pub use payment::{
    GatewayStatus, GatewayUnavailable, Notification, NotificationError, PaymentGateway, PaymentRecord, PaymentState,
    PaymentVerifier, RefundDue, RefundDueEntry, Unconfirmed,
};
pub use ports::{CheckoutSettings, OrderStore, OrderTx, PartnerAccount};
pub use service::{
    quote_cart, OrderError, OrderPage, Orders, PaymentError, PaymentOutcome, PlaceOrder, PlaceOrderError, Placed,
    QuoteCartError, QuotedCart, RefundDuePage,
};
pub use status::{IllegalTransition, OrderEvent, OrderStatus};
