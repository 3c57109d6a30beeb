//! A job request as submitted: `{"type": "generate_product_seo", "skus": [...], "callback_url": "https://..."}`,
//! or for `bulk_price_proposal` also `"tier"` and `"target_margin_bp"`. Parsing checks every member and names the
//! one at fault (`skus[3]`); a callback URL is checked here in form only, its host's addresses by the use case.

use crate::callback::{CallbackPolicy, CallbackUrl};
use crate::job::{JobKind, JobParams};
use kernel::Sku;
use serde_json::{Map, Value};

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

/// A job request, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub params: JobParams,
    pub skus: Vec<Sku>,
    /// Checked in form and, when it is an address, in address; a name is checked by resolving it.
    pub callback_url: Option<CallbackUrl>,
}

impl JobRequest {
    /// Parses a request body holding at most `max_items` SKUs, each at most once.
    pub fn parse(body: &Value, max_items: usize, callbacks: &CallbackPolicy) -> Result<JobRequest, InvalidJob> {
        let obj: &Map<String, Value> = body
            .as_object()
            .ok_or_else(|| InvalidJob::member("body", "must be a JSON object with `type` and `skus`"))?;
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| InvalidJob::member("type", "is required: generate_product_seo or bulk_price_proposal"))?;
        let kind = JobKind::parse(kind).map_err(|e| InvalidJob::member("type", e.to_string()))?;
        let allowed: &[&str] = match kind {
            JobKind::GenerateProductSeo => &["type", "skus", "callback_url"],
            JobKind::BulkPriceProposal => &["type", "skus", "callback_url", "tier", "target_margin_bp"],
        };
        if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(InvalidJob::member(
                unknown,
                format!("is not a member of a {} job", kind.as_str()),
            ));
        }
        let raw = obj
            .get("skus")
            .and_then(Value::as_array)
            .ok_or_else(|| InvalidJob::member("skus", "is required and must be an array of SKUs"))?;
        if raw.is_empty() || raw.len() > max_items {
            return Err(InvalidJob::ItemCount { max_items });
        }
        let mut skus: Vec<Sku> = Vec::with_capacity(raw.len());
        for (i, v) in raw.iter().enumerate() {
            let field = format!("skus[{i}]");
            let s = v
                .as_str()
                .ok_or_else(|| InvalidJob::member(&field, "must be a string"))?;
            let sku = Sku::parse(s).map_err(|e| InvalidJob::member(&field, e.to_string()))?;
            if skus.contains(&sku) {
                return Err(InvalidJob::member(&field, format!("{sku} appears twice")));
            }
            skus.push(sku);
        }
        let params = match kind {
            JobKind::GenerateProductSeo => JobParams::GenerateProductSeo,
            JobKind::BulkPriceProposal => {
                let tier = obj
                    .get("tier")
                    .and_then(Value::as_str)
                    .ok_or_else(|| InvalidJob::member("tier", "is required: bronze, silver, gold or platinum"))?;
                let tier = tier
                    .parse()
                    .map_err(|e: kernel::TierError| InvalidJob::member("tier", e.to_string()))?;
                let max = JobParams::MAX_MARGIN_BP;
                let target_margin_bp = obj
                    .get("target_margin_bp")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n <= max)
                    .ok_or_else(|| {
                        InvalidJob::member(
                            "target_margin_bp",
                            format!("is required: whole basis points from 0 to {max}"),
                        )
                    })?;
                JobParams::BulkPriceProposal { tier, target_margin_bp }
            }
        };
        let callback_url = match obj.get("callback_url") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                callbacks
                    .parse(s)
                    .map_err(|why| InvalidJob::member("callback_url", why.to_string()))?,
            ),
            Some(_) => return Err(InvalidJob::member("callback_url", "must be a string")),
        };
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

    #[test]
    fn a_price_proposal_job_parses_with_its_tier_and_margin() {
        let body = json!({"type": "bulk_price_proposal", "skus": ["SHM-00001", "SHM-00002"], "tier": "gold", "target_margin_bp": 2500});
        let j = JobRequest::parse(&body, 10, &AWS).unwrap();
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
        ];
        for (body, expected) in cases {
            assert_eq!(
                JobRequest::parse(&body, 10, &LOCAL).unwrap_err().field(),
                expected,
                "{body}"
            );
        }
        let too_many: Vec<String> = (1..=11).map(|i| format!("SHM-{i:05}")).collect();
        assert_eq!(
            JobRequest::parse(&json!({"type": "generate_product_seo", "skus": too_many}), 10, &LOCAL)
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
