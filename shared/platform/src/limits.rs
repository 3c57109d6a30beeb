//! Rate limits per route class, shared by every instance (`niaga_aws::ratelimit`, counted in DynamoDB), with
//! budgets from `system_config` (`ratelimit.*`, requests per minute) read through the shared settings cache, so a
//! changed budget applies everywhere within seconds.
//!
//! | class | key | when the counters cannot be reached |
//! |---|---|---|
//! | login attempts per account | `login:account:<login>` | let through (people must be able to log in) |
//! | login attempts per source | `login:source:<ip>` | let through |
//! | the AI-agent role's own budget | `agent:<sub>` | refuse with 503: agents wait, humans do not |
//! | public reads per source | `read:source:<ip>` | let through (the edge limit still stands) |
//!
//! Over a budget the answer is 429 with `Retry-After` and `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset`.

use crate::settings::SettingsCache;
use lambda_glue::problem::Problem;
use niaga_aws::ratelimit::{Limit, RateLimiter};
use std::sync::Arc;
use std::time::Duration;

/// What is being limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    LoginAccount(String),
    LoginSource(String),
    Agent(String),
    PublicRead(String),
}

impl Class {
    fn key(&self) -> String {
        match self {
            Class::LoginAccount(a) => format!("login:account:{a}"),
            Class::LoginSource(ip) => format!("login:source:{ip}"),
            Class::Agent(sub) => format!("agent:{sub}"),
            Class::PublicRead(ip) => format!("read:source:{ip}"),
        }
    }

    fn budget_key(&self) -> &'static str {
        match self {
            Class::LoginAccount(_) => "ratelimit.login_per_account_per_minute",
            Class::LoginSource(_) => "ratelimit.login_per_source_per_minute",
            Class::Agent(_) => "ratelimit.ai_agent_per_minute",
            Class::PublicRead(_) => "ratelimit.public_reads_per_source_per_minute",
        }
    }

    /// Agents fail closed; everyone else fails open.
    fn fails_closed(&self) -> bool {
        matches!(self, Class::Agent(_))
    }
}

/// The limiter with its budgets.
#[derive(Debug)]
pub struct RateLimits {
    limiter: RateLimiter,
    settings: Arc<SettingsCache>,
}

impl RateLimits {
    /// Counting in the environment's `rate-limits` table, with budgets through the shared settings cache.
    pub fn new(sdk: &aws_config::SdkConfig, environment: &str, settings: Arc<SettingsCache>) -> Self {
        RateLimits {
            limiter: RateLimiter::new(sdk, niaga_aws::table_physical_name(environment, "rate-limits")),
            settings,
        }
    }

    async fn budget(&self, class: &Class) -> Option<u32> {
        match self.settings.ints("ratelimit.").await {
            Ok(b) => b.get(class.budget_key()).and_then(|n| u32::try_from(*n).ok()),
            Err(e) => {
                niaga_aws::fail_open("rate-limit budgets unreadable", &format!("{e:#}"));
                None
            }
        }
    }

    /// Counts one request of `class`; `Err` is the problem to answer with (429, or 503 for an agent whose budget
    /// cannot be checked).
    pub async fn check(&self, class: Class) -> Result<(), Problem> {
        let Some(max) = self.budget(&class).await else {
            return if class.fails_closed() {
                Err(Problem::unavailable(
                    5,
                    anyhow::anyhow!("no budget for {}", class.budget_key()),
                ))
            } else {
                Ok(())
            };
        };
        let limit = Limit {
            max,
            window: Duration::from_secs(60),
        };
        match self
            .limiter
            .check(&class.key(), limit, chrono::Utc::now().timestamp_millis())
            .await
        {
            Ok(d) if d.allowed => Ok(()),
            Ok(d) => {
                let mut p = Problem::client(
                    429,
                    "rate-limited",
                    "Too many requests",
                    format!("over the budget of {max} requests per minute; retry after the Retry-After seconds"),
                );
                for (name, value) in d.headers() {
                    match http::HeaderName::from_bytes(name.as_bytes()) {
                        Ok(h) => p = p.header(h, value),
                        Err(_) => continue,
                    }
                }
                Err(p)
            }
            Err(e) if class.fails_closed() => Err(Problem::unavailable(5, e)),
            Err(e) => {
                niaga_aws::fail_open(
                    &format!(
                        "rate limits unreachable for {}; letting the request through",
                        class.budget_key()
                    ),
                    &e,
                );
                Ok(())
            }
        }
    }
}

/// The caller's address: the viewer's, as CloudFront forwarded it on a request that carried the origin header
/// ([`crate::origin`]), else the address API Gateway saw (behind CloudFront, the edge's).
pub fn source_ip(req: &lambda_http::Request) -> String {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    if let Some(crate::origin::ViewerAddress(ip)) = req.extensions().get::<crate::origin::ViewerAddress>() {
        return ip.to_string();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone().unwrap_or_else(|| "unknown".into()),
        _ => "unknown".into(),
    }
}
