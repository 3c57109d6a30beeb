//! Completion webhooks are signed so a receiver can tell Niaga sent them and that nobody replays an old one.
//!
//! The `Niaga-Signature` header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The secret is
//! the job's own, returned once when the job is created. A receiver recomputes the MAC over the raw body, compares
//! in constant time, and rejects timestamps older than its tolerance (five minutes is usual).

use hmac::{Hmac, Mac};
use sha2::Sha256;
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
