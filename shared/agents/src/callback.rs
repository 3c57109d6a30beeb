//! Where a job's completion webhook may go: public addresses only, in every spelling, checked when the job is
//! submitted and again, against what the name then resolves to, when the webhook is sent.
//!
//! A callback URL is parsed with the WHATWG URL rules (the `url` crate), which turn every spelling of an IPv4
//! address (`127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`, percent-encoded or full-width digits) into the address
//! itself, so the checks compare parsed addresses, never strings. IPv6 forms that carry an IPv4 address
//! (IPv4-mapped, NAT64, 6to4) are judged by the address they carry.
//!
//! A name is resolved through the [`Resolver`] port and refused when ANY of its addresses is not public: the
//! connection could go to any of them. The sender connects only to the addresses checked here, so a name that
//! resolves differently a moment later (DNS rebinding) cannot redirect it.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use url::{Host, Url};

/// The longest callback URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Whether an IPv4 address is reachable on the public internet: outside every IANA special-purpose block that is
/// not globally routable, and outside the private, shared, loopback, link-local, documentation, benchmarking,
/// multicast and reserved ranges.
pub fn is_public_ipv4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // 0.0.0.0/8: "this network"
        || a == 10 // 10.0.0.0/8: private
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10: carrier-grade NAT
        || a == 127 // 127.0.0.0/8: loopback
        || (a == 169 && b == 254) // 169.254.0.0/16: link-local, the instance metadata service among them
        || (a == 172 && (b & 0xf0) == 16) // 172.16.0.0/12: private
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24: IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // 192.0.2.0/24: documentation
        || (a == 192 && b == 88 && c == 99) // 192.88.99.0/24: 6to4 relay anycast
        || (a == 192 && b == 168) // 192.168.0.0/16: private
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15: benchmarking
        || (a == 198 && b == 51 && c == 100) // 198.51.100.0/24: documentation
        || (a == 203 && b == 0 && c == 113) // 203.0.113.0/24: documentation
        || a >= 224; // 224.0.0.0/4 multicast, 240.0.0.0/4 reserved, 255.255.255.255 broadcast
    !special
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one: IPv4-mapped
/// (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::/48`).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail()),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

/// Whether an IPv6 address is reachable on the public internet. Forms that carry an IPv4 address are judged by
/// that address; otherwise only global unicast (`2000::/3`) qualifies, less its special-purpose blocks. Outside
/// `2000::/3` lie `::` and `::1`, the deprecated IPv4-compatible `::/96`, `::ffff:0:0:0/96`, `100::/64`
/// (discard), `64:ff9b:1::/48` (local NAT64), `fc00::/7` (unique local), `fe80::/10` (link-local), `fec0::/10`
/// (site-local) and `ff00::/8` (multicast).
pub fn is_public_ipv6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(ip) {
        return is_public_ipv4(v4);
    }
    let s = ip.segments();
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    let special = match s[0] {
        // 2001::/23: IETF protocol assignments (Teredo among them); 2001:db8::/32: documentation
        0x2001 => s[1] < 0x0200 || s[1] == 0x0db8,
        // 3fff::/20: documentation
        0x3ff0..=0x3fff => true,
        // 5f00::/16: segment routing
        0x5f00 => true,
        _ => false,
    };
    global_unicast && !special
}

/// Whether an address is reachable on the public internet, in either family.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_ipv4(v4),
        IpAddr::V6(v6) => is_public_ipv6(v6),
    }
}

/// Whether an address is this machine's loopback: `127.0.0.0/8`, `::1`, or an IPv4-mapped loopback address.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Why a callback URL is refused. The message completes "callback_url …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("is not an absolute URL")]
    NotAUrl,
    #[error("must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("must be an https URL")]
    Scheme,
    #[error("must not carry a user name or password")]
    Userinfo,
    #[error("must name a host")]
    NoHost,
    #[error("must be on a public host, not {0}")]
    NotPublic(IpAddr),
    #[error("must be on a public host, not a localhost name")]
    LocalName,
    /// The address is kept for the log; the message does not show it, so nobody learns internal names' addresses.
    #[error("names a host that resolves to an address that is not public")]
    ResolvesNotPublic(IpAddr),
    #[error("names a host that does not resolve")]
    DoesNotResolve,
}

/// The answer of a [`Resolver`].
pub type Resolving = Pin<Box<dyn Future<Output = Result<Vec<IpAddr>, ResolveError>> + Send>>;

/// A name could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} does not resolve: {reason}")]
pub struct ResolveError {
    pub name: String,
    pub reason: String,
}

/// Turns a host name into addresses (DNS in production).
pub trait Resolver: Send + Sync {
    /// Every address `name` resolves to now: all A and AAAA records, not a preferred few, since the policy must
    /// see each address a connection could go to. MUST return an error, not an empty list, when there is none.
    fn resolve(&self, name: &str) -> Resolving;
}

impl std::fmt::Debug for dyn Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Resolver")
    }
}

/// Resolves nothing: every name is refused. What a handler uses until a real resolver is wired in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(&self, name: &str) -> Resolving {
        let name = name.to_string();
        Box::pin(async move {
            Err(ResolveError {
                name,
                reason: "no resolver is configured".into(),
            })
        })
    }
}

/// Which callback URLs a job may register and its webhook may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// The local override: loopback addresses are allowed too, over `http` or `https`. Private, link-local and
    /// every other non-public address stay refused. Never on outside the local environment.
    pub allow_loopback_http: bool,
}

/// A callback URL that passed the policy's checks on its form (scheme, userinfo, literal address, localhost
/// names). A name in it has yet to be resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl {
    url: Url,
    host: CallbackHost,
}

/// The host of a [`CallbackUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackHost {
    Ip(IpAddr),
    Name(String),
}

/// Where a webhook goes: its URL and the checked addresses to connect to (the URL's host is never resolved again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    /// The host name, when the URL has one rather than an address.
    pub name: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

impl CallbackUrl {
    /// The normalised URL (`https://2130706433/` reads `https://127.0.0.1/`), as stored and sent to.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub fn host(&self) -> &CallbackHost {
        &self.host
    }
}

impl CallbackPolicy {
    /// Public hosts over https only: every deployed environment.
    pub const PUBLIC_ONLY: CallbackPolicy = CallbackPolicy {
        allow_loopback_http: false,
    };
    /// The local override: loopback too, over http or https.
    pub const LOCAL: CallbackPolicy = CallbackPolicy {
        allow_loopback_http: true,
    };

    /// The policy for `environment`: the loopback override holds only in the `local` environment; anywhere else
    /// the flag is ignored (the answer's second member says it was).
    pub fn for_environment(environment: &str, loopback_flag: bool) -> (CallbackPolicy, bool) {
        let local = environment == "local";
        let policy = if loopback_flag && local {
            Self::LOCAL
        } else {
            Self::PUBLIC_ONLY
        };
        (policy, loopback_flag && !local)
    }

    /// Whether a webhook may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.allow_loopback_http && is_loopback(ip))
    }

    /// Checks the URL's form and a literal address in it; a name is checked by [`CallbackPolicy::vet`].
    pub fn parse(&self, raw: &str) -> Result<CallbackUrl, CallbackError> {
        if raw.len() > MAX_URL_LEN {
            return Err(CallbackError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| CallbackError::NotAUrl)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CallbackError::Userinfo);
        }
        let host = match url.host() {
            Some(Host::Ipv4(v4)) => CallbackHost::Ip(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => CallbackHost::Ip(IpAddr::V6(v6)),
            Some(Host::Domain(name)) => {
                // The parser lower-cases names; a trailing dot names the same host.
                let bare = name.strip_suffix('.').unwrap_or(name);
                if bare == "localhost" || bare.ends_with(".localhost") {
                    return Err(CallbackError::LocalName);
                }
                CallbackHost::Name(name.to_string())
            }
            None => {
                return Err(if url.scheme() == "https" || url.scheme() == "http" {
                    CallbackError::NoHost
                } else {
                    CallbackError::Scheme
                })
            }
        };
        if let CallbackHost::Ip(ip) = host {
            if !self.permits(ip) {
                return Err(CallbackError::NotPublic(ip));
            }
        }
        let loopback = matches!(host, CallbackHost::Ip(ip) if is_loopback(ip));
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback_http && loopback => {}
            _ => return Err(CallbackError::Scheme),
        }
        Ok(CallbackUrl { url, host })
    }

    /// Checks `url`'s host: a literal address was checked when parsed; a name must resolve, and to permitted
    /// addresses only. Returns the addresses a connection may use.
    pub async fn addresses(&self, url: &CallbackUrl, resolver: &dyn Resolver) -> Result<Vec<IpAddr>, CallbackError> {
        match &url.host {
            CallbackHost::Ip(ip) => Ok(vec![*ip]),
            CallbackHost::Name(name) => {
                let addrs = resolver
                    .resolve(name)
                    .await
                    .map_err(|_| CallbackError::DoesNotResolve)?;
                if addrs.is_empty() {
                    return Err(CallbackError::DoesNotResolve);
                }
                match addrs.iter().find(|ip| !self.permits(**ip)) {
                    Some(bad) => Err(CallbackError::ResolvesNotPublic(*bad)),
                    None => Ok(addrs),
                }
            }
        }
    }

    /// The whole check at submission: the URL's form, then its host's addresses.
    pub async fn vet(&self, raw: &str, resolver: &dyn Resolver) -> Result<CallbackUrl, CallbackError> {
        let url = self.parse(raw)?;
        self.addresses(&url, resolver).await?;
        Ok(url)
    }

    /// The whole check at send time, against what the name resolves to now: where to connect.
    pub async fn target(&self, raw: &str, resolver: &dyn Resolver) -> Result<Target, CallbackError> {
        let url = self.parse(raw)?;
        let port = url.url.port_or_known_default().unwrap_or(443);
        let addrs = self.addresses(&url, resolver).await?;
        Ok(Target {
            url: url.as_str().to_string(),
            name: match url.host {
                CallbackHost::Name(n) => Some(n),
                CallbackHost::Ip(_) => None,
            },
            addrs: addrs.into_iter().map(|ip| SocketAddr::new(ip, port)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The IPv4 blocks that are not public, as IANA's special-purpose registry and RFC 1918/6598/5737 list them.
    const BLOCKED_V4: &[(&str, u8)] = &[
        ("0.0.0.0", 8),
        ("10.0.0.0", 8),
        ("100.64.0.0", 10),
        ("127.0.0.0", 8),
        ("169.254.0.0", 16),
        ("172.16.0.0", 12),
        ("192.0.0.0", 24),
        ("192.0.2.0", 24),
        ("192.88.99.0", 24),
        ("192.168.0.0", 16),
        ("198.18.0.0", 15),
        ("198.51.100.0", 24),
        ("203.0.113.0", 24),
        ("224.0.0.0", 4),
        ("240.0.0.0", 4),
        ("255.255.255.255", 32),
    ];

    fn in_block(ip: Ipv4Addr, (net, len): (&str, u8)) -> bool {
        let net: Ipv4Addr = net.parse().unwrap();
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(net) & mask
    }

    fn blocked(ip: Ipv4Addr) -> bool {
        BLOCKED_V4.iter().any(|b| in_block(ip, *b))
    }

    /// Any address of one of the blocked ranges.
    fn blocked_v4() -> impl Strategy<Value = Ipv4Addr> {
        (0..BLOCKED_V4.len(), any::<u32>()).prop_map(|(i, n)| {
            let (net, len) = BLOCKED_V4[i];
            let net = u32::from(net.parse::<Ipv4Addr>().unwrap());
            let host_bits = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            Ipv4Addr::from((net & !host_bits) | (n & host_bits))
        })
    }

    struct Answers(HashMap<&'static str, Vec<IpAddr>>);

    impl Resolver for Answers {
        fn resolve(&self, name: &str) -> Resolving {
            let found = self.0.get(name).cloned();
            let name = name.to_string();
            Box::pin(async move {
                found.ok_or(ResolveError {
                    name,
                    reason: "NXDOMAIN".into(),
                })
            })
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        // The resolvers here answer at once, so a single poll with a no-op waker finishes them.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the test resolvers answer at once"),
        }
    }

    const AWS: CallbackPolicy = CallbackPolicy::PUBLIC_ONLY;
    const LOCAL: CallbackPolicy = CallbackPolicy::LOCAL;

    #[test]
    fn every_spelling_of_a_non_public_address_is_refused() {
        for host in [
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0x7f000001",
            "0x7f.1",
            "0177.0.0.1",
            "%31%32%37.0.0.1",
            "127.0.0.1.",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[64:ff9b::7f00:1]",
            "[2002:7f00:1::]",
            "[::1]",
            "[::]",
            "[::127.0.0.1]",
            "0.0.0.0",
            "0",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "[::ffff:169.254.169.254]",
            "[fd00::1]",
            "[fc00::1]",
            "[fe80::1]",
            "[ff02::1]",
            "[2001:db8::1]",
            "[2001::1]",
            "100.64.0.1",
            "192.0.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            let url = format!("https://{host}/hook");
            assert!(
                matches!(AWS.parse(&url), Err(CallbackError::NotPublic(_))),
                "{url}: {:?}",
                AWS.parse(&url)
            );
        }
    }

    #[test]
    fn localhost_names_are_refused_in_any_case_and_with_a_trailing_dot() {
        for host in ["localhost", "LOCALHOST.", "foo.localhost", "a.b.LocalHost."] {
            for policy in [AWS, LOCAL] {
                assert_eq!(
                    policy.parse(&format!("https://{host}/hook")),
                    Err(CallbackError::LocalName),
                    "{host}"
                );
            }
        }
    }

    #[test]
    fn only_https_is_accepted_without_userinfo() {
        assert!(AWS.parse("https://93.184.215.14/hook").is_ok());
        assert!(AWS
            .parse("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook")
            .is_ok());
        assert!(AWS.parse("https://agents.example.com:8443/hooks/niaga").is_ok());
        assert_eq!(AWS.parse("http://agents.example.com/hook"), Err(CallbackError::Scheme));
        assert_eq!(AWS.parse("ftp://agents.example.com/hook"), Err(CallbackError::Scheme));
        assert_eq!(AWS.parse("file:///etc/passwd"), Err(CallbackError::Scheme));
        assert_eq!(AWS.parse("gopher://93.184.215.14/"), Err(CallbackError::Scheme));
        assert_eq!(
            AWS.parse("https://user:pw@agents.example.com/hook"),
            Err(CallbackError::Userinfo)
        );
        assert_eq!(
            AWS.parse("https://u@agents.example.com/hook"),
            Err(CallbackError::Userinfo)
        );
        assert_eq!(AWS.parse("not a url"), Err(CallbackError::NotAUrl));
        assert_eq!(
            AWS.parse(&format!("https://a.example/{}", "x".repeat(MAX_URL_LEN))),
            Err(CallbackError::TooLong)
        );
    }

    #[test]
    fn the_local_override_adds_loopback_and_nothing_else() {
        assert_eq!(
            LOCAL
                .parse("http://127.0.0.1:8080/hook")
                .map(|u| u.as_str().to_string()),
            Ok("http://127.0.0.1:8080/hook".to_string())
        );
        assert!(LOCAL.parse("http://[::1]:8080/hook").is_ok());
        assert!(LOCAL.parse("https://127.1/hook").is_ok());
        assert!(AWS.parse("http://127.0.0.1:8080/hook").is_err());
        assert!(AWS.parse("https://127.0.0.1:8080/hook").is_err());
        for host in [
            "10.0.0.1",
            "169.254.169.254",
            "192.168.1.1",
            "[fd00::1]",
            "[fe80::1]",
            "0.0.0.0",
        ] {
            assert!(LOCAL.parse(&format!("http://{host}/hook")).is_err(), "{host}");
            assert!(LOCAL.parse(&format!("https://{host}/hook")).is_err(), "{host}");
        }
        assert_eq!(
            LOCAL.parse("http://agents.example.com/hook"),
            Err(CallbackError::Scheme),
            "plain http only to a loopback address"
        );
    }

    #[test]
    fn the_override_holds_only_in_the_local_environment() {
        assert_eq!(CallbackPolicy::for_environment("local", true), (LOCAL, false));
        assert_eq!(CallbackPolicy::for_environment("local", false), (AWS, false));
        assert_eq!(CallbackPolicy::for_environment("prod", true), (AWS, true));
        assert_eq!(CallbackPolicy::for_environment("staging", true), (AWS, true));
    }

    #[test]
    fn a_name_is_refused_when_any_of_its_addresses_is_not_public() {
        let r = Answers(HashMap::from([
            ("public.example", vec!["93.184.215.14".parse().unwrap()]),
            (
                "mixed.example",
                vec!["93.184.215.14".parse().unwrap(), "10.1.2.3".parse().unwrap()],
            ),
            ("metadata.example", vec!["169.254.169.254".parse().unwrap()]),
            ("mapped.example", vec!["::ffff:127.0.0.1".parse().unwrap()]),
            ("empty.example", vec![]),
        ]));
        assert!(block_on(AWS.vet("https://public.example/hook", &r)).is_ok());
        assert_eq!(
            block_on(AWS.vet("https://mixed.example/hook", &r)),
            Err(CallbackError::ResolvesNotPublic("10.1.2.3".parse().unwrap()))
        );
        assert!(matches!(
            block_on(AWS.vet("https://metadata.example/hook", &r)),
            Err(CallbackError::ResolvesNotPublic(_))
        ));
        assert!(matches!(
            block_on(AWS.vet("https://mapped.example/hook", &r)),
            Err(CallbackError::ResolvesNotPublic(_))
        ));
        assert_eq!(
            block_on(AWS.vet("https://empty.example/hook", &r)),
            Err(CallbackError::DoesNotResolve)
        );
        assert_eq!(
            block_on(AWS.vet("https://nowhere.example/hook", &r)),
            Err(CallbackError::DoesNotResolve)
        );
        assert_eq!(
            block_on(AWS.vet("https://public.example/hook", &NoResolver)),
            Err(CallbackError::DoesNotResolve)
        );
        let t = block_on(AWS.target("https://public.example:8443/hook", &r)).unwrap();
        assert_eq!(t.name.as_deref(), Some("public.example"));
        assert_eq!(t.addrs, vec!["93.184.215.14:8443".parse::<SocketAddr>().unwrap()]);
    }

    proptest! {
        #[test]
        fn every_blocked_ipv4_address_is_refused_in_each_of_its_spellings(ip in blocked_v4()) {
            let mapped = ip.to_ipv6_mapped();
            let [a, b, c, d] = ip.octets();
            prop_assert!(!is_public(IpAddr::V4(ip)));
            prop_assert!(!is_public(IpAddr::V6(mapped)));
            for policy in [AWS, LOCAL] {
                let refused = |url: String| -> Result<(), TestCaseError> {
                    let r = policy.parse(&url);
                    let loopback_allowed = policy == LOCAL && ip.is_loopback();
                    prop_assert!(r.is_err() || loopback_allowed, "{} -> {:?}", url, r);
                    Ok(())
                };
                refused(format!("https://{ip}/hook"))?;
                refused(format!("https://[{mapped}]/hook"))?;
                refused(format!("https://[::ffff:{ip}]/hook"))?;
                refused(format!("https://[64:ff9b::{ip}]/hook"))?;
                refused(format!("https://{}/hook", u32::from(ip)))?;
                refused(format!("https://0x{:x}/hook", u32::from(ip)))?;
                refused(format!("https://0{a:o}.0{b:o}.0{c:o}.0{d:o}/hook"))?;
                refused(format!("https://{a}.{}/hook", (u32::from(b) << 16) | (u32::from(c) << 8) | u32::from(d)))?;
            }
        }

        #[test]
        fn an_ipv4_address_is_public_exactly_when_it_is_in_no_blocked_range(n in any::<u32>()) {
            let ip = Ipv4Addr::from(n);
            prop_assert_eq!(is_public(IpAddr::V4(ip)), !blocked(ip), "{}", ip);
            prop_assert_eq!(is_public(IpAddr::V6(ip.to_ipv6_mapped())), !blocked(ip), "{}", ip);
        }

        #[test]
        fn ipv6_outside_global_unicast_is_never_public(segs in any::<[u16; 8]>()) {
            let ip = Ipv6Addr::from(segs);
            if embedded_ipv4(ip).is_none() && (segs[0] & 0xe000) != 0x2000 {
                prop_assert!(!is_public(IpAddr::V6(ip)), "{}", ip);
            }
            if (segs[0] & 0xfe00) == 0xfc00 || (segs[0] & 0xffc0) == 0xfe80 || (segs[0] & 0xff00) == 0xff00 {
                prop_assert!(!is_public(IpAddr::V6(ip)), "{}", ip);
            }
        }
    }
}
