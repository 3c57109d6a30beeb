//! The adapters behind `agents`' callback ports: DNS through the operating system's resolver, webhooks over
//! HTTPS with reqwest, and the callback policy read from the environment.
//!
//! The sender connects only to the addresses the policy checked: the URL's name is pinned to them for the request
//! and every other name fails to resolve, redirects are not followed, and no proxy is used (a proxy would make
//! the connection on its own terms).

use agents::callback::{CallbackPolicy, ResolveError, Resolver, Resolving};
use agents::webhook::{Sending, WebhookRequest, WebhookSender};
use lambda_glue::env::{ConfigError, Env, FromEnv};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The variable that turns the local loopback override on.
pub const ALLOW_LOOPBACK_VAR: &str = "NIAGA_WEBHOOK_ALLOW_LOOPBACK_HTTP";

/// The callback policy as a function's configuration: `NIAGA_WEBHOOK_ALLOW_LOOPBACK_HTTP=1` allows loopback
/// callbacks, but only when `NIAGA_ENV` is `local` (the local stack sets both). Anywhere else the flag is ignored,
/// with a warning at cold start.
#[derive(Debug, Clone, Copy)]
pub struct CallbackConfig(pub CallbackPolicy);

impl FromEnv for CallbackConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let environment = env.optional("NIAGA_ENV").unwrap_or_else(|| "local".into());
        let flag = match env.optional(ALLOW_LOOPBACK_VAR).as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: ALLOW_LOOPBACK_VAR.into(),
                    problem: format!("must be 1 or 0, got `{other}`"),
                })
            }
        };
        let (policy, ignored) = CallbackPolicy::for_environment(&environment, flag);
        if ignored {
            tracing::warn!(
                environment,
                variable = ALLOW_LOOPBACK_VAR,
                "loopback callbacks are allowed only in the local environment; the flag is ignored"
            );
        }
        Ok(CallbackConfig(policy))
    }
}

/// Resolves names with the operating system's resolver (`getaddrinfo`): every A and AAAA record.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> Resolving {
        let name = name.to_string();
        Box::pin(async move {
            let lookup = tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((name.as_str(), 0)));
            let found: Result<Vec<IpAddr>, String> = match lookup.await {
                Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".into()),
            };
            match found {
                Ok(mut ips) if !ips.is_empty() => {
                    ips.dedup();
                    Ok(ips)
                }
                Ok(_) => Err(ResolveError {
                    name,
                    reason: "no addresses".into(),
                }),
                Err(reason) => Err(ResolveError { name, reason }),
            }
        })
    }
}

/// Resolves nothing: the sender's HTTP client must never look a name up on its own.
struct NoLookups;

impl reqwest::dns::Resolve for NoLookups {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move { Err(format!("{name} was not checked by the callback policy").into()) })
    }
}

/// Sends webhooks with reqwest: 5 s per request, no redirects, no proxy, only to the checked addresses.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    timeout: Duration,
}

impl Default for HttpWebhookSender {
    fn default() -> Self {
        HttpWebhookSender {
            timeout: Duration::from_secs(5),
        }
    }
}

impl HttpWebhookSender {
    fn client(&self, request: &WebhookRequest) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(NoLookups));
        if let Some(name) = &request.target.name {
            builder = builder.resolve_to_addrs(name, &request.target.addrs);
        }
        builder.build()
    }
}

impl WebhookSender for HttpWebhookSender {
    fn post(&self, request: WebhookRequest) -> Sending {
        // A client per webhook: its name pinning holds for this request's checked addresses only.
        let client = self.client(&request);
        Box::pin(async move {
            let client = client.map_err(|e| format!("HTTP client: {e}"))?;
            let mut r = client.post(&request.target.url);
            for (name, value) in &request.headers {
                r = r.header(*name, value);
            }
            let answer = r.body(request.body).send().await.map_err(|e| {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                chain
            })?;
            Ok(answer.status().as_u16())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_override_is_off_in_prod_even_when_its_flag_is_set() {
        let policy =
            |pairs: &[(&str, &str)]| CallbackConfig::from_env(&Env::from_pairs(pairs.iter().copied())).map(|c| c.0);
        assert_eq!(
            policy(&[("NIAGA_ENV", "prod"), (ALLOW_LOOPBACK_VAR, "1")]),
            Ok(CallbackPolicy::PUBLIC_ONLY)
        );
        assert!(policy(&[("NIAGA_ENV", "prod"), (ALLOW_LOOPBACK_VAR, "1")])
            .unwrap()
            .parse("http://127.0.0.1:8080/hook")
            .is_err());
        assert_eq!(
            policy(&[("NIAGA_ENV", "local"), (ALLOW_LOOPBACK_VAR, "1")]),
            Ok(CallbackPolicy::LOCAL)
        );
        assert_eq!(policy(&[("NIAGA_ENV", "local")]), Ok(CallbackPolicy::PUBLIC_ONLY));
        assert_eq!(
            policy(&[("NIAGA_ENV", "local"), (ALLOW_LOOPBACK_VAR, "yes")])
                .unwrap_err()
                .variable,
            ALLOW_LOOPBACK_VAR
        );
    }
}
