//! The port Niaga calls the ERP through, and its HTTP implementation.

use crate::snapshot::{ErpBalance, ErpCostPrice, ErpMovement, ErpStock, Snapshot};
use crate::translate;
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use std::future::Future;
use std::time::Duration;

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

/// The ERP over plain HTTP (it lives on the private network; this client carries no TLS).
///
/// Every call is bounded by one timeout, connecting included. Redirects are not followed: the ERP does not
/// redirect, so a 3xx means something else answered, and it is reported as [`ErpError::Malformed`].
#[derive(Debug, Clone)]
pub struct HttpErp {
    http: Client,
    /// The base URL without a trailing `/`.
    base: String,
}

impl HttpErp {
    /// A client for the ERP at `base_url` (`http://host:port`, optionally with a path prefix). A URL that is not
    /// plain `http`, or has a query or fragment, is [`ErpError::Rejected`]: it is a configuration error, and no
    /// retry would fix it.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ErpError> {
        let url = Url::parse(base_url)
            .map_err(|e| ErpError::Rejected(format!("ERP base URL {base_url:?} is not a URL: {e}")))?;
        if url.scheme() != "http" {
            return Err(ErpError::Rejected(format!(
                "ERP base URL {base_url:?} must be plain http: this client has no TLS"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ErpError::Rejected(format!(
                "ERP base URL {base_url:?} must not have a query or fragment"
            )));
        }
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ErpError::Rejected(format!("cannot build the ERP HTTP client: {}", describe(&e))))?;
        Ok(HttpErp {
            http,
            base: url.as_str().trim_end_matches('/').to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the body of a 2xx answer; every other outcome is an [`ErpError`].
    async fn call(&self, request: RequestBuilder) -> Result<Vec<u8>, ErpError> {
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let reason = translate::refusal_reason(&body);
        Err(match status {
            // Both mean "not now": the request itself was fine.
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                ErpError::Unavailable(format!("HTTP {status}: {reason}"))
            }
            s if s.is_server_error() => ErpError::Unavailable(format!("HTTP {status}: {reason}")),
            s if s.is_client_error() => ErpError::Rejected(format!("HTTP {status}: {reason}")),
            _ => ErpError::Malformed(format!("unexpected HTTP {status}: {reason}")),
        })
    }

    async fn feed<D, T>(
        &self,
        feed: &'static str,
        path: &str,
        translate: fn(D) -> Result<T, String>,
    ) -> Result<Snapshot<T>, ErpError>
    where
        D: serde::de::DeserializeOwned,
    {
        let body = self.call(self.http.get(self.url(path))).await?;
        translate::snapshot(feed, &body, translate)
    }
}

impl ErpClient for HttpErp {
    async fn send_order(&self, order: &orders::Order) -> Result<Delivery, ErpError> {
        let document = translate::order_document(order);
        let body = self
            .call(self.http.post(self.url("/api/v1/pesanan")).json(&document))
            .await?;
        let delivery = translate::delivery(&document.no_ref, &body)?;
        tracing::debug!(
            order_id = %order.id,
            erp_order_no = %delivery.erp_order_no,
            already_received = delivery.already_received,
            "order delivered to the ERP"
        );
        Ok(delivery)
    }

    async fn stock(&self) -> Result<Snapshot<ErpStock>, ErpError> {
        self.feed("stock", "/api/v1/stok", translate::stock_row).await
    }

    async fn movements(&self, since: u64) -> Result<Snapshot<ErpMovement>, ErpError> {
        self.feed(
            "movements",
            &format!("/api/v1/mutasi?sejak={since}"),
            translate::movement_row,
        )
        .await
    }

    async fn balances(&self) -> Result<Snapshot<ErpBalance>, ErpError> {
        self.feed("balances", "/api/v1/piutang", translate::balance_row).await
    }

    async fn cost_prices(&self) -> Result<Snapshot<ErpCostPrice>, ErpError> {
        self.feed("cost prices", "/api/v1/harga-pokok", translate::cost_price_row)
            .await
    }
}

/// A failure before a complete answer arrived. All of these may pass (a refused connection, a timeout, a reset
/// mid-body), except a request we could not even build, which is our own fault.
fn transport_error(e: reqwest::Error) -> ErpError {
    if e.is_builder() {
        ErpError::Rejected(describe(&e))
    } else if e.is_timeout() {
        ErpError::Unavailable(format!("timed out: {}", describe(&e)))
    } else {
        ErpError::Unavailable(describe(&e))
    }
}

fn describe(e: &reqwest::Error) -> String {
    kernel::error_chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rejections_are_not_retryable() {
        assert!(ErpError::Unavailable("x".into()).is_retryable());
        assert!(ErpError::Malformed("x".into()).is_retryable());
        assert!(!ErpError::Rejected("x".into()).is_retryable());
    }

    #[test]
    fn a_base_url_that_is_not_plain_http_is_refused_as_configuration() {
        for bad in [
            "https://erp.internal",
            "erp.internal:7070",
            "ftp://erp",
            "http://erp/?x=1",
            "",
        ] {
            let got = HttpErp::new(bad, Duration::from_secs(1));
            assert!(matches!(got, Err(ErpError::Rejected(_))), "{bad}");
        }
    }

    #[test]
    fn a_trailing_slash_or_path_prefix_in_the_base_url_is_kept_tidy() {
        let erp = HttpErp::new("http://127.0.0.1:7070/", Duration::from_secs(1)).unwrap();
        assert_eq!(erp.url("/api/v1/stok"), "http://127.0.0.1:7070/api/v1/stok");
        let erp = HttpErp::new("http://erp.internal/legacy/", Duration::from_secs(1)).unwrap();
        assert_eq!(erp.url("/api/v1/stok"), "http://erp.internal/legacy/api/v1/stok");
    }
}
