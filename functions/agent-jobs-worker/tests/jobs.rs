//! `agent-jobs-worker` against real PostgreSQL, EventBridge and SQS on moto, and a webhook receiver on 127.0.0.1:
//! a job killed mid-way resumes from its checkpoint and finishes with every product processed exactly once, and
//! completion is announced once on the bus and once by signed webhook, to checked addresses only.
//!
//! No test here connects beyond this machine: callbacks are loopback receivers, and a callback named by a host is
//! resolved by an injected resolver and sent through a recording sender that never connects.

use agent_jobs_worker::{AgentJobsWorker, Webhooks, COMPLETED, EVENT_SOURCE};
use agents::callback::{CallbackPolicy, ResolveError, Resolver, Resolving, Target};
use agents::webhook::{Sending, WebhookRequest, WebhookSender};
use agents::{
    AgentJobStore, Created, JobParams, MarginAdvisor, NewJob, ProductFacts, ProviderError, SeoText, SeoWriter,
    TemplateSeoWriter,
};
use kernel::{IdempotencyKey, Sku, Tier};
use lambda_glue::sqs::{Message, MessageError, MessageHandler};
use niaga_aws::events::EventBus;
use platform::callbacks::HttpWebhookSender;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::agent_jobs::PgAgentJobs;
use store::outbox::PgOutbox;
use testkit::{fresh_db, Template};

/// Counts calls per SKU; after `hang_after` calls in all, never answers (the process "dies" there).
#[derive(Clone, Default)]
struct CountingWriter {
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
    hang_after: Option<u32>,
}

impl CountingWriter {
    fn total(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }
}

impl SeoWriter for CountingWriter {
    async fn write(&self, p: &ProductFacts) -> Result<SeoText, ProviderError> {
        let n = {
            let mut c = self.calls.lock().unwrap();
            *c.entry(p.sku.to_string()).or_default() += 1;
            c.values().sum::<u32>()
        };
        if self.hang_after.is_some_and(|h| n > h) {
            std::future::pending::<()>().await;
        }
        TemplateSeoWriter.write(p).await
    }
}

/// A received webhook: its `Niaga-Signature` header and raw body.
type Hook = (String, Vec<u8>);

/// A webhook receiver that keeps what it got.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Hook>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let got = self.got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let got = got.clone();
                async move {
                    let sig = headers
                        .get("niaga-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    got.lock().unwrap().push((sig, body.to_vec()));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

/// Answers names from a table the test changes, as DNS might change between submission and sending.
#[derive(Clone, Default)]
struct Names(Arc<Mutex<BTreeMap<String, Vec<IpAddr>>>>);

impl Names {
    fn set(&self, name: &str, addrs: &[&str]) {
        let addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
        self.0.lock().unwrap().insert(name.to_string(), addrs);
    }
}

impl Resolver for Names {
    fn resolve(&self, name: &str) -> Resolving {
        let found = self.0.lock().unwrap().get(name).cloned();
        let name = name.to_string();
        Box::pin(async move {
            found.ok_or(ResolveError {
                name,
                reason: "NXDOMAIN".into(),
            })
        })
    }
}

/// A sender that records what it was asked to send and where, connects nowhere, and answers 200.
#[derive(Clone, Default)]
struct RecordingSender {
    sent: Arc<Mutex<Vec<WebhookRequest>>>,
}

impl WebhookSender for RecordingSender {
    fn post(&self, request: WebhookRequest) -> Sending {
        self.sent.lock().unwrap().push(request);
        Box::pin(async { Ok(200) })
    }
}

/// A receiver that answers every POST with a redirect to `location`, counting the requests it got.
async fn redirecting_receiver(location: String) -> (String, Arc<Mutex<u32>>) {
    let hits = Arc::new(Mutex::new(0u32));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            let location = location.clone();
            async move {
                *counter.lock().unwrap() += 1;
                (axum::http::StatusCode::FOUND, [("location", location)], "moved")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

/// A bus on moto with a rule that copies agent job events to a fresh queue.
struct Bus {
    env: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Bus {
    async fn create() -> Bus {
        let sdk = testkit::aws_config().await;
        let env = testkit::unique_env();
        let bus = niaga_aws::events::bus_physical_name(&env);
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        events.create_event_bus().name(&bus).send().await.unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{bus}-completed"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        events
            .put_rule()
            .name("agent-jobs-completed")
            .event_bus_name(&bus)
            .event_pattern(serde_json::json!({ "source": [EVENT_SOURCE], "detail-type": [COMPLETED] }).to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("agent-jobs-completed")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Bus { env, sqs, queue_url }
    }

    /// Every event the rule delivered so far.
    async fn delivered(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let r = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

struct Setup {
    db: testkit::TestDb,
    jobs: PgAgentJobs,
    bus: Bus,
    receiver: Receiver,
    callback: String,
    names: Names,
}

async fn setup() -> Setup {
    let db = fresh_db(Template::Seeded).await;
    let receiver = Receiver::default();
    let callback = receiver.start().await;
    Setup {
        jobs: PgAgentJobs::new(db.db()),
        db,
        bus: Bus::create().await,
        receiver,
        callback,
        names: Names::default(),
    }
}

impl Setup {
    /// Stores a job over the first `n` seeded products and returns its id and the SQS message the relay sends.
    async fn job(&self, params: JobParams, n: usize, chunk: u32, key: &str) -> (uuid::Uuid, Message) {
        self.job_calling(params, n, chunk, key, &self.callback).await
    }

    /// Stores a job like [`Setup::job`] whose webhook goes to `callback`.
    async fn job_calling(
        &self,
        params: JobParams,
        n: usize,
        chunk: u32,
        key: &str,
        callback: &str,
    ) -> (uuid::Uuid, Message) {
        let client = self.db.client().await;
        let rows = client
            .query("SELECT sku FROM products ORDER BY sku LIMIT $1", &[&(n as i64)])
            .await
            .unwrap();
        let skus: Vec<Sku> = rows.iter().map(|r| Sku::parse(r.get(0)).unwrap()).collect();
        let created = self
            .jobs
            .create(&NewJob {
                id: uuid::Uuid::new_v4(),
                params,
                skus: &skus,
                chunk_size: chunk,
                requested_by: "ai_agent:seo-bot",
                requested_role: "ai_agent",
                key: &IdempotencyKey::parse(key).unwrap(),
                fingerprint: key,
                callback_url: Some(callback),
                callback_secret: Some("whsec_test"),
            })
            .await
            .unwrap();
        let Created::New(job) = created else {
            panic!("a new job")
        };
        let body = Mutex::new(None);
        PgOutbox::new(self.db.db())
            .relay(Some(&job.id.to_string()), 10, |e| {
                *body.lock().unwrap() = Some(platform::outbox::message_body(&e));
                async { Ok(()) }
            })
            .await
            .unwrap();
        let message = Message {
            message_id: format!("m-{}", job.id),
            body: body.into_inner().unwrap().expect("the job's outbox event"),
            receive_count: 1,
            group: None,
            event_id: None,
            queue_arn: String::new(),
            receipt_handle: String::new(),
        };
        (job.id, message)
    }

    /// A worker under the local override (its receivers are on 127.0.0.1) with the real HTTP sender.
    async fn worker<W: SeoWriter>(&self, seo: W) -> AgentJobsWorker<PgAgentJobs, W, MarginAdvisor, EventBus> {
        let webhooks = Webhooks::new(
            CallbackPolicy::LOCAL,
            Arc::new(self.names.clone()),
            Arc::new(HttpWebhookSender::default()),
        );
        self.worker_with(seo, webhooks).await
    }

    async fn worker_with<W: SeoWriter>(
        &self,
        seo: W,
        webhooks: Webhooks,
    ) -> AgentJobsWorker<PgAgentJobs, W, MarginAdvisor, EventBus> {
        AgentJobsWorker::new(
            PgAgentJobs::new(self.db.db()),
            seo,
            MarginAdvisor,
            EventBus::new(&testkit::aws_config_for("agent-jobs-worker").await, &self.bus.env),
            webhooks,
        )
    }

    async fn count(&self, sql: &str, job: uuid::Uuid) -> i64 {
        self.db.client().await.query_one(sql, &[&job]).await.unwrap().get(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_chunk_resumes_and_processes_every_product_exactly_once() {
    let s = setup().await;
    let (job, message) = s.job(JobParams::GenerateProductSeo, 120, 25, "seo-crash").await;

    // The first worker dies in the middle of the third chunk (after 60 of 120 products).
    let dying = CountingWriter {
        hang_after: Some(60),
        ..Default::default()
    };
    let first = s.worker(dying.clone()).await;
    let killed = tokio::time::timeout(Duration::from_secs(3), first.handle(&message)).await;
    assert!(killed.is_err(), "the first worker never finishes");
    drop(first);
    let checkpoint = s.jobs.get(job).await.unwrap().unwrap();
    assert_eq!(
        checkpoint.done_items, 50,
        "two whole chunks committed, the third not at all"
    );
    assert_eq!(
        s.count("SELECT count(*) FROM agent_job_items WHERE job_id = $1", job)
            .await,
        50
    );
    assert!(
        s.bus.delivered().await.is_empty(),
        "nothing announced before the job is done"
    );

    // SQS delivers the message again; a fresh worker resumes at the checkpoint.
    let resumed = CountingWriter::default();
    s.worker(resumed.clone()).await.handle(&message).await.unwrap();
    let done = s.jobs.get(job).await.unwrap().unwrap();
    assert_eq!((done.done_items, done.status.as_str()), (120, "succeeded"));
    assert_eq!(resumed.total(), 70, "only the unfinished chunks were worked again");
    let first_calls = dying.calls.lock().unwrap().clone();
    for sku in resumed.calls.lock().unwrap().keys() {
        let before = first_calls.get(sku).copied().unwrap_or(0);
        assert!(before <= 1, "{sku} was in a finished chunk and was worked again");
    }
    assert_eq!(
        s.count("SELECT count(*) FROM agent_job_items WHERE job_id = $1", job)
            .await,
        120
    );
    assert_eq!(
        s.count("SELECT count(DISTINCT sku) FROM agent_job_items WHERE job_id = $1", job)
            .await,
        120
    );
    assert_eq!(
        s.count("SELECT count(*) FROM product_seo WHERE job_id = $1", job).await,
        120
    );
    assert_eq!(
        s.count(
            "SELECT count(DISTINCT chunk) FROM agent_job_items WHERE job_id = $1",
            job
        )
        .await,
        5
    );

    // Completion: one event on the bus, one signed webhook; a further redelivery repeats neither.
    s.worker(CountingWriter::default())
        .await
        .handle(&message)
        .await
        .unwrap();
    let events = s.bus.delivered().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], COMPLETED);
    assert_eq!(events[0]["detail"]["id"], job.to_string());
    assert_eq!(events[0]["detail"]["progress"]["done_items"], 120);
    let hooks = s.receiver.got.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let (signature, body) = &hooks[0];
    agents::webhook::verify("whsec_test", signature, body, chrono::Utc::now().timestamp(), 300).unwrap();
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["event"], "agent_job.completed");
    assert_eq!(body["job"]["status"], "succeeded");
    let after = s.jobs.get(job).await.unwrap().unwrap();
    assert_eq!(
        (after.webhook_status.as_deref(), after.webhook_attempts),
        (Some("delivered"), 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_the_same_job_commit_each_chunk_once() {
    let s = setup().await;
    let (job, message) = s.job(JobParams::GenerateProductSeo, 200, 10, "seo-twice").await;
    let (a, b) = (s.worker(TemplateSeoWriter).await, s.worker(TemplateSeoWriter).await);
    let (ra, rb) = tokio::join!(a.handle(&message), b.handle(&message));
    ra.unwrap();
    rb.unwrap();
    assert_eq!(
        s.count("SELECT count(*) FROM agent_job_items WHERE job_id = $1", job)
            .await,
        200
    );
    assert_eq!(
        s.count(
            "SELECT count(DISTINCT position) FROM agent_job_items WHERE job_id = $1",
            job
        )
        .await,
        200
    );
    let done = s.jobs.get(job).await.unwrap().unwrap();
    assert_eq!((done.done_items, done.chunks_done), (200, 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_proposals_are_stored_for_approval_and_never_applied() {
    let s = setup().await;
    let client = s.db.client().await;
    let prices_before: i64 = client
        .query_one("SELECT sum(price)::int8 FROM price_lists", &[])
        .await
        .unwrap()
        .get(0);
    let params = JobParams::BulkPriceProposal {
        tier: Tier::Gold,
        target_margin_bp: 3000,
    };
    let (job, message) = s.job(params, 30, 8, "pricing").await;
    s.worker(TemplateSeoWriter).await.handle(&message).await.unwrap();

    let rows = client
        .query(
            "SELECT p.proposed_price, p.current_price, p.status, pr.cost_price
             FROM price_proposals p JOIN products pr USING (sku) WHERE p.job_id = $1 AND p.tier = 'gold'",
            &[&job],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 30);
    for r in &rows {
        let (proposed, status, cost): (i64, &str, i64) = (r.get(0), r.get(2), r.get(3));
        assert_eq!(status, "pending");
        assert!(
            proposed * 10_000 >= cost * 13_000 && proposed % 100 == 0,
            "{proposed} for cost {cost}"
        );
        assert!(
            r.get::<_, Option<i64>>(1).is_some(),
            "the current gold price is kept beside the proposal"
        );
    }
    let prices_after: i64 = client
        .query_one("SELECT sum(price)::int8 FROM price_lists", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(prices_before, prices_after, "no price changed");
}

#[tokio::test]
async fn a_malformed_message_is_poison_and_an_unknown_job_too() {
    let s = setup().await;
    let worker = s.worker(TemplateSeoWriter).await;
    let batch = testkit::event("agent-jobs-worker/job-requested-with-poison.json");
    for record in lambda_glue::sqs::messages(&batch) {
        // The sample's well-formed message names a job this database does not have.
        assert!(
            matches!(worker.handle(&record).await, Err(MessageError::Poison(_))),
            "{}",
            record.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_to_a_private_address_at_send_time_is_refused_before_any_connection() {
    let s = setup().await;
    let callback = "https://hooks.agent.example/niaga";
    // At submission the name resolved to a public address, and the job was accepted.
    s.names.set("hooks.agent.example", &["93.184.215.14"]);
    CallbackPolicy::PUBLIC_ONLY
        .vet(callback, &s.names)
        .await
        .expect("a public name is accepted at submission");
    let sender = RecordingSender::default();
    let webhooks = Webhooks::new(
        CallbackPolicy::PUBLIC_ONLY,
        Arc::new(s.names.clone()),
        Arc::new(sender.clone()),
    );

    for (i, now) in [["169.254.169.254"], ["10.0.0.7"], ["::ffff:192.168.0.1"]]
        .iter()
        .enumerate()
    {
        // By the time the job is done, the name has been rebound to an internal address.
        s.names.set("hooks.agent.example", now);
        let (job, message) = s
            .job_calling(JobParams::GenerateProductSeo, 3, 10, &format!("rebind-{i}"), callback)
            .await;
        let worker = s.worker_with(TemplateSeoWriter, webhooks.clone()).await;
        worker
            .handle(&message)
            .await
            .expect("a refused webhook is final, not retried");
        assert!(
            sender.sent.lock().unwrap().is_empty(),
            "{now:?}: no connection is attempted"
        );
        let after = s.jobs.get(job).await.unwrap().unwrap();
        assert_eq!(
            (
                after.status.as_str(),
                after.webhook_status.as_deref(),
                after.webhook_attempts
            ),
            ("succeeded", Some("failed"), 1),
            "{now:?}: the delivery fails for good"
        );
        // Run twice, the worker neither sends nor records another attempt.
        worker.handle(&message).await.unwrap();
        assert!(sender.sent.lock().unwrap().is_empty());
        assert_eq!(s.jobs.get(job).await.unwrap().unwrap().webhook_attempts, 1);
    }

    // One address among several is enough to refuse.
    s.names.set("hooks.agent.example", &["93.184.215.14", "172.20.0.1"]);
    let (job, message) = s
        .job_calling(JobParams::GenerateProductSeo, 3, 10, "rebind-mixed", callback)
        .await;
    s.worker_with(TemplateSeoWriter, webhooks.clone())
        .await
        .handle(&message)
        .await
        .unwrap();
    assert!(sender.sent.lock().unwrap().is_empty());
    assert_eq!(
        s.jobs.get(job).await.unwrap().unwrap().webhook_status.as_deref(),
        Some("failed")
    );

    // While the name still resolves to a public address, the webhook goes to exactly that address.
    s.names.set("hooks.agent.example", &["93.184.215.14"]);
    let (job, message) = s
        .job_calling(JobParams::GenerateProductSeo, 3, 10, "still-public", callback)
        .await;
    s.worker_with(TemplateSeoWriter, webhooks)
        .await
        .handle(&message)
        .await
        .unwrap();
    let sent = sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].target,
        Target {
            url: callback.to_string(),
            name: Some("hooks.agent.example".into()),
            addrs: vec!["93.184.215.14:443".parse().unwrap()],
        }
    );
    assert_eq!(
        s.jobs.get(job).await.unwrap().unwrap().webhook_status.as_deref(),
        Some("delivered")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_redirects_is_a_failed_delivery_and_the_redirect_is_never_followed() {
    let s = setup().await;
    // The second listener is the one the redirect points at: it must never hear from the worker.
    let (callback, hits) = redirecting_receiver(s.callback.clone()).await;
    let (job, message) = s
        .job_calling(JobParams::GenerateProductSeo, 3, 10, "redirected", &callback)
        .await;
    let outcome = s.worker(TemplateSeoWriter).await.handle(&message).await;
    assert!(
        matches!(outcome, Err(MessageError::Retry { .. })),
        "a 3xx is a failed attempt: {outcome:?}"
    );
    assert_eq!(*hits.lock().unwrap(), 1, "the callback itself was called once");
    assert!(
        s.receiver.got.lock().unwrap().is_empty(),
        "the redirect's target received nothing"
    );
    let after = s.jobs.get(job).await.unwrap().unwrap();
    assert_eq!((after.webhook_status.as_deref(), after.webhook_attempts), (None, 1));
}

#[tokio::test]
async fn the_http_sender_connects_only_to_the_checked_addresses_and_never_looks_a_name_up() {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let sender = HttpWebhookSender::default();
    let request = |url: String, name: Option<&str>, addrs: Vec<SocketAddr>| WebhookRequest {
        target: Target {
            url,
            name: name.map(str::to_string),
            addrs,
        },
        headers: vec![("content-type", "application/json".into())],
        body: b"{}".to_vec(),
    };
    // A name no DNS server knows reaches the receiver: the sender used the address it was given.
    let pinned = request(
        format!("http://hooks.agent.invalid:{port}/hook"),
        Some("hooks.agent.invalid"),
        vec![format!("127.0.0.1:{port}").parse().unwrap()],
    );
    assert_eq!(sender.post(pinned).await, Ok(200));
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
    // A name it was given no address for is not resolved, though `localhost` would lead to the receiver.
    let unpinned = request(format!("http://localhost:{port}/hook"), None, vec![]);
    let refused = sender.post(unpinned).await.unwrap_err();
    assert!(refused.contains("not checked by the callback policy"), "{refused}");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "nothing arrived");
}
