//! The ERP as Niaga needs it: the port the ERP adapter (`erp`) implements, and the ways a call can fail.

use crate::feeds::{ErpBalance, ErpCostPrice, ErpMovement, ErpStock, Snapshot};
use std::future::Future;

/// What the ERP said to a sales order it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The ERP's own number for the order (`NoPesanan`), the same for every resend.
    pub erp_order_no: String,
    /// The ERP already had this order: an earlier send got through even if its sender never heard back.
    pub already_received: bool,
}

/// Why a call to the ERP failed. The three kinds call for three different reactions, so callers branch on them
/// (or on [`ErpError::is_retryable`]) rather than on messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    /// It could not be reached, timed out, answered 5xx, or asked us to back off (408, 429): retry later. For a
    /// sales order the ERP may have taken it anyway; resending is safe because it deduplicates on NoRef.
    #[error("the ERP is unavailable: {0}")]
    Unavailable(String),
    /// It refused the request (4xx), or the client cannot be set up as configured: retrying the same thing cannot
    /// help.
    #[error("the ERP rejected the request: {0}")]
    Rejected(String),
    /// It answered, but not in the documented shape: retry later, and alert, because something changed on its side
    /// (or between us) that a person must look at.
    #[error("the ERP's reply is not in the documented shape: {0}")]
    Malformed(String),
}

impl ErpError {
    /// True for [`ErpError::Unavailable`] and [`ErpError::Malformed`]: the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ErpError::Unavailable(_) | ErpError::Malformed(_) => true,
            ErpError::Rejected(_) => false,
        }
    }
}

/// The ERP as Niaga needs it. Nothing behind this trait shows the ERP's documents: orders go in as
/// [`orders::Order`], feeds come out as [`Snapshot`]s of Niaga types.
pub trait ErpClient: Send + Sync {
    /// Sends a (paid) order to the ERP as a sales order.
    ///
    /// MUST be safe to call again for the same order: the order id is the ERP's external reference (NoRef), so a
    /// resend after a timeout or a crash is answered with the same order number and `already_received`.
    fn send_order(&self, order: &orders::Order) -> impl Future<Output = Result<Delivery, ErpError>> + Send;

    /// Physical stock per warehouse and SKU.
    fn stock(&self) -> impl Future<Output = Result<Snapshot<ErpStock>, ErpError>> + Send;

    /// Shipments and returns booked after the ERP's movement `since` (its `Urutan`), in booking order. The
    /// snapshot's `seq` is the last movement the ERP had booked; a movement that does not translate is skipped
    /// whole and counted.
    fn movements(&self, since: u64) -> impl Future<Output = Result<Snapshot<ErpMovement>, ErpError>> + Send;

    /// Receivable balances per partner.
    fn balances(&self) -> impl Future<Output = Result<Snapshot<ErpBalance>, ErpError>> + Send;

    /// Cost price per SKU.
    fn cost_prices(&self) -> impl Future<Output = Result<Snapshot<ErpCostPrice>, ErpError>> + Send;
}
