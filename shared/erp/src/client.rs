//! The HTTP implementation of the ERP port ([`supply_sync::ErpClient`]).

use crate::translate;
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use std::time::Duration;
use supply_sync::{Delivery, ErpBalance, ErpClient, ErpCostPrice, ErpError, ErpMovement, ErpStock, Snapshot};

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
