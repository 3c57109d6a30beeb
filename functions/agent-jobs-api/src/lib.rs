//! `agent-jobs-api`: bulk jobs for AI agents (seed 003).
//!
//! - `POST /agent-jobs` (role `ai_agent` or `admin`, requires `Idempotency-Key`) validates a job (a callback URL
//!   must be https on a public host: its name is resolved through the [`Resolver`] port and every address checked
//!   by [`CallbackPolicy`]), stores it with
//!   its `agent_job.requested` outbox event in one transaction, and answers 202 with the job and, when a callback
//!   URL was given, the job's webhook signing secret (shown on creation only).
//! - `GET /agent-jobs/{id}` shows status and progress; `GET /agent-jobs/{id}/items` pages through the outputs.
//!   Only the requester and admins see a job; anyone else gets a 404.
//!
//! Agent tokens spend the `ai_agent` role's own rate budget on every call, so agents cannot starve people.
//! The handler decodes requests and maps results to HTTP; it holds no SQL and must not depend on the AWS SDK.

use agents::callback::NoResolver;
use agents::{CallbackUrl, JobKind, JobParams, Resolver};
use identity::{Actor, Assignments, Role};
use kernel::{Cursor, Sku};
use lambda_http::{Body, Request};
use platform::auth::Authenticator;
use platform::http::{json_body, private_json, query_pairs, segments, HttpHandler, RequestCtx};
use platform::Problem;
use serde_json::{Map, Value};
use store::agent_jobs::{Created, JobRecord, NewJob, PgAgentJobs};

pub use agents::CallbackPolicy;

/// Limits read from `system_config` (`agents.*`).
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_items: usize,
    chunk_size: u32,
}

/// The agent jobs handler.
#[derive(Debug)]
pub struct AgentJobsApi<A> {
    jobs: PgAgentJobs,
    settings: std::sync::Arc<platform::settings::SettingsCache>,
    auth: Authenticator<A>,
    callbacks: CallbackPolicy,
    resolver: std::sync::Arc<dyn Resolver>,
    relay: Option<platform::outbox::Relay>,
}

impl<A: Assignments + 'static> AgentJobsApi<A> {
    pub fn new(
        jobs: PgAgentJobs,
        settings: std::sync::Arc<platform::settings::SettingsCache>,
        auth: Authenticator<A>,
        callbacks: CallbackPolicy,
    ) -> Self {
        AgentJobsApi {
            jobs,
            settings,
            auth,
            callbacks,
            resolver: std::sync::Arc::new(NoResolver),
            relay: None,
        }
    }

    /// Resolves callback hosts; without one, every callback URL that names a host (rather than an address) is
    /// refused.
    pub fn with_resolver(mut self, resolver: std::sync::Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Publishes each job's outbox event right after the commit that wrote it.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn limits(&self) -> Result<Limits, Problem> {
        let c = self
            .settings
            .ints("agents.")
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        let get = |k: &str, d: i64| c.get(k).copied().unwrap_or(d);
        Ok(Limits {
            max_items: usize::try_from(get("agents.max_items_per_job", 1000))
                .unwrap_or(1000)
                .max(1),
            chunk_size: u32::try_from(get("agents.chunk_size", 50)).unwrap_or(50).max(1),
        })
    }

    async fn create(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self
            .auth
            .actor_in(
                req,
                &[Role::AiAgent, Role::Admin],
                "only AI agents and admins may submit agent jobs",
            )
            .await?;
        let key = platform::http::idempotency_key(req)?;
        let body = json_body(req)?;
        let limits = self.limits().await?;
        let request = parse_job(&body, limits.max_items, &self.callbacks)?;
        if let Some(url) = &request.callback_url {
            // A name must resolve, and to public addresses only; the worker checks again when it sends.
            self.callbacks
                .addresses(url, self.resolver.as_ref())
                .await
                .map_err(|why| Problem::invalid_body("callback_url", why.to_string()))?;
        }
        let known = self
            .jobs
            .known_skus(&request.skus)
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        if let Some((i, sku)) = request
            .skus
            .iter()
            .enumerate()
            .find(|(_, s)| !known.contains(s.as_str()))
        {
            return Err(Problem::client(
                422,
                "unknown-sku",
                "Unknown SKU",
                format!("{sku} is not an active product"),
            )
            .field(&format!("skus[{i}]"), format!("{sku} is not an active product")));
        }
        let secret = request.callback_url.as_ref().map(|_| new_secret());
        let created = self
            .jobs
            .create(&NewJob {
                id: uuid::Uuid::new_v4(),
                params: request.params,
                skus: &request.skus,
                chunk_size: limits.chunk_size,
                requested_by: &actor.subject,
                requested_role: actor.role.as_str(),
                key: &key,
                fingerprint: &kernel::fingerprint(&body),
                callback_url: request.callback_url.as_ref().map(CallbackUrl::as_str),
                callback_secret: secret.as_deref(),
            })
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        match created {
            Created::New(job) => {
                if let Some(r) = &self.relay {
                    r.after_commit(&job.id.to_string()).await;
                }
                Ok(accepted(&job, false))
            }
            Created::Replayed(job) => Ok(accepted(&job, true)),
            Created::KeyReused => Err(Problem::key_reused()),
        }
    }

    async fn visible_job(&self, actor: &Actor, id: &str) -> Result<JobRecord, Problem> {
        let id =
            uuid::Uuid::parse_str(id).map_err(|_| Problem::invalid_parameter("id", "must be a job id (a UUID)"))?;
        let job = self.jobs.get(id).await.map_err(|e| Problem::unavailable(1, e))?;
        match job {
            Some(j) if actor.role == Role::Admin || j.requested_by == actor.subject => Ok(j),
            _ => Err(Problem::not_found("no such agent job")),
        }
    }

    async fn get(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let job = self.visible_job(&actor, id).await?;
        Ok(private_json(200, &job.summary()))
    }

    async fn items(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        let actor = self.auth.actor(req).await?;
        let job = self.visible_job(&actor, id).await?;
        let (mut limit, mut after) = (100u32, None);
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "limit" => {
                    limit =
                        v.parse::<u32>().ok().filter(|n| (1..=500).contains(n)).ok_or_else(|| {
                            Problem::invalid_parameter("limit", "must be a whole number from 1 to 500")
                        })?
                }
                "cursor" => {
                    let bad = || Problem::invalid_parameter("cursor", "is not a cursor this API issued");
                    let c = Cursor::decode(&v).map_err(|_| bad())?;
                    after = Some(c.position().parse::<usize>().map_err(|_| bad())?);
                }
                other => return Err(Problem::invalid_parameter(other, "is not a parameter of this route")),
            }
        }
        let items = self
            .jobs
            .items(job.id, after, limit)
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        let next = (items.len() == limit as usize)
            .then(|| {
                items
                    .last()
                    .map(|i| Cursor::from_position(&i.position.to_string()).encode())
            })
            .flatten();
        let page = JobItemsPage {
            job_id: job.id,
            status: job.status.as_str().to_string(),
            items: items
                .into_iter()
                .map(|i| JobItemView {
                    position: i.position,
                    sku: i.sku,
                    chunk: i.chunk,
                    output: i.output,
                })
                .collect(),
            limit,
            next_cursor: next,
        };
        Ok(private_json(
            200,
            &serde_json::to_value(&page).map_err(Problem::internal)?,
        ))
    }
}

impl<A: Assignments + 'static> HttpHandler for AgentJobsApi<A> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        use http::Method as M;
        match (req.method(), path.as_slice()) {
            (&M::POST, ["agent-jobs"]) => self.create(&req).await,
            (&M::GET, ["agent-jobs", id]) => self.get(&req, id).await,
            (&M::GET, ["agent-jobs", id, "items"]) => self.items(&req, id).await,
            (_, ["agent-jobs"] | ["agent-jobs", _] | ["agent-jobs", _, "items"]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
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

/// `{"type": "generate_product_seo", "skus": [...], "callback_url": "https://..."}`, or for
/// `bulk_price_proposal` also `"tier"` and `"target_margin_bp"`. Errors name the member (`skus[3]`).
pub fn parse_job(body: &Value, max_items: usize, callbacks: &CallbackPolicy) -> Result<JobRequest, Problem> {
    let obj: &Map<String, Value> = body
        .as_object()
        .ok_or_else(|| Problem::invalid_body("body", "must be a JSON object with `type` and `skus`"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Problem::invalid_body("type", "is required: generate_product_seo or bulk_price_proposal"))?;
    let kind = JobKind::parse(kind).map_err(|e| Problem::invalid_body("type", e.to_string()))?;
    let allowed: &[&str] = match kind {
        JobKind::GenerateProductSeo => &["type", "skus", "callback_url"],
        JobKind::BulkPriceProposal => &["type", "skus", "callback_url", "tier", "target_margin_bp"],
    };
    if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Problem::invalid_body(
            unknown,
            format!("is not a member of a {} job", kind.as_str()),
        ));
    }
    let raw = obj
        .get("skus")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::invalid_body("skus", "is required and must be an array of SKUs"))?;
    if raw.is_empty() || raw.len() > max_items {
        return Err(
            Problem::invalid_body("skus", format!("must hold 1 to {max_items} SKUs"))
                .with("max_items_per_job", max_items),
        );
    }
    let mut skus: Vec<Sku> = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let field = format!("skus[{i}]");
        let s = v
            .as_str()
            .ok_or_else(|| Problem::invalid_body(&field, "must be a string"))?;
        let sku = Sku::parse(s).map_err(|e| Problem::invalid_body(&field, e.to_string()))?;
        if skus.contains(&sku) {
            return Err(Problem::invalid_body(&field, format!("{sku} appears twice")));
        }
        skus.push(sku);
    }
    let params = match kind {
        JobKind::GenerateProductSeo => JobParams::GenerateProductSeo,
        JobKind::BulkPriceProposal => {
            let tier = obj
                .get("tier")
                .and_then(Value::as_str)
                .ok_or_else(|| Problem::invalid_body("tier", "is required: bronze, silver, gold or platinum"))?;
            let tier = tier
                .parse()
                .map_err(|e: kernel::TierError| Problem::invalid_body("tier", e.to_string()))?;
            let max = JobParams::MAX_MARGIN_BP;
            let target_margin_bp = obj
                .get("target_margin_bp")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    Problem::invalid_body(
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
                .map_err(|why| Problem::invalid_body("callback_url", why.to_string()))?,
        ),
        Some(_) => return Err(Problem::invalid_body("callback_url", "must be a string")),
    };
    Ok(JobRequest {
        params,
        skus,
        callback_url,
    })
}

/// A fresh webhook signing secret: 244 random bits.
fn new_secret() -> String {
    format!(
        "whsec_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn accepted(job: &JobRecord, replayed: bool) -> http::Response<Body> {
    let mut doc = job.summary_doc();
    if let Some(callback) = &mut doc.callback {
        callback.secret = job.callback_secret.clone();
    }
    let doc = serde_json::to_value(&doc).unwrap_or_default();
    platform::http::created(202, &doc, &format!("/agent-jobs/{}", job.id), replayed)
}

/// One page of a job's outputs, in item order.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct JobItemsPage {
    pub job_id: uuid::Uuid,
    pub status: String,
    pub items: Vec<JobItemView>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One output: SEO text or a price proposal for one SKU.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct JobItemView {
    pub position: usize,
    pub sku: String,
    pub chunk: usize,
    pub output: Value,
}

/// `POST /agent-jobs`'s body ([`parse_job`] reads it and names the bad member).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobRequestBody {
    /// SEO text for each SKU.
    GenerateProductSeo {
        /// Each at most once; at most `agents.max_items_per_job` (system_config).
        #[schemars(length(min = 1))]
        skus: Vec<Sku>,
        /// An https URL on a public host to call, signed, when the job ends. A name must resolve to public
        /// addresses only; loopback, private, link-local and other special-purpose addresses are refused in any
        /// spelling, and redirects are not followed.
        callback_url: Option<String>,
    },
    /// A price proposal per SKU for a tier, at a target margin.
    BulkPriceProposal {
        #[schemars(length(min = 1))]
        skus: Vec<Sku>,
        callback_url: Option<String>,
        tier: kernel::Tier,
        #[schemars(range(max = JobParams::MAX_MARGIN_BP))]
        target_margin_bp: u32,
    },
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    use platform::openapi::Operation;
    let id = serde_json::json!({ "type": "string", "format": "uuid" });
    vec![
        Operation::new(
            "POST",
            "/agent-jobs",
            "submitAgentJob",
            "Submit a bulk job (AI agents and admins)",
        )
        .tag("agent-jobs-api")
        .describe("Queued and worked in checkpointed chunks; completion is announced by event and signed webhook.")
        .bearer()
        .idempotency_key()
        .json_body::<JobRequestBody>()
        .answers::<store::agent_jobs::JobSummary>(202, "The job, queued.")
        .with_header("Location", "The job's URL.")
        .link("GetJob", "getAgentJob", "id", "$response.body#/id")
        .link("ListItems", "listAgentJobItems", "id", "$response.body#/id"),
        Operation::new(
            "GET",
            "/agent-jobs/{id}",
            "getAgentJob",
            "Read a job's status and progress",
        )
        .tag("agent-jobs-api")
        .bearer()
        .param_with("path", "id", true, "The job's id.", id.clone())
        .answers::<store::agent_jobs::JobSummary>(200, "The job."),
        Operation::new(
            "GET",
            "/agent-jobs/{id}/items",
            "listAgentJobItems",
            "Page through a job's outputs",
        )
        .tag("agent-jobs-api")
        .bearer()
        .param_with("path", "id", true, "The job's id.", id)
        .paged(100, 500)
        .answers::<JobItemsPage>(200, "A page of outputs."),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOCAL: CallbackPolicy = CallbackPolicy::LOCAL;
    const AWS: CallbackPolicy = CallbackPolicy::PUBLIC_ONLY;

    fn field(p: Problem) -> String {
        let r = p.into_response("r");
        let Body::Text(t) = r.body() else {
            panic!("problem bodies are text")
        };
        let v: Value = serde_json::from_str(t).unwrap();
        v["errors"][0]["field"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn a_price_proposal_job_parses_with_its_tier_and_margin() {
        let body = json!({"type": "bulk_price_proposal", "skus": ["SHM-00001", "SHM-00002"], "tier": "gold", "target_margin_bp": 2500});
        let j = parse_job(&body, 10, &AWS).unwrap();
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
            assert_eq!(field(parse_job(&body, 10, &LOCAL).unwrap_err()), expected, "{body}");
        }
        let too_many: Vec<String> = (1..=11).map(|i| format!("SHM-{i:05}")).collect();
        assert_eq!(
            field(parse_job(&json!({"type": "generate_product_seo", "skus": too_many}), 10, &LOCAL).unwrap_err()),
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
