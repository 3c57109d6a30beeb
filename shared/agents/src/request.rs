//! A job request: [`JobRequestBody`], `POST /agent-jobs`'s body as submitted (`{"type": "generate_product_seo",
//! "skus": [...], "callback_url": "https://..."}`, or for `bulk_price_proposal` also `"tier"` and
//! `"target_margin_bp"`), which the API documents from this type and [`JobRequestBody::from_json`] reads, naming
//! the member at fault (`skus[3]`); then [`JobRequest::check`] checks it against the job limits and the callback
//! policy. A callback URL is checked here in form only, its host's addresses by the use case.

use crate::callback::{CallbackPolicy, CallbackUrl};
use crate::job::{JobKind, JobParams};
use kernel::{Sku, Tier};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;

/// Why a job request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidJob {
    /// A member breaks a rule; `reason` completes "`<field>` …".
    #[error("`{field}` {reason}")]
    Member { field: String, reason: String },
    /// `skus` is empty or holds more than `max_items`.
    #[error("`skus` must hold 1 to {max_items} SKUs")]
    ItemCount { max_items: usize },
}

impl InvalidJob {
    fn member(field: &str, reason: impl Into<String>) -> Self {
        InvalidJob::Member {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// The member at fault (`skus[3]`).
    pub fn field(&self) -> &str {
        match self {
            InvalidJob::Member { field, .. } => field,
            InvalidJob::ItemCount { .. } => "skus",
        }
    }

    /// What is wrong with it, completing "`<field>` …".
    pub fn reason(&self) -> String {
        match self {
            InvalidJob::Member { reason, .. } => reason.clone(),
            InvalidJob::ItemCount { max_items } => format!("must hold 1 to {max_items} SKUs"),
        }
    }
}

/// `POST /agent-jobs`'s body: `type` says what the job does and which other members it takes. A refusal names the
/// member at fault (`skus[3]`).
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobRequestBody {
    /// SEO text for each SKU.
    GenerateProductSeo(SeoJobBody),
    /// A price proposal per SKU for a tier, at a target margin.
    BulkPriceProposal(PriceJobBody),
}

/// A `generate_product_seo` job's members besides `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeoJobBody {
    /// Each at most once; at most `agents.max_items_per_job` (system_config).
    #[schemars(length(min = 1))]
    pub skus: Vec<Sku>,
    /// An https URL on a public host to call, signed, when the job ends. A name must resolve to public
    /// addresses only; loopback, private, link-local and other special-purpose addresses are refused in any
    /// spelling, and redirects are not followed.
    pub callback_url: Option<String>,
}

/// A `bulk_price_proposal` job's members besides `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceJobBody {
    /// Each at most once; at most `agents.max_items_per_job` (system_config).
    #[schemars(length(min = 1))]
    pub skus: Vec<Sku>,
    /// An https URL on a public host to call, signed, when the job ends. A name must resolve to public
    /// addresses only; loopback, private, link-local and other special-purpose addresses are refused in any
    /// spelling, and redirects are not followed.
    pub callback_url: Option<String>,
    /// The price list the proposals are for.
    pub tier: Tier,
    /// The margin over cost price to aim for, in basis points (2500 = 25%).
    #[schemars(range(max = JobParams::MAX_MARGIN_BP))]
    pub target_margin_bp: u32,
}

impl JobRequestBody {
    /// Reads a request body: `type` first, which says what the other members are, then those, each refusal
    /// naming the member.
    pub fn from_json(body: &Value) -> Result<JobRequestBody, InvalidJob> {
        let Value::Object(members) = body else {
            return Err(InvalidJob::member(
                "body",
                "must be a JSON object with `type` and `skus`",
            ));
        };
        let mut rest = members.clone();
        let kind = match rest.remove("type") {
            Some(Value::String(kind)) => {
                JobKind::parse(&kind).map_err(|e| InvalidJob::member("type", e.to_string()))?
            }
            Some(_) => {
                return Err(InvalidJob::member(
                    "type",
                    "must be generate_product_seo or bulk_price_proposal",
                ))
            }
            None => {
                return Err(InvalidJob::member(
                    "type",
                    "is required: generate_product_seo or bulk_price_proposal",
                ))
            }
        };
        let rest = Value::Object(rest);
        Ok(match kind {
            JobKind::GenerateProductSeo => JobRequestBody::GenerateProductSeo(read(&rest)?),
            JobKind::BulkPriceProposal => JobRequestBody::BulkPriceProposal(read(&rest)?),
        })
    }
}

/// Reads the members of an object as `T`, naming the member at fault by its path (`skus[3]`).
fn read<T: DeserializeOwned>(members: &Value) -> Result<T, InvalidJob> {
    serde_path_to_error::deserialize(members).map_err(|e| {
        let reason = e.inner().to_string();
        // serde reports a missing member at the object that lacks it: the member is named in the message.
        match reason.strip_prefix("missing field `").and_then(|r| r.split_once('`')) {
            Some((missing, _)) => InvalidJob::member(missing, "is required"),
            None => InvalidJob::member(&e.path().to_string(), reason),
        }
    })
}

/// A job request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub params: JobParams,
    pub skus: Vec<Sku>,
    /// Checked in form and, when it is an address, in address; a name is checked by resolving it.
    pub callback_url: Option<CallbackUrl>,
}

impl JobRequest {
    /// Checks a request body: 1 to `max_items` SKUs, each at most once, a target margin of at most
    /// [`JobParams::MAX_MARGIN_BP`], and a callback URL of a form `callbacks` allows.
    pub fn check(body: JobRequestBody, max_items: usize, callbacks: &CallbackPolicy) -> Result<JobRequest, InvalidJob> {
        let (params, skus, callback_url) = match body {
            JobRequestBody::GenerateProductSeo(SeoJobBody { skus, callback_url }) => {
                (JobParams::GenerateProductSeo, skus, callback_url)
            }
            JobRequestBody::BulkPriceProposal(PriceJobBody {
                skus,
                callback_url,
                tier,
                target_margin_bp,
            }) => {
                let max = JobParams::MAX_MARGIN_BP;
                if target_margin_bp > max {
                    return Err(InvalidJob::member(
                        "target_margin_bp",
                        format!("must be whole basis points from 0 to {max}"),
                    ));
                }
                (
                    JobParams::BulkPriceProposal { tier, target_margin_bp },
                    skus,
                    callback_url,
                )
            }
        };
        if skus.is_empty() || skus.len() > max_items {
            return Err(InvalidJob::ItemCount { max_items });
        }
        let mut seen = HashSet::with_capacity(skus.len());
        if let Some((i, sku)) = skus.iter().enumerate().find(|(_, sku)| !seen.insert(*sku)) {
            return Err(InvalidJob::member(
                &format!("skus[{i}]"),
                format!("{sku} appears twice"),
            ));
        }
        let callback_url = callback_url
            .map(|url| callbacks.parse(&url))
            .transpose()
            .map_err(|why| InvalidJob::member("callback_url", why.to_string()))?;
        Ok(JobRequest {
            params,
            skus,
            callback_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOCAL: CallbackPolicy = CallbackPolicy::LOCAL;
    const AWS: CallbackPolicy = CallbackPolicy::PUBLIC_ONLY;

    fn parse(body: &Value, max_items: usize, callbacks: &CallbackPolicy) -> Result<JobRequest, InvalidJob> {
        JobRequest::check(JobRequestBody::from_json(body)?, max_items, callbacks)
    }

    #[test]
    fn a_price_proposal_job_parses_with_its_tier_and_margin() {
        let body = json!({"type": "bulk_price_proposal", "skus": ["SHM-00001", "SHM-00002"], "tier": "gold", "target_margin_bp": 2500});
        let j = parse(&body, 10, &AWS).unwrap();
        assert_eq!(
            j.params,
            JobParams::BulkPriceProposal {
                tier: kernel::Tier::Gold,
                target_margin_bp: 2500
            }
        );
        assert_eq!(j.skus.len(), 2);
    }

    #[test]
    fn bad_jobs_name_the_member_at_fault() {
        let cases = [
            (json!({"type": "mine_bitcoin", "skus": ["SHM-00001"]}), "type"),
            (json!({"type": "generate_product_seo"}), "skus"),
            (json!({"type": "generate_product_seo", "skus": []}), "skus"),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001", "bad sku"]}),
                "skus[1]",
            ),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001", "SHM-00001"]}),
                "skus[1]",
            ),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001"], "tier": "gold"}),
                "tier",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "tier": "gold", "target_margin_bp": -5}),
                "target_margin_bp",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "tier": "tin", "target_margin_bp": 5}),
                "tier",
            ),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001"], "callback_url": "ftp://x"}),
                "callback_url",
            ),
            (json!(["generate_product_seo", ["SHM-00001"]]), "body"),
            (json!({"skus": ["SHM-00001"]}), "type"),
            (
                json!({"type": {"generate_product_seo": null}, "skus": ["SHM-00001"]}),
                "type",
            ),
            (
                json!({"type": "generate_product_seo", "skus": {"sku": "SHM-00001"}}),
                "skus",
            ),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001", 7]}),
                "skus[1]",
            ),
            (
                json!({"type": "generate_product_seo", "skus": ["SHM-00001"], "callback_url": 7}),
                "callback_url",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "target_margin_bp": 5}),
                "tier",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "tier": "gold"}),
                "target_margin_bp",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "tier": "gold", "target_margin_bp": 50_001}),
                "target_margin_bp",
            ),
            (
                json!({"type": "bulk_price_proposal", "skus": ["SHM-00001"], "tier": "gold", "target_margin_bp": 5, "sql": "--"}),
                "sql",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(&body, 10, &LOCAL).unwrap_err().field(), expected, "{body}");
        }
        let too_many: Vec<String> = (1..=11).map(|i| format!("SHM-{i:05}")).collect();
        assert_eq!(
            parse(&json!({"type": "generate_product_seo", "skus": too_many}), 10, &LOCAL)
                .unwrap_err()
                .field(),
            "skus"
        );
    }

    #[test]
    fn callbacks_must_be_https_except_to_loopback_locally() {
        assert!(AWS.parse("https://agent.example.com/hooks/niaga").is_ok());
        assert!(AWS.parse("http://agent.example.com/hooks").is_err());
        assert!(AWS.parse("http://127.0.0.1:8080/hook").is_err());
        assert!(
            AWS.parse("https://127.0.0.1/hook").is_err(),
            "no calls into the function's own host"
        );
        assert!(LOCAL.parse("http://127.0.0.1:8080/hook").is_ok());
        assert!(LOCAL.parse("not a url").is_err());
    }
}
