//! The payment gateway's Get Status API over HTTPS: the adapter behind [`orders::PaymentGateway`].
//!
//! `GET {base}/v2/{order_id}/status`, authenticated with HTTP Basic (the server key as the user name and no
//! password), as Midtrans documents it. The answer is read by [`orders::GatewayStatus::parse`], through the same
//! status table as a notification. One timeout bounds each call, connecting included, so a slow gateway cannot
//! hold a notification past Midtrans's 15-second limit. Redirects are not followed: the API does not redirect, so
//! a 3xx means something else answered. A `status_code` of 404 means the gateway has no transaction for the
//! order; anything else that is not a documented answer is [`GatewayUnavailable`], never a guessed status.
//!
//! Depends on orders (the port it implements) and kernel. It must not depend on the store, the platform, the AWS
//! SDK or Lambda crates.

use kernel::SecretString;
use orders::{GatewayStatus, GatewayUnavailable, PaymentGateway};
use reqwest::{Client, Url};
use serde_json::Value;
use std::time::Duration;

/// Midtrans's production API. The sandbox is `https://api.sandbox.midtrans.com`.
pub const PRODUCTION_URL: &str = "https://api.midtrans.com";

/// The base URL or the client cannot be set up as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The Get Status API at one base URL, asked with one server key.
#[derive(Debug, Clone)]
pub struct MidtransStatusApi {
    http: Client,
    base: Url,
    server_key: kernel::SharedSecret,
}

impl MidtransStatusApi {
    /// A client for the API at `base_url`. It must be `https`, or plain `http` to a loopback address (a local
    /// stand-in), with no query or fragment: the server key travels in every request.
    pub fn new(base_url: &str, timeout: Duration, server_key: SecretString) -> Result<Self, ConfigError> {
        Self::with_shared_key(base_url, timeout, kernel::SharedSecret::new(server_key))
    }

    /// Like [`MidtransStatusApi::new`], asking with whatever the shared key holds at the time (a rotated key).
    pub fn with_shared_key(
        base_url: &str,
        timeout: Duration,
        server_key: kernel::SharedSecret,
    ) -> Result<Self, ConfigError> {
        let base = check_base_url(base_url)?;
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError(format!("cannot build the status API's HTTP client: {}", describe(&e))))?;
        Ok(MidtransStatusApi { http, base, server_key })
    }

    fn url(&self, order_id: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["v2", order_id, "status"]);
        }
        url
    }
}

/// `https://…`, or `http://` to a loopback host; no query, fragment or credentials.
pub fn check_base_url(base_url: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(base_url).map_err(|e| ConfigError(format!("{base_url:?} is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(ConfigError(format!(
                "{base_url:?} must be https (plain http only to a loopback address): the server key travels in it"
            )))
        }
    }
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError(format!(
            "{base_url:?} must be a base URL without a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError(format!("{base_url:?} must not carry credentials")));
    }
    Ok(url)
}

fn unavailable(message: String) -> GatewayUnavailable {
    GatewayUnavailable(anyhow::anyhow!(message))
}

impl PaymentGateway for MidtransStatusApi {
    async fn status(&self, order_id: &str) -> Result<Option<GatewayStatus>, GatewayUnavailable> {
        let response = self
            .http
            .get(self.url(order_id))
            .basic_auth(self.server_key.get().expose(), None::<&str>)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(format!("asking for order {order_id}: {}", describe(&e))))?;
        let http_status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(format!("reading the answer for order {order_id}: {}", describe(&e))))?;
        let doc: Option<Value> = serde_json::from_slice(&body).ok();
        let code = doc.as_ref().and_then(|d| d.get("status_code")).and_then(Value::as_str);
        // Midtrans says "no such transaction" with status_code 404, whatever the HTTP status; a bare HTTP 404
        // without it is something else answering (a wrong base URL), not the gateway's word.
        if code == Some("404") {
            return Ok(None);
        }
        if !http_status.is_success() {
            return Err(unavailable(format!(
                "HTTP {http_status} (status_code {}) for order {order_id}",
                code.unwrap_or("absent")
            )));
        }
        let doc = doc.ok_or_else(|| unavailable(format!("the answer for order {order_id} is not JSON")))?;
        let status = GatewayStatus::parse(&doc).map_err(|e| {
            unavailable(format!(
                "the answer for order {order_id} is not a documented status: {e}"
            ))
        })?;
        tracing::debug!(order_id, transaction_status = ?status.as_ref().map(|s| &s.transaction_status), "gateway status");
        Ok(status)
    }
}

fn describe(e: &reqwest::Error) -> String {
    kernel::error_chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_must_be_https_or_loopback_http_without_query_fragment_or_credentials() {
        for good in [
            PRODUCTION_URL,
            "https://api.sandbox.midtrans.com/",
            "http://127.0.0.1:5140",
            "http://localhost:1",
        ] {
            assert!(check_base_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://api.midtrans.com",
            "ftp://api.midtrans.com",
            "https://api.midtrans.com/?x=1",
            "https://api.midtrans.com/#f",
            "https://user:pw@api.midtrans.com",
            "api.midtrans.com",
            "",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_status_url_puts_the_order_id_in_one_escaped_segment() {
        let api = MidtransStatusApi::new(
            "https://api.sandbox.midtrans.com/",
            Duration::from_secs(1),
            SecretString::new("k"),
        )
        .unwrap();
        assert_eq!(
            api.url("0b6f7f9e-6d43-4d47-9d0e-7f1f4b2f8a11").as_str(),
            "https://api.sandbox.midtrans.com/v2/0b6f7f9e-6d43-4d47-9d0e-7f1f4b2f8a11/status"
        );
        assert_eq!(
            api.url("a/../b?c").as_str(),
            "https://api.sandbox.midtrans.com/v2/a%2F..%2Fb%3Fc/status"
        );
    }
}
