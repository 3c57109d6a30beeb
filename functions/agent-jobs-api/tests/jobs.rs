//! `agent-jobs-api` over real Postgres, driven through the Lambda entry point with the sample events in
//! `events/agent-jobs-api/`. Callback hosts are resolved by an injected resolver, and no test runs the worker, so
//! nothing here connects anywhere.

use agent_jobs_api::{AgentJobsApi, CallbackPolicy};
use agents::callback::{ResolveError, Resolver, Resolving};
use identity::Role;
use lambda_glue::http::{dispatch, Runtime};
use platform::auth::Authenticator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;
use store::agent_jobs::PgAgentJobs;
use store::identity::PgIdentity;
use testkit::{fresh_db, Template, TestDb};

struct Harness {
    rt: Runtime,
    api: AgentJobsApi<PgAgentJobs, std::sync::Arc<platform::settings::SettingsCache>, PgIdentity>,
    db: TestDb,
}

/// DNS as the tests want it: a fixed table; any other name does not resolve.
struct Names(HashMap<&'static str, Vec<IpAddr>>);

impl Resolver for Names {
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

fn names() -> Names {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    Names(HashMap::from([
        ("agents.example.com", vec![ip("93.184.215.14")]),
        (
            "hooks.agent.example",
            vec![ip("93.184.215.14"), ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c")],
        ),
        ("internal.agent.example", vec![ip("93.184.215.14"), ip("10.0.0.1")]),
        ("metadata.agent.example", vec![ip("169.254.169.254")]),
    ]))
}

async fn harness() -> Harness {
    harness_with(CallbackPolicy::PUBLIC_ONLY).await
}

async fn harness_with(callbacks: CallbackPolicy) -> Harness {
    let db = fresh_db(Template::Seeded).await;
    let pool = db.db();
    Harness {
        rt: platform::hooks::runtime("agent-jobs-api", None, Some(pool.clone()), Duration::from_secs(5)),
        api: AgentJobsApi::new(
            PgAgentJobs::new(pool.clone()),
            // These tests change settings behind the cache's back: no local snapshot, no shared table.
            std::sync::Arc::new(
                platform::settings::SettingsCache::with_table(pool.clone(), None).with_local_ttl(Duration::ZERO),
            ),
            Authenticator::new(testkit::auth::jwt(), PgIdentity::new(pool)),
            callbacks,
        )
        .with_resolver(std::sync::Arc::new(names())),
        db,
    }
}

impl Harness {
    async fn call(&self, mut ev: Value, token: &str) -> (u16, Value, Value) {
        ev["headers"]["authorization"] = format!("Bearer {token}").into();
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = format!("req-{}", uuid::Uuid::new_v4().simple());
        let r = dispatch(&self.rt, &self.api, ev, ctx).await;
        let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        (r["statusCode"].as_u64().unwrap() as u16, body, r["headers"].clone())
    }

    async fn count(&self, sql: &str) -> i64 {
        self.db.client().await.query_one(sql, &[]).await.unwrap().get(0)
    }
}

fn agent() -> String {
    testkit::auth::token("ai_agent:seo-bot", Role::AiAgent, None)
}

/// The sample SEO job with `callback_url` and its own idempotency key.
fn submit_calling(callback: &str) -> Value {
    let mut ev = testkit::event("agent-jobs-api/submit-seo-job.json");
    ev["headers"]["idempotency-key"] = uuid::Uuid::new_v4().to_string().into();
    ev["body"] = json!({"type": "generate_product_seo", "skus": ["SHM-00001"], "callback_url": callback})
        .to_string()
        .into();
    ev
}

fn get_job(id: &str) -> Value {
    let mut ev = testkit::event("agent-jobs-api/get-job.json");
    ev["rawPath"] = format!("/agent-jobs/{id}").into();
    ev["requestContext"]["http"]["path"] = ev["rawPath"].clone();
    ev["pathParameters"]["id"] = id.into();
    ev
}

#[tokio::test]
async fn an_agent_submits_a_job_and_a_retry_with_the_same_key_finds_the_same_job() {
    let h = harness().await;
    let (status, job, headers) = h
        .call(testkit::event("agent-jobs-api/submit-seo-job.json"), &agent())
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/agent-jobs/{id}"));
    assert_eq!(job["status"], "queued");
    assert_eq!(job["progress"]["total_items"], 3);
    let secret = job["callback"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 60);
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'agent_job.requested' AND published_at IS NULL")
            .await,
        1,
        "the job and its queue event are written together"
    );

    let (status, again, headers) = h
        .call(testkit::event("agent-jobs-api/submit-seo-job.json"), &agent())
        .await;
    assert_eq!((status, again["id"].as_str()), (202, Some(id.as_str())));
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(h.count("SELECT count(*) FROM agent_jobs").await, 1);

    let mut changed = testkit::event("agent-jobs-api/submit-seo-job.json");
    changed["body"] = json!({"type": "generate_product_seo", "skus": ["SHM-00001"]})
        .to_string()
        .into();
    let (status, problem, _) = h.call(changed, &agent()).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );

    let (status, shown, _) = h.call(get_job(&id), &agent()).await;
    assert_eq!(status, 200);
    assert_eq!(shown["id"], id.as_str());
    assert!(
        shown["callback"].get("secret").is_none(),
        "the secret is shown on creation only"
    );
    assert_eq!(shown["callback"]["status"], "pending");
}

#[tokio::test]
async fn only_agents_and_admins_submit_and_only_the_requester_or_an_admin_reads() {
    let h = harness().await;
    let partner = testkit::auth::partner_token(&h.db.client().await, "P-00001").await.1;
    let (status, _, _) = h
        .call(testkit::event("agent-jobs-api/submit-price-proposal.json"), &partner)
        .await;
    assert_eq!(status, 403);

    let (status, job, _) = h
        .call(testkit::event("agent-jobs-api/submit-price-proposal.json"), &agent())
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["params"]["tier"], "gold");
    assert!(job.get("callback").is_none());
    let id = job["id"].as_str().unwrap();

    let other = testkit::auth::token("ai_agent:other-bot", Role::AiAgent, None);
    assert_eq!(
        h.call(get_job(id), &other).await.0,
        404,
        "another agent's job is not found"
    );
    let admin = testkit::auth::token("admin:ops", Role::Admin, None);
    assert_eq!(h.call(get_job(id), &admin).await.0, 200);
    let mut items = testkit::event("agent-jobs-api/list-job-items.json");
    items["rawPath"] = format!("/agent-jobs/{id}/items").into();
    let (status, page, _) = h.call(items, &agent()).await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{page}"
    );
}

#[tokio::test]
async fn bad_submissions_are_problems_that_name_the_field_and_store_nothing() {
    let h = harness().await;
    let (status, p, _) = h
        .call(testkit::event("agent-jobs-api/submit-malformed-body.json"), &agent())
        .await;
    assert_eq!(status, 400, "{p}");
    let mut unknown = testkit::event("agent-jobs-api/submit-seo-job.json");
    unknown["body"] = json!({"type": "generate_product_seo", "skus": ["SHM-00001", "ZZZ-99999"]})
        .to_string()
        .into();
    let (status, p, _) = h.call(unknown, &agent()).await;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (422, Some("skus[1]")),
        "{p}"
    );
    let mut local_hook = testkit::event("agent-jobs-api/submit-seo-job.json");
    local_hook["body"] = json!({"type": "generate_product_seo", "skus": ["SHM-00001"], "callback_url": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"}).to_string().into();
    let (status, p, _) = h.call(local_hook, &agent()).await;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (400, Some("callback_url")),
        "{p}"
    );
    h.db.client()
        .await
        .execute(
            "UPDATE system_config SET value = '2' WHERE key = 'agents.max_items_per_job'",
            &[],
        )
        .await
        .unwrap();
    let (status, p, _) = h
        .call(testkit::event("agent-jobs-api/submit-seo-job.json"), &agent())
        .await;
    assert_eq!((status, p["max_items_per_job"].as_i64()), (400, Some(2)), "{p}");
    let mut no_key = testkit::event("agent-jobs-api/submit-seo-job.json");
    no_key["headers"].as_object_mut().unwrap().remove("idempotency-key");
    assert_eq!(h.call(no_key, &agent()).await.0, 400);
    assert_eq!(h.count("SELECT count(*) FROM agent_jobs").await, 0);
    assert_eq!(h.count("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn a_callback_on_a_non_public_address_is_refused_in_every_spelling() {
    let h = harness().await;
    let hosts = [
        "127.1",
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "0.0.0.0",
        "foo.localhost",
        "LOCALHOST.",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "[fd00::1]",
        "[fe80::1]",
        "100.64.0.1",
        // Names whose addresses are not all public, and a name that does not resolve.
        "internal.agent.example",
        "metadata.agent.example",
        "nowhere.agent.example",
    ];
    for host in hosts {
        let callback = format!("https://{host}/hook");
        let (status, p, headers) = h.call(submit_calling(&callback), &agent()).await;
        assert_eq!(
            (status, p["errors"][0]["field"].as_str()),
            (400, Some("callback_url")),
            "{callback}: {p}"
        );
        assert_eq!(headers["content-type"], "application/problem+json", "{callback}");
    }
    for userinfo in [
        "https://user:pw@hooks.agent.example/hook",
        "https://93.184.215.14@127.0.0.1/hook",
    ] {
        let (status, p, _) = h.call(submit_calling(userinfo), &agent()).await;
        assert_eq!(
            (status, p["errors"][0]["field"].as_str()),
            (400, Some("callback_url")),
            "{userinfo}"
        );
    }
    assert_eq!(
        h.count("SELECT count(*) FROM agent_jobs").await,
        0,
        "nothing refused is stored"
    );

    // A public address, and a name whose every address is public, are accepted.
    for callback in ["https://93.184.215.14/hook", "https://hooks.agent.example/niaga"] {
        let (status, job, _) = h.call(submit_calling(callback), &agent()).await;
        assert_eq!(status, 202, "{callback}: {job}");
        assert_eq!(job["callback"]["url"], callback);
    }
    assert_eq!(h.count("SELECT count(*) FROM agent_jobs").await, 2);
}

#[tokio::test]
async fn the_local_override_accepts_loopback_callbacks_and_still_refuses_private_ones() {
    let h = harness_with(CallbackPolicy::LOCAL).await;
    let (status, job, _) = h.call(submit_calling("http://127.0.0.1:9001/hook"), &agent()).await;
    assert_eq!(status, 202, "{job}");
    for callback in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://192.168.1.1/hook",
        "http://[fe80::1]/hook",
        "http://internal.agent.example/hook",
        "http://hooks.agent.example/hook",
    ] {
        let (status, p, _) = h.call(submit_calling(callback), &agent()).await;
        assert_eq!(
            (status, p["errors"][0]["field"].as_str()),
            (400, Some("callback_url")),
            "{callback}: {p}"
        );
    }
}
