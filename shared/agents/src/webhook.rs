//! Completion webhooks are signed so a receiver can tell Niaga sent them and that nobody replays an old one.
//!
//! The `Niaga-Signature` header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The secret is
//! the job's own, returned once when the job is created. A receiver recomputes the MAC over the raw body, compares
//! in constant time, and rejects timestamps older than its tolerance (five minutes is usual).
//!
//! [`Webhooks::deliver`] sends one: it resolves the callback's host through the [`Resolver`] port, refuses it when
//! any address is not public ([`crate::callback`]), and hands the [`WebhookSender`] port only the checked
//! addresses, which it must connect to without resolving the name again or following a redirect.

use crate::callback::{CallbackError, CallbackPolicy, Resolver, Target};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The header the signature travels in.
pub const SIGNATURE_HEADER: &str = "Niaga-Signature";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body)))
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is older than the tolerance")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a `Niaga-Signature` header against the raw body, allowing `tolerance_s` of clock difference.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_s: i64) -> Result<(), VerifyError> {
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (t, v1) = t.zip(v1).ok_or(VerifyError::Malformed)?;
    if (now - t).abs() > tolerance_s {
        return Err(VerifyError::Stale);
    }
    if bool::from(mac(secret, t, body).ct_eq(&v1)) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// One webhook to send: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub target: Target,
    /// Header names and values, the signature among them.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The HTTP status a callback answered, or why there was no answer.
pub type Sending = Pin<Box<dyn Future<Output = Result<u16, String>> + Send>>;

/// Sends a webhook over HTTP.
pub trait WebhookSender: Send + Sync {
    /// POSTs `request.body` to `request.target.url` and answers the status. MUST connect only to
    /// `request.target.addrs` (never resolve the URL's host itself), MUST NOT follow a redirect (a 3xx is the
    /// answer), and MUST NOT go through a proxy.
    fn post(&self, request: WebhookRequest) -> Sending;
}

/// Why a webhook was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliverError {
    /// The callback is not (or no longer) allowed: nothing was sent, and trying again will not help.
    #[error("the callback URL {0}")]
    Refused(CallbackError),
    /// The callback answered something other than 2xx (a redirect included: it is never followed).
    #[error("the callback answered {0}")]
    Status(u16),
    /// No answer: the connection failed or timed out.
    #[error("the callback could not be reached: {0}")]
    Unreachable(String),
}

impl DeliverError {
    /// Whether another attempt could succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DeliverError::Refused(_))
    }
}

/// Delivers signed completion webhooks, to permitted addresses only.
#[derive(Clone)]
pub struct Webhooks {
    policy: CallbackPolicy,
    resolver: Arc<dyn Resolver>,
    sender: Arc<dyn WebhookSender>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    pub fn new(policy: CallbackPolicy, resolver: Arc<dyn Resolver>, sender: Arc<dyn WebhookSender>) -> Self {
        Webhooks {
            policy,
            resolver,
            sender,
        }
    }

    /// POSTs `body` to `url`, signed with `secret` at `now` (unix seconds). The URL is checked again here, against
    /// what its host resolves to now: a job stored before a rule tightened, or a name that resolved to a public
    /// address at submission and to a private one since, is [`DeliverError::Refused`] before any connection.
    pub async fn deliver(
        &self,
        url: &str,
        secret: &str,
        event_id: &str,
        body: Vec<u8>,
        now: i64,
    ) -> Result<(), DeliverError> {
        let target = self
            .policy
            .target(url, self.resolver.as_ref())
            .await
            .map_err(|e| match e {
                // A name that resolved when the job was submitted may be briefly unresolvable (a DNS outage).
                CallbackError::DoesNotResolve => DeliverError::Unreachable(format!("the callback URL {e}")),
                e => DeliverError::Refused(e),
            })?;
        let request = WebhookRequest {
            target,
            headers: vec![
                ("content-type", "application/json".to_string()),
                (SIGNATURE_HEADER, sign(secret, now, &body)),
                ("Niaga-Event-Id", event_id.to_string()),
            ],
            body,
        };
        match self.sender.post(request).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(DeliverError::Status(status)),
            Err(e) => Err(DeliverError::Unreachable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_body_does_not() {
        let h = sign("whsec_x", 1_700_000_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify("whsec_x", &h, b"{\"a\":1}", 1_700_000_060, 300), Ok(()));
        assert_eq!(
            verify("whsec_x", &h, b"{\"a\":2}", 1_700_000_060, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("other", &h, b"{\"a\":1}", 1_700_000_060, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_x", &h, b"{\"a\":1}", 1_700_001_000, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(verify("whsec_x", "v1=zz", b"", 0, 300), Err(VerifyError::Malformed));
    }
}
