//! `agent-jobs-api`: bulk jobs for AI agents (seed 003).
//!
//! - `POST /agent-jobs` (role `ai_agent` or `admin`, requires `Idempotency-Key`) submits a job through
//!   [`agents::AgentJobs`] (a callback URL must be https on a public host: its name is resolved through the
//!   [`Resolver`] port and every address checked by [`CallbackPolicy`]), which stores it with its
//!   `agent_job.requested` outbox event in one transaction, and answers 202 with the job and, when a callback URL
//!   was given, the job's webhook signing secret (shown on creation only).
//! - `GET /agent-jobs/{id}` shows status and progress; `GET /agent-jobs/{id}/items` pages through the outputs.
//!   Only the requester and admins see a job; anyone else gets a 404.
//!
//! Agent tokens spend the `ai_agent` role's own rate budget on every call, so agents cannot starve people.
//! The handler decodes requests, calls the use cases and maps results and errors to HTTP. It holds no SQL, and it
//! must not depend on the AWS SDK or on the adapters, which `main` wires in.

use agents::{AgentJobStore, AgentJobs, Created, InvalidJob, JobError, JobRecord, Resolver, SubmitJobError};
use identity::{Actor, Assignments, Role};
use kernel::Cursor;
use lambda_glue::http::{json_body, private_json, query_pairs, segments, HttpHandler, RequestCtx};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use platform::auth::Authenticator;
use serde_json::Value;
use settings::SettingsSource;

pub use agents::CallbackPolicy;

/// The agent jobs handler over the job store `J` and the settings source `S`.
#[derive(Debug)]
pub struct AgentJobsApi<J, S, A> {
    jobs: AgentJobs<J, S>,
    auth: Authenticator<A>,
    relay: Option<platform::outbox::Relay>,
}

impl<J: AgentJobStore, S: SettingsSource + 'static, A: Assignments + 'static> AgentJobsApi<J, S, A> {
    pub fn new(jobs: J, settings: S, auth: Authenticator<A>, callbacks: CallbackPolicy) -> Self {
        AgentJobsApi {
            jobs: AgentJobs::new(jobs, settings, callbacks),
            auth,
            relay: None,
        }
    }

    /// Resolves callback hosts; without one, every callback URL that names a host (rather than an address) is
    /// refused.
    pub fn with_resolver(mut self, resolver: std::sync::Arc<dyn Resolver>) -> Self {
        self.jobs = self.jobs.with_resolver(resolver);
        self
    }

    /// Publishes each job's outbox event right after the commit that wrote it.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
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
        let key = platform::idempotency::idempotency_key(req)?;
        let body = json_body(req)?;
        let created = self.jobs.submit(&actor, &key, &body).await.map_err(submit_problem)?;
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
        self.jobs.job(actor, id).await.map_err(job_problem)
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
        let page = self.jobs.items(&job, after, limit).await.map_err(job_problem)?;
        let page = JobItemsPage {
            job_id: job.id,
            status: job.status.as_str().to_string(),
            items: page
                .items
                .into_iter()
                .map(|i| JobItemView {
                    position: i.position,
                    sku: i.sku,
                    chunk: i.chunk,
                    output: i.output,
                })
                .collect(),
            limit,
            next_cursor: page
                .next
                .map(|position| Cursor::from_position(&position.to_string()).encode()),
        };
        Ok(private_json(
            200,
            &serde_json::to_value(&page).map_err(Problem::internal)?,
        ))
    }
}

impl<J: AgentJobStore, S: SettingsSource + 'static, A: Assignments + 'static> HttpHandler for AgentJobsApi<J, S, A> {
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

fn submit_problem(e: SubmitJobError) -> Problem {
    match e {
        SubmitJobError::Invalid(InvalidJob::ItemCount { max_items }) => {
            Problem::invalid_body("skus", format!("must hold 1 to {max_items} SKUs"))
                .with("max_items_per_job", max_items)
        }
        SubmitJobError::Invalid(invalid) => Problem::invalid_body(invalid.field(), invalid.reason()),
        SubmitJobError::UnknownSku { index, sku } => Problem::client(
            422,
            "unknown-sku",
            "Unknown SKU",
            format!("{sku} is not an active product"),
        )
        .field(&format!("skus[{index}]"), format!("{sku} is not an active product")),
        SubmitJobError::Unavailable(cause) => Problem::unavailable(1, cause),
    }
}

fn job_problem(e: JobError) -> Problem {
    match e {
        JobError::NotFound => Problem::not_found("no such agent job"),
        JobError::Unavailable(cause) => Problem::unavailable(1, cause),
    }
}

fn accepted(job: &JobRecord, replayed: bool) -> http::Response<Body> {
    let mut doc = job.summary_doc();
    if let Some(callback) = &mut doc.callback {
        callback.secret = job.callback_secret.clone();
    }
    let doc = serde_json::to_value(&doc).unwrap_or_default();
    lambda_glue::http::created(202, &doc, &format!("/agent-jobs/{}", job.id), replayed)
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
        .json_body::<agents::JobRequestBody>()
        .answers::<agents::JobSummary>(202, "The job, queued.")
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
        .answers::<agents::JobSummary>(200, "The job."),
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
