//! Requests that come through CloudFront: the secret origin header, and the viewer's address.
//!
//! Behind CloudFront, API Gateway's `sourceIp` is the edge's address, so everyone behind one edge would share a
//! per-source budget; and the execute-api URL stays reachable around CloudFront. So CloudFront sends a secret
//! header on every origin request (terraform/compute/cdn.tf), and forwards the viewer's `IP:port` in
//! `CloudFront-Viewer-Address`. When the secret is configured (`NIAGA_ORIGIN_HEADER` and
//! `NIAGA_ORIGIN_SECRET_ID`, set on the HTTP functions behind CloudFront), a request without the matching header
//! is refused with 403, and the viewer address is trusted only on a request that carried it. Without it (the
//! local stack, no CloudFront) nothing is refused and the address is API Gateway's `sourceIp`.
//!
//! Rotation: CloudFront's edges pick up a new header value over minutes, so for a while some send the old value
//! and some the new one. The guard admits the secret's current value and its previous one (Secrets Manager's
//! `AWSPREVIOUS`), and [`crate::secrets::SigningKeys`] brings both up to date within the secrets cache's TTL, so a
//! rotation refuses no request and needs no restart.

use http::{HeaderMap, HeaderName};
use kernel::SecretString;
use lambda_glue::problem::Problem;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// The header in which CloudFront forwards the viewer's `IP:port`.
pub const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

/// The header CloudFront must send and the values it may carry: the secret's current value and, after a rotation,
/// its previous one.
pub struct OriginGuard {
    header: HeaderName,
    values: std::sync::RwLock<Values>,
}

struct Values {
    current: SecretString,
    previous: Option<SecretString>,
}

impl std::fmt::Debug for OriginGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginGuard")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl OriginGuard {
    /// `None` when the header name is not a valid HTTP header name or the value is empty.
    pub fn new(header: &str, secret: SecretString) -> Option<Self> {
        let header = HeaderName::from_bytes(header.trim().to_ascii_lowercase().as_bytes()).ok()?;
        (!secret.expose().is_empty()).then(|| OriginGuard {
            header,
            values: std::sync::RwLock::new(Values {
                current: secret,
                previous: None,
            }),
        })
    }

    /// After a rotation: admits `current` and `previous` (an empty value is never admitted); `false`, and nothing
    /// changed, when `current` is empty.
    pub fn rotate(&self, current: SecretString, previous: Option<SecretString>) -> bool {
        if current.expose().is_empty() {
            return false;
        }
        let previous = previous.filter(|p| !p.expose().is_empty());
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = Values { current, previous };
        true
    }

    /// True when the request carries exactly one copy of the header, equal to the current or the previous value.
    /// Compared in constant time over digests, against both values whichever matches, so neither a value, its
    /// length nor which one matched leaks through timing.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let mut sent = headers.get_all(&self.header).iter();
        let (Some(value), None) = (sent.next(), sent.next()) else {
            return false;
        };
        let sent = Sha256::digest(value.as_bytes());
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        let current = sent.ct_eq(&Sha256::digest(values.current.expose().as_bytes()));
        let previous = match &values.previous {
            Some(p) => sent.ct_eq(&Sha256::digest(p.expose().as_bytes())),
            None => subtle::Choice::from(0),
        };
        bool::from(current | previous)
    }
}

static CONFIGURED: OnceLock<OriginGuard> = OnceLock::new();

/// Installs the guard for this process (cold start does, when configured). A second call is ignored.
pub fn configure(guard: OriginGuard) {
    let _ = CONFIGURED.set(guard);
}

/// The guard cold start installed, if any.
pub fn configured() -> Option<&'static OriginGuard> {
    CONFIGURED.get()
}

/// The viewer's address, as CloudFront saw it; present in a request's extensions only when the origin header
/// matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewerAddress(pub IpAddr);

/// The IP of a `CloudFront-Viewer-Address` value: `IP:port`, with an IPv6 address unbracketed, so the port is
/// after the last colon.
pub fn parse_viewer_address(value: &str) -> Option<IpAddr> {
    let (ip, port) = value.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
    ip.parse().ok()
}

/// Checks a request against `guard`: refused (403 problem+json) without the matching origin header; when it
/// matched, the viewer's address from `CloudFront-Viewer-Address` is put in the request's extensions for
/// [`crate::limits::source_ip`]. Without a guard, nothing is refused and no forwarded address is trusted.
pub fn admit(guard: Option<&OriginGuard>, req: &mut lambda_http::Request) -> Result<(), Problem> {
    // Whatever a caller put there is never trusted unless established below.
    req.extensions_mut().remove::<ViewerAddress>();
    let Some(guard) = guard else {
        return Ok(());
    };
    if !guard.admits(req.headers()) {
        return Err(Problem::client(
            403,
            "not-through-cdn",
            "Forbidden",
            "requests reach this API through its CDN only",
        ));
    }
    let viewer = req
        .headers()
        .get(VIEWER_ADDRESS)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_viewer_address);
    if let Some(ip) = viewer {
        req.extensions_mut().insert(ViewerAddress(ip));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn guard() -> OriginGuard {
        OriginGuard::new(
            "X-Niaga-Origin-Verify",
            SecretString::new("s3cr3t-value-from-the-secret"),
        )
        .unwrap()
    }

    fn request(headers: &[(&str, &str)]) -> lambda_http::Request {
        let mut b = http::Request::builder().uri("https://api.example.test/products");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(lambda_http::Body::Empty).unwrap()
    }

    #[test]
    fn the_viewer_address_is_ip_colon_port_and_ipv6_is_split_on_the_last_colon() {
        // CloudFront's documented shapes: 198.51.100.10:46532 and 2001:db8:...:1:46532 (unbracketed).
        assert_eq!(
            parse_viewer_address("198.51.100.10:46532"),
            Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)))
        );
        assert_eq!(
            parse_viewer_address("2001:db8:85a3::8a2e:370:7334:46532"),
            Some(IpAddr::V6("2001:db8:85a3::8a2e:370:7334".parse::<Ipv6Addr>().unwrap()))
        );
        assert_eq!(
            parse_viewer_address("2001:db8::1:443"),
            Some(IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()))
        );
        assert_eq!(
            parse_viewer_address("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        for bad in [
            "",
            "198.51.100.10",
            "198.51.100.10:port",
            "not-an-ip:443",
            "2001:db8::1",
        ] {
            assert_eq!(parse_viewer_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn without_the_origin_header_or_with_a_wrong_one_the_request_is_refused_and_the_forged_address_not_trusted() {
        let g = guard();
        for headers in [
            vec![("cloudfront-viewer-address", "203.0.113.7:1234")],
            vec![
                ("x-niaga-origin-verify", "s3cr3t-value-from-the-secreT"),
                ("cloudfront-viewer-address", "203.0.113.7:1234"),
            ],
            vec![
                ("x-niaga-origin-verify", "s3cr3t"),
                ("cloudfront-viewer-address", "203.0.113.7:1234"),
            ],
            vec![
                ("x-niaga-origin-verify", "s3cr3t-value-from-the-secret"),
                ("x-niaga-origin-verify", "s3cr3t-value-from-the-secret"),
            ],
        ] {
            let mut req = request(&headers);
            let err = admit(Some(&g), &mut req).expect_err("refused");
            assert_eq!(err.status, 403, "{headers:?}");
            assert!(req.extensions().get::<ViewerAddress>().is_none(), "{headers:?}");
        }
    }

    #[test]
    fn with_the_origin_header_the_viewer_address_is_trusted() {
        let mut req = request(&[
            ("X-Niaga-Origin-Verify", "s3cr3t-value-from-the-secret"),
            ("CloudFront-Viewer-Address", "2001:db8::7:50123"),
        ]);
        admit(Some(&guard()), &mut req).expect("admitted");
        assert_eq!(
            req.extensions().get::<ViewerAddress>(),
            Some(&ViewerAddress("2001:db8::7".parse().unwrap()))
        );
    }

    #[test]
    fn without_a_guard_nothing_is_refused_and_a_forwarded_address_is_not_trusted() {
        let mut req = request(&[("cloudfront-viewer-address", "203.0.113.7:1234")]);
        req.extensions_mut()
            .insert(ViewerAddress("198.51.100.1".parse().unwrap()));
        admit(None, &mut req).expect("nothing to check");
        assert!(req.extensions().get::<ViewerAddress>().is_none());
    }

    #[test]
    fn after_a_rotation_the_new_and_the_previous_value_are_admitted_and_an_older_one_is_not() {
        let g = guard();
        let sends = |value: &str| admit(Some(&g), &mut request(&[("x-niaga-origin-verify", value)])).is_ok();
        assert!(g.rotate(
            SecretString::new("second-value"),
            Some(SecretString::new("s3cr3t-value-from-the-secret"))
        ));
        assert!(sends("second-value"), "an edge that has the new value");
        assert!(sends("s3cr3t-value-from-the-secret"), "an edge still on the old one");
        assert!(g.rotate(
            SecretString::new("third-value"),
            Some(SecretString::new("second-value"))
        ));
        assert!(sends("third-value") && sends("second-value"));
        assert!(!sends("s3cr3t-value-from-the-secret"), "two rotations ago");
        assert!(!sends(""));
        assert!(!g.rotate(SecretString::new(""), None), "an empty value is refused");
        assert!(sends("third-value"), "and changes nothing");
        assert!(g.rotate(SecretString::new("fourth-value"), Some(SecretString::new(""))));
        assert!(!sends(""), "an empty previous value admits nothing");
    }

    #[test]
    fn a_guard_needs_a_header_name_and_a_value() {
        assert!(OriginGuard::new("bad header", SecretString::new("x")).is_none());
        assert!(OriginGuard::new("x-niaga-origin-verify", SecretString::new("")).is_none());
        let debug = format!("{:?}", guard());
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}
