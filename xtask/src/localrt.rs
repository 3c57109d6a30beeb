//! The local Lambda service: it owns the function processes and speaks both sides of Lambda's wire protocol.
//!
//! - Toward function processes, the real Lambda **Runtime API** (`/2018-06-01/runtime/...`): each execution
//!   environment (an *instance*: one process) gets its own listener on `127.0.0.1:0`, exactly like each Lambda
//!   sandbox has its own `AWS_LAMBDA_RUNTIME_API`, so unmodified `lambda_runtime` binaries run here.
//! - Toward callers, the **Invoke API** (`POST /2015-03-31/functions/{name}/invocations`, as used by
//!   `cargo lambda invoke` and the AWS SDK) on the bind address, plus in-process [`LocalRuntime::invoke`].
//!
//! Instances start lazily (a cold start), stay warm, and scale out up to [`FunctionSpec::max_instances`]
//! while invocations wait. An invocation that overruns its timeout kills its instance (`Sandbox.Timedout`);
//! a process that dies during init or mid-invocation fails that invocation (`Runtime.ExitError`). All
//! children are killed when the [`LocalRuntime`] is shut down or dropped.
//!
//! The [`Invoker`] trait is what the gateway depends on; [`LocalRuntime`] and [`HttpInvoker`] implement it.

use anyhow::{Context as _, Result};
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

/// The account id every local ARN uses.
pub const ACCOUNT_ID: &str = "000000000000";
/// The region every local ARN uses.
pub const REGION: &str = "us-east-1";
/// Lambda's synchronous request and response payload limit (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// Lambda's limit for the init phase of an on-demand function.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// `arn:aws:lambda:us-east-1:000000000000:function:<name>`.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

// ---------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------

/// One function the runtime can run.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    /// A `lambda_runtime` binary (what would be `bootstrap` in the zip).
    pub binary: PathBuf,
    /// Extra environment; wins over everything the runtime sets.
    pub env: Vec<(String, String)>,
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// Concurrent execution environments; at least 1.
    pub max_instances: usize,
}

impl FunctionSpec {
    /// Lambda's defaults: 128 MB, 3 s, one instance.
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            name: name.into(),
            binary: binary.into(),
            env: Vec::new(),
            memory_mb: 128,
            timeout_s: 3,
            max_instances: 1,
        }
    }

    /// Memory and timeout from the manifest, one instance.
    pub fn from_manifest(function: &crate::manifest::Function, binary: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            memory_mb: function.memory_mb,
            timeout_s: function.timeout_s,
            ..FunctionSpec::new(function.name.clone(), binary)
        }
    }

    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn with_timeout_s(mut self, timeout_s: u32) -> Self {
        self.timeout_s = timeout_s;
        self
    }

    pub fn with_memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    pub fn with_max_instances(mut self, max_instances: usize) -> Self {
        self.max_instances = max_instances;
        self
    }
}

/// Where function output goes and how long init may take.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Append each process's stdout and stderr lines to `<log_dir>/<function>.log` (created if missing).
    pub log_dir: Option<PathBuf>,
    /// Forward each process's output line by line to our stdout as `<function> | <line>`, plus one
    /// `REPORT` line per invocation.
    pub echo: bool,
    /// Start processes with an empty environment (as on Lambda) instead of inheriting ours.
    pub clear_env: bool,
    /// How long a new process may take to ask for its first invocation.
    pub init_timeout: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            log_dir: None,
            echo: true,
            clear_env: false,
            init_timeout: DEFAULT_INIT_TIMEOUT,
        }
    }
}

/// An error the function reported (or the sandbox reported for it): Lambda's `{errorType, errorMessage}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "errorMessage")]
    pub error_message: String,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }

    /// The invocation ran out of time (`Sandbox.Timedout`).
    pub fn is_timeout(&self) -> bool {
        self.error_type == "Sandbox.Timedout"
    }
}

/// The result of one invocation that reached a function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    /// The function's response (non-JSON responses become a JSON string) or its error.
    pub response: Result<Value, FunctionError>,
    /// The first invocation of a new execution environment.
    pub cold_start: bool,
    /// Process spawn to its first `next` request, for cold starts.
    pub init_duration: Option<Duration>,
    /// From hand-out to the function until its response (or error, or timeout).
    pub duration: Duration,
}

impl Invocation {
    pub fn is_error(&self) -> bool {
        self.response.is_err()
    }
}

/// Why an invocation did not reach a function or did not come back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("Function not found: {}", function_arn(.0))]
    FunctionNotFound(String),
    #[error("request payload is {0} bytes; Lambda accepts at most {MAX_PAYLOAD_BYTES}")]
    RequestTooLarge(usize),
    #[error("invalid request payload: {0}")]
    InvalidPayload(String),
    #[error("Lambda service unavailable: {0}")]
    Unavailable(String),
    #[error("calling the Invoke API: {0}")]
    Transport(String),
}

/// Something that invokes functions by name: the local runtime in-process or an Invoke API over HTTP.
pub trait Invoker: Send + Sync {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
        trace_id: Option<String>,
    ) -> BoxFuture<'a, Result<Invocation, InvokeError>>;
}

/// Per-instance timings, kept after an instance dies.
#[derive(Debug, Clone)]
pub struct InstanceStats {
    /// Sequential per function, from 0.
    pub instance: u64,
    /// The process id (for fault tests and "no orphans" checks).
    pub pid: Option<u32>,
    pub spawned_at: SystemTime,
    /// Process spawn to its first `GET .../invocation/next`.
    pub init: Option<Duration>,
    /// Process spawn to its first posted response or error: the cold-start cost a caller sees.
    pub first_response: Option<Duration>,
    pub invocations: u64,
    pub alive: bool,
    /// How the process ended, once it has.
    pub exit: Option<String>,
}

/// Everything [`LocalRuntime::stats`] knows about one function.
#[derive(Debug, Clone)]
pub struct FunctionStats {
    pub function: String,
    pub instances: Vec<InstanceStats>,
}

impl FunctionStats {
    /// Instances ever started, which is the number of cold starts.
    pub fn cold_starts(&self) -> usize {
        self.instances.len()
    }

    pub fn alive(&self) -> usize {
        self.instances.iter().filter(|i| i.alive).count()
    }

    pub fn invocations(&self) -> u64 {
        self.instances.iter().map(|i| i.invocations).sum()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------------------

/// What the runtime-side of an invocation produced, before it is shaped for a caller.
struct Completed {
    request_id: String,
    body: Result<Bytes, FunctionError>,
    cold: bool,
    init_duration: Option<Duration>,
    duration: Duration,
}

impl Completed {
    fn into_invocation(self) -> Invocation {
        let response = self.body.map(|bytes| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        });
        Invocation {
            request_id: self.request_id,
            response,
            cold_start: self.cold,
            init_duration: self.init_duration,
            duration: self.duration,
        }
    }
}

type Reply = oneshot::Sender<Result<Completed, InvokeError>>;

/// An invocation waiting for an instance.
struct Job {
    request_id: String,
    payload: Bytes,
    trace_id: Option<String>,
    reply: Reply,
}

/// An invocation as handed to an instance's `next` endpoint.
struct Handout {
    request_id: String,
    payload: Bytes,
    trace_id: Option<String>,
}

/// An invocation an instance owns.
struct Running {
    request_id: String,
    reply: Reply,
    cold: bool,
    started: Option<Instant>,
    assigned: Instant,
}

enum Control {
    Timeout,
    InitTimeout,
    InitFailed,
    Kill,
    Shutdown,
}

struct Inst {
    spawned: Instant,
    init_duration: Option<Duration>,
    ready: bool,
    dying: bool,
    served: u64,
    busy: Option<Running>,
    init_error: Option<String>,
    jobs: mpsc::UnboundedSender<Handout>,
    control: mpsc::UnboundedSender<Control>,
    done: watch::Receiver<bool>,
    supervisor: Option<AbortHandle>,
    server: AbortHandle,
}

#[derive(Default)]
struct FuncState {
    instances: BTreeMap<u64, Inst>,
    waiting: VecDeque<Job>,
    history: Vec<InstanceStats>,
}

struct Func {
    spec: FunctionSpec,
    arn: String,
    options: Arc<RuntimeOptions>,
    closed: Arc<AtomicBool>,
    log: Option<Arc<tokio::sync::Mutex<tokio::fs::File>>>,
    state: Mutex<FuncState>,
}

struct Shared {
    functions: HashMap<String, Arc<Func>>,
    closed: Arc<AtomicBool>,
}

fn lock(func: &Func) -> MutexGuard<'_, FuncState> {
    // A panic while holding the lock leaves consistent-enough bookkeeping; keep serving.
    func.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn epoch_ms(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Func {
    fn echo(&self, line: &str) {
        if self.options.echo {
            println!("{} | {line}", self.spec.name);
        }
    }

    /// Hands waiting jobs to idle instances, spawning instances while below `max_instances`.
    fn pump(self: &Arc<Self>, st: &mut FuncState) {
        loop {
            let Some(front) = st.waiting.front() else { return };
            if front.reply.is_closed() {
                st.waiting.pop_front();
                continue;
            }
            let idle = st
                .instances
                .iter()
                .find(|(_, i)| i.busy.is_none() && !i.dying)
                .map(|(id, _)| *id);
            let id = match idle {
                Some(id) => id,
                None if st.instances.len() < self.spec.max_instances.max(1) && !self.closed.load(Ordering::SeqCst) => {
                    match self.spawn_instance(st) {
                        Ok(id) => id,
                        Err(e) => {
                            let job = st.waiting.pop_front().expect("front exists");
                            let msg = format!(
                                "RequestId: {} Error: could not start {}: {e:#}",
                                job.request_id,
                                self.spec.binary.display()
                            );
                            self.echo(&msg);
                            let _ = job.reply.send(Ok(Completed {
                                request_id: job.request_id,
                                body: Err(FunctionError::new("Runtime.InvalidEntrypoint", msg)),
                                cold: true,
                                init_duration: None,
                                duration: Duration::ZERO,
                            }));
                            continue;
                        }
                    }
                }
                None => return,
            };
            let job = st.waiting.pop_front().expect("front exists");
            let inst = st.instances.get_mut(&id).expect("instance exists");
            let cold = inst.served == 0;
            inst.served += 1;
            inst.busy = Some(Running {
                request_id: job.request_id.clone(),
                reply: job.reply,
                cold,
                started: None,
                assigned: Instant::now(),
            });
            // If the instance is already gone, its supervisor fails the running invocation.
            let _ = inst.jobs.send(Handout {
                request_id: job.request_id,
                payload: job.payload,
                trace_id: job.trace_id,
            });
        }
    }

    fn spawn_instance(self: &Arc<Self>, st: &mut FuncState) -> Result<u64> {
        let id = st.history.len() as u64;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a Runtime API listener")?;
        std_listener
            .set_nonblocking(true)
            .context("making the Runtime API listener non-blocking")?;
        let listener =
            tokio::net::TcpListener::from_std(std_listener).context("registering the Runtime API listener")?;
        let port = listener.local_addr().context("reading the Runtime API address")?.port();

        let now = chrono::Utc::now();
        let stream = format!("{}/[$LATEST]{}", now.format("%Y/%m/%d"), uuid::Uuid::new_v4().simple());
        let task_root = self.spec.binary.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        let mut cmd = tokio::process::Command::new(&self.spec.binary);
        if self.options.clear_env {
            cmd.env_clear();
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.spec.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.spec.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("LAMBDA_TASK_ROOT", task_root)
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", self.spec.binary.display()))?;
        let mut output = Vec::new();
        if let Some(out) = child.stdout.take() {
            output.push(tokio::spawn(forward_lines(self.clone(), out)));
        }
        if let Some(err) = child.stderr.take() {
            output.push(tokio::spawn(forward_lines(self.clone(), err)));
        }

        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = watch::channel(false);
        let ctx = Arc::new(InstanceCtx {
            func: self.clone(),
            id,
            jobs: tokio::sync::Mutex::new(jobs_rx),
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, runtime_api_router(ctx)).await;
        });
        st.history.push(InstanceStats {
            instance: id,
            pid: child.id(),
            spawned_at: SystemTime::now(),
            init: None,
            first_response: None,
            invocations: 0,
            alive: true,
            exit: None,
        });
        st.instances.insert(
            id,
            Inst {
                spawned: Instant::now(),
                init_duration: None,
                ready: false,
                dying: false,
                served: 0,
                busy: None,
                init_error: None,
                jobs: jobs_tx,
                control: control_tx.clone(),
                done: done_rx,
                supervisor: None,
                server: server.abort_handle(),
            },
        );
        let supervisor = tokio::spawn(supervise(self.clone(), id, child, control_rx, server, output, done_tx));
        if let Some(inst) = st.instances.get_mut(&id) {
            inst.supervisor = Some(supervisor.abort_handle());
        }
        let init_timeout = self.options.init_timeout;
        let func = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(init_timeout).await;
            let st = lock(&func);
            if let Some(inst) = st.instances.get(&id) {
                if !inst.ready {
                    let _ = inst.control.send(Control::InitTimeout);
                }
            }
        });
        Ok(id)
    }

    /// Bookkeeping for a posted response or error; `None` when the request id is not this instance's.
    fn complete(self: &Arc<Self>, id: u64, request_id: &str, body: Result<Bytes, FunctionError>) -> bool {
        let mut st = lock(self);
        let Some(inst) = st.instances.get_mut(&id) else {
            return false;
        };
        if inst.busy.as_ref().map(|r| r.request_id.as_str()) != Some(request_id) {
            return false;
        }
        let running = inst.busy.take().expect("checked above");
        let since_spawn = inst.spawned.elapsed();
        let init_duration = if running.cold { inst.init_duration } else { None };
        let duration = running.started.unwrap_or(running.assigned).elapsed();
        if let Some(stats) = st.history.get_mut(id as usize) {
            stats.invocations += 1;
            stats.first_response.get_or_insert(since_spawn);
        }
        self.report(request_id, duration, init_duration, body.as_ref().err());
        let _ = running.reply.send(Ok(Completed {
            request_id: running.request_id,
            body,
            cold: running.cold,
            init_duration,
            duration,
        }));
        self.pump(&mut st);
        true
    }

    fn report(&self, request_id: &str, duration: Duration, init: Option<Duration>, error: Option<&FunctionError>) {
        if !self.options.echo {
            return;
        }
        let mut line = format!(
            "REPORT RequestId: {request_id} Duration: {:.2} ms Memory Size: {} MB",
            duration.as_secs_f64() * 1000.0,
            self.spec.memory_mb
        );
        if let Some(init) = init {
            line.push_str(&format!(" Init Duration: {:.2} ms", init.as_secs_f64() * 1000.0));
        }
        if let Some(e) = error {
            line.push_str(&format!(" Error: {}", e.error_type));
        }
        self.echo(&line);
    }
}

async fn forward_lines(func: Arc<Func>, stream: impl AsyncRead + Unpin) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        func.echo(line);
        if let Some(log) = &func.log {
            let mut file = log.lock().await;
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            if let Err(e) = async {
                file.write_all(&bytes).await?;
                file.flush().await
            }
            .await
            {
                eprintln!("{} | (log file write failed: {e})", func.spec.name);
            }
        }
    }
}

async fn supervise(
    func: Arc<Func>,
    id: u64,
    mut child: tokio::process::Child,
    mut control: mpsc::UnboundedReceiver<Control>,
    server: JoinHandle<()>,
    output: Vec<JoinHandle<()>>,
    done: watch::Sender<bool>,
) {
    let (cause, status): (Option<Control>, std::io::Result<ExitStatus>) = tokio::select! {
        status = child.wait() => (None, status),
        cause = control.recv() => {
            let _ = child.start_kill();
            (Some(cause.unwrap_or(Control::Shutdown)), child.wait().await)
        }
    };
    server.abort();
    // Let the output readers drain what the process wrote before it died.
    for task in output {
        let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
    }
    let status_text = match &status {
        Ok(s) => s.to_string(),
        Err(e) => format!("unknown status ({e})"),
    };

    let mut st = lock(&func);
    let inst = st.instances.remove(&id);
    let exit = match &cause {
        Some(Control::Timeout) => "killed after the invocation timed out".to_string(),
        Some(Control::InitTimeout) => format!("killed: init took longer than {:?}", func.options.init_timeout),
        Some(Control::InitFailed) => format!("killed after reporting an init error ({status_text})"),
        Some(Control::Kill) => "killed on request (SIGKILL)".to_string(),
        Some(Control::Shutdown) => "stopped: runtime shut down".to_string(),
        None => format!("exited: {status_text}"),
    };
    if let Some(stats) = st.history.get_mut(id as usize) {
        stats.alive = false;
        stats.exit = Some(exit.clone());
    }
    if let Some(inst) = inst {
        if let Some(running) = inst.busy {
            let rid = running.request_id.clone();
            let error = match cause {
                Some(Control::Timeout) => FunctionError::new(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {rid} Error: Task timed out after {}.00 seconds",
                        func.spec.timeout_s
                    ),
                ),
                Some(Control::InitTimeout) => FunctionError::new(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {rid} Error: init phase timed out after {:.2} seconds",
                        func.options.init_timeout.as_secs_f64()
                    ),
                ),
                Some(Control::Shutdown) => {
                    let _ = running
                        .reply
                        .send(Err(InvokeError::Unavailable("the local runtime shut down".into())));
                    finish(&func, &mut st, &done, &exit);
                    return;
                }
                _ => {
                    let mut msg = format!("RequestId: {rid} Error: Runtime exited with error: {status_text}");
                    if let Some(init) = &inst.init_error {
                        msg.push_str(&format!("; init error: {init}"));
                    }
                    FunctionError::new("Runtime.ExitError", msg)
                }
            };
            let duration = running.started.unwrap_or(running.assigned).elapsed();
            let init_duration = if running.cold { inst.init_duration } else { None };
            func.report(&rid, duration, init_duration, Some(&error));
            let _ = running.reply.send(Ok(Completed {
                request_id: rid,
                body: Err(error),
                cold: running.cold,
                init_duration,
                duration,
            }));
        }
    }
    finish(&func, &mut st, &done, &exit);
}

fn finish(func: &Arc<Func>, st: &mut FuncState, done: &watch::Sender<bool>, exit: &str) {
    func.echo(&format!("(instance {exit})"));
    if func.closed.load(Ordering::SeqCst) {
        for job in st.waiting.drain(..) {
            let _ = job
                .reply
                .send(Err(InvokeError::Unavailable("the local runtime shut down".into())));
        }
    } else {
        func.pump(st);
    }
    let _ = done.send(true);
}

// ---------------------------------------------------------------------------------------------------------
// Runtime API (one listener per instance)
// ---------------------------------------------------------------------------------------------------------

struct InstanceCtx {
    func: Arc<Func>,
    id: u64,
    jobs: tokio::sync::Mutex<mpsc::UnboundedReceiver<Handout>>,
}

fn runtime_api_router(ctx: Arc<InstanceCtx>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(rt_next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(rt_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(rt_error))
        .route("/2018-06-01/runtime/init/error", post(rt_init_error))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(ctx)
}

fn rt_json(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn accepted() -> Response {
    rt_json(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn invalid_request_id(id: &str) -> Response {
    rt_json(
        StatusCode::BAD_REQUEST,
        json!({"errorType": "InvalidRequestID", "errorMessage": format!("Invalid request ID: {id}")}),
    )
}

async fn rt_next(State(ctx): State<Arc<InstanceCtx>>) -> Response {
    {
        let mut st = lock(&ctx.func);
        if let Some(inst) = st.instances.get_mut(&ctx.id) {
            if !inst.ready {
                inst.ready = true;
                let init = inst.spawned.elapsed();
                inst.init_duration = Some(init);
                if let Some(stats) = st.history.get_mut(ctx.id as usize) {
                    stats.init = Some(init);
                }
            }
        }
    }
    let handout = {
        let mut jobs = ctx.jobs.lock().await;
        jobs.recv().await
    };
    let Some(h) = handout else {
        return rt_json(
            StatusCode::GONE,
            json!({"errorType": "Gone", "errorMessage": "execution environment stopped"}),
        );
    };
    let timeout = Duration::from_secs(u64::from(ctx.func.spec.timeout_s.max(1)));
    let deadline = epoch_ms(SystemTime::now() + timeout);
    {
        let mut st = lock(&ctx.func);
        if let Some(running) = st.instances.get_mut(&ctx.id).and_then(|i| i.busy.as_mut()) {
            if running.request_id == h.request_id {
                running.started = Some(Instant::now());
            }
        }
    }
    let func = ctx.func.clone();
    let (id, rid) = (ctx.id, h.request_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        let st = lock(&func);
        if let Some(inst) = st.instances.get(&id) {
            if inst.busy.as_ref().is_some_and(|r| r.request_id == rid) {
                let _ = inst.control.send(Control::Timeout);
            }
        }
    });

    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &h.request_id);
    put("lambda-runtime-deadline-ms", &deadline.to_string());
    put("lambda-runtime-invoked-function-arn", &ctx.func.arn);
    if let Some(trace) = &h.trace_id {
        put("lambda-runtime-trace-id", trace);
    }
    put("content-type", "application/json");
    (StatusCode::OK, headers, h.payload).into_response()
}

async fn read_limited(body: Body) -> Result<Bytes, usize> {
    match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES + 1).await {
        Ok(b) if b.len() <= MAX_PAYLOAD_BYTES => Ok(b),
        Ok(b) => Err(b.len()),
        Err(_) => Err(MAX_PAYLOAD_BYTES + 1),
    }
}

async fn rt_response(
    State(ctx): State<Arc<InstanceCtx>>,
    UrlPath(request_id): UrlPath<String>,
    request: Request,
) -> Response {
    let body = match read_limited(request.into_body()).await {
        Ok(bytes) => Ok(bytes),
        Err(size) => Err(FunctionError::new(
            "Function.ResponseSizeTooLarge",
            format!("Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."),
        )),
    };
    let too_large = body.is_err();
    if !ctx.func.complete(ctx.id, &request_id, body) {
        return invalid_request_id(&request_id);
    }
    if too_large {
        return rt_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"errorType": "RequestEntityTooLarge", "errorMessage": "response payload too large"}),
        );
    }
    accepted()
}

/// `{errorType, errorMessage}` from an error body, falling back to the error-type header.
fn parse_error_body(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .unwrap_or("Unhandled")
        .to_string();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => FunctionError {
            error_type: v
                .get("errorType")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(header_type),
            error_message: v
                .get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
        },
        Err(_) => FunctionError {
            error_type: header_type,
            error_message: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

async fn rt_error(
    State(ctx): State<Arc<InstanceCtx>>,
    UrlPath(request_id): UrlPath<String>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let body = read_limited(request.into_body()).await.unwrap_or_default();
    let error = parse_error_body(&headers, &body);
    if !ctx.func.complete(ctx.id, &request_id, Err(error)) {
        return invalid_request_id(&request_id);
    }
    accepted()
}

async fn rt_init_error(State(ctx): State<Arc<InstanceCtx>>, request: Request) -> Response {
    let headers = request.headers().clone();
    let body = read_limited(request.into_body()).await.unwrap_or_default();
    let error = parse_error_body(&headers, &body);
    ctx.func.echo(&format!("init error: {error}"));
    {
        let mut st = lock(&ctx.func);
        if let Some(inst) = st.instances.get_mut(&ctx.id) {
            inst.init_error = Some(serde_json::to_string(&error).unwrap_or_else(|_| error.to_string()));
        }
    }
    // Like Lambda, the environment is reset after an init error: give the process a moment to exit by
    // itself (so its exit status is reported), then kill it.
    let func = ctx.func.clone();
    let id = ctx.id;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(inst) = lock(&func).instances.get(&id) {
            let _ = inst.control.send(Control::InitFailed);
        }
    });
    accepted()
}

// ---------------------------------------------------------------------------------------------------------
// LocalRuntime
// ---------------------------------------------------------------------------------------------------------

/// The running local Lambda service. Dropping it kills every function process.
pub struct LocalRuntime {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Mutex<Option<JoinHandle<()>>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.shared.functions.keys().collect();
        names.sort();
        f.debug_struct("LocalRuntime")
            .field("addr", &self.addr)
            .field("functions", &names)
            .finish()
    }
}

impl LocalRuntime {
    /// Starts the Invoke API on `bind` with default [`RuntimeOptions`] (echo to stdout, no log files).
    pub async fn start(bind: SocketAddr, functions: Vec<FunctionSpec>) -> Result<LocalRuntime> {
        Self::start_with(bind, functions, RuntimeOptions::default()).await
    }

    /// Starts the Invoke API on `bind`. No process starts until its function is first invoked.
    pub async fn start_with(
        bind: SocketAddr,
        functions: Vec<FunctionSpec>,
        options: RuntimeOptions,
    ) -> Result<LocalRuntime> {
        let options = Arc::new(options);
        let closed = Arc::new(AtomicBool::new(false));
        if let Some(dir) = &options.log_dir {
            tokio::fs::create_dir_all(dir)
                .await
                .with_context(|| format!("creating log dir {}", dir.display()))?;
        }
        let mut map = HashMap::new();
        for spec in functions {
            let log = match &options.log_dir {
                Some(dir) => {
                    let path = dir.join(format!("{}.log", spec.name));
                    let file = tokio::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .await
                        .with_context(|| format!("opening {}", path.display()))?;
                    Some(Arc::new(tokio::sync::Mutex::new(file)))
                }
                None => None,
            };
            let name = spec.name.clone();
            let func = Func {
                arn: function_arn(&spec.name),
                spec,
                options: options.clone(),
                closed: closed.clone(),
                log,
                state: Mutex::new(FuncState::default()),
            };
            if map.insert(name.clone(), Arc::new(func)).is_some() {
                anyhow::bail!("function `{name}` is given twice");
            }
        }
        let shared = Arc::new(Shared { functions: map, closed });
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding the Invoke API on {bind}"))?;
        let addr = listener.local_addr().context("reading the Invoke API address")?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let router = invoke_api_router(shared.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                eprintln!("local Lambda Invoke API stopped: {e}");
            }
        });
        Ok(LocalRuntime {
            shared,
            addr,
            server: Mutex::new(Some(server)),
            stop: Mutex::new(Some(stop_tx)),
        })
    }

    /// The Invoke API address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: what `cargo lambda invoke --endpoint-url` or an SDK `endpoint_url` takes.
    pub fn invoke_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Function names, sorted.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self.shared.functions.keys().cloned().collect();
        names.sort();
        names
    }

    /// Invokes `function` synchronously and waits for its result.
    pub async fn invoke(
        &self,
        function: &str,
        payload: Value,
        trace_id: Option<String>,
    ) -> Result<Invocation, InvokeError> {
        let bytes = serde_json::to_vec(&payload).map_err(|e| InvokeError::InvalidPayload(e.to_string()))?;
        invoke_raw(&self.shared, function, Bytes::from(bytes), trace_id)
            .await
            .map(Completed::into_invocation)
    }

    /// Timings of every instance the function has had; `None` for an unknown function.
    pub fn stats(&self, function: &str) -> Option<FunctionStats> {
        let func = self.shared.functions.get(function)?;
        let st = lock(func);
        Some(FunctionStats {
            function: function.to_string(),
            instances: st.history.clone(),
        })
    }

    /// The largest peak resident set (`VmHWM`, kB) among each function's live instances; functions with no live
    /// instance are left out. `VmHWM` is the process's high-water mark, so one read after a load sees its peak.
    pub fn peak_rss_kb(&self) -> std::collections::BTreeMap<String, u64> {
        let mut peaks = std::collections::BTreeMap::new();
        for name in self.functions() {
            let Some(stats) = self.stats(&name) else { continue };
            let peak = stats
                .instances
                .iter()
                .filter(|i| i.alive)
                .filter_map(|i| i.pid)
                .filter_map(vm_hwm_kb)
                .max();
            if let Some(kb) = peak {
                peaks.insert(name, kb);
            }
        }
        peaks
    }

    /// SIGKILLs every instance of `function` and waits until they are gone; an invocation they were running
    /// fails with `Runtime.ExitError`, and the next invocation is a cold start. Returns how many were killed.
    pub async fn kill_instances(&self, function: &str) -> Result<usize, InvokeError> {
        let func = self
            .shared
            .functions
            .get(function)
            .ok_or_else(|| InvokeError::FunctionNotFound(function.into()))?;
        let waits: Vec<watch::Receiver<bool>> = {
            let mut st = lock(func);
            st.instances
                .values_mut()
                .map(|inst| {
                    inst.dying = true;
                    let _ = inst.control.send(Control::Kill);
                    inst.done.clone()
                })
                .collect()
        };
        let count = waits.len();
        for mut done in waits {
            let _ = done.wait_for(|d| *d).await;
        }
        Ok(count)
    }

    /// Stops the Invoke API, kills every process and waits for them; waiting invocations fail.
    pub async fn shutdown(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
        let mut waits = Vec::new();
        for func in self.shared.functions.values() {
            let mut st = lock(func);
            for inst in st.instances.values_mut() {
                inst.dying = true;
                let _ = inst.control.send(Control::Shutdown);
                waits.push(inst.done.clone());
            }
            for job in st.waiting.drain(..) {
                let _ = job
                    .reply
                    .send(Err(InvokeError::Unavailable("the local runtime shut down".into())));
            }
        }
        for mut done in waits {
            let _ = tokio::time::timeout(Duration::from_secs(5), done.wait_for(|d| *d)).await;
        }
        let server = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut server) = server {
            if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            server.abort();
        }
        for func in self.shared.functions.values() {
            let mut st = lock(func);
            for inst in st.instances.values_mut() {
                // Aborting the supervisor drops its `Child`, which `kill_on_drop` SIGKILLs.
                if let Some(sup) = &inst.supervisor {
                    sup.abort();
                }
                inst.server.abort();
                let _ = inst.control.send(Control::Shutdown);
            }
            st.waiting.clear();
        }
    }
}

impl Invoker for LocalRuntime {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
        trace_id: Option<String>,
    ) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(LocalRuntime::invoke(self, function, payload, trace_id))
    }
}

/// Resolves a function name or ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`).
/// A process's peak resident set in kB, from `/proc/<pid>/status`.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn function_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => name_or_arn,
    }
}

async fn invoke_raw(
    shared: &Arc<Shared>,
    function: &str,
    payload: Bytes,
    trace_id: Option<String>,
) -> Result<Completed, InvokeError> {
    let name = function_name(function);
    let func = shared
        .functions
        .get(name)
        .ok_or_else(|| InvokeError::FunctionNotFound(name.to_string()))?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(InvokeError::RequestTooLarge(payload.len()));
    }
    if shared.closed.load(Ordering::SeqCst) {
        return Err(InvokeError::Unavailable("the local runtime shut down".into()));
    }
    let (tx, rx) = oneshot::channel();
    {
        let mut st = lock(func);
        st.waiting.push_back(Job {
            request_id: new_request_id(),
            payload,
            trace_id,
            reply: tx,
        });
        func.pump(&mut st);
    }
    rx.await
        .unwrap_or_else(|_| Err(InvokeError::Unavailable("the invocation was dropped".into())))
}

// ---------------------------------------------------------------------------------------------------------
// Invoke API
// ---------------------------------------------------------------------------------------------------------

fn invoke_api_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(api_invoke))
        .fallback(|| async {
            api_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "this local Lambda serves only Invoke",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(shared)
}

fn api_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = rt_json(status, json!({"Type": "User", "message": message}));
    if let Ok(v) = HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn api_invoke(State(shared): State<Arc<Shared>>, UrlPath(name): UrlPath<String>, request: Request) -> Response {
    let function = function_name(&name).to_string();
    if !shared.functions.contains_key(&function) {
        return api_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &InvokeError::FunctionNotFound(function).to_string(),
        );
    }
    let headers = request.headers().clone();
    let payload = match read_limited(request.into_body()).await {
        Ok(b) => b,
        Err(size) => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &format!("Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation (got at least {size})"),
            )
        }
    };
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        );
    }
    let trace_id = header_str(&headers, "x-amzn-trace-id").map(str::to_string);
    match header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "Event" => {
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = invoke_raw(&shared, &function, payload, trace_id).await {
                    eprintln!("async invoke of {function} failed: {e}");
                }
            });
            let mut response = StatusCode::ACCEPTED.into_response();
            if let Ok(v) = HeaderValue::from_str(&new_request_id()) {
                response.headers_mut().insert("x-amzn-requestid", v);
            }
            response
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        "RequestResponse" => match invoke_raw(&shared, &function, payload, trace_id).await {
            Ok(done) => invoke_response(done),
            Err(InvokeError::FunctionNotFound(f)) => api_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &InvokeError::FunctionNotFound(f).to_string(),
            ),
            Err(e @ InvokeError::RequestTooLarge(_)) => api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &e.to_string(),
            ),
            Err(e) => api_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceException", &e.to_string()),
        },
        other => api_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("unknown X-Amz-Invocation-Type `{other}`"),
        ),
    }
}

fn invoke_response(done: Completed) -> Response {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("content-type", "application/json".into());
    put("x-amz-executed-version", "$LATEST".into());
    put("x-amzn-requestid", done.request_id.clone());
    put("x-niaga-cold-start", done.cold.to_string());
    put(
        "x-niaga-duration-ms",
        format!("{:.3}", done.duration.as_secs_f64() * 1000.0),
    );
    if let Some(init) = done.init_duration {
        put(
            "x-niaga-init-duration-ms",
            format!("{:.3}", init.as_secs_f64() * 1000.0),
        );
    }
    let body = match done.body {
        Ok(bytes) => bytes,
        Err(error) => {
            put("x-amz-function-error", "Unhandled".into());
            Bytes::from(serde_json::to_vec(&error).unwrap_or_default())
        }
    };
    (StatusCode::OK, headers, body).into_response()
}

// ---------------------------------------------------------------------------------------------------------
// HttpInvoker
// ---------------------------------------------------------------------------------------------------------

/// An [`Invoker`] that calls an Invoke API over HTTP (this module's, or anything compatible).
#[derive(Debug, Clone)]
pub struct HttpInvoker {
    base_url: String,
    client: reqwest::Client,
}

impl HttpInvoker {
    /// `base_url` like `http://127.0.0.1:9000` (no trailing path).
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpInvoker {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn call(&self, function: &str, payload: Value, trace_id: Option<String>) -> Result<Invocation, InvokeError> {
        let started = Instant::now();
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base_url);
        let body = serde_json::to_vec(&payload).map_err(|e| InvokeError::InvalidPayload(e.to_string()))?;
        let mut request = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(trace) = &trace_id {
            request = request.header("x-amzn-trace-id", trace);
        }
        let response = request
            .send()
            .await
            .map_err(|e| InvokeError::Transport(format!("POST {url}: {e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| InvokeError::Transport(format!("reading {url}: {e}")))?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        let message = || {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .or_else(|| v.get("Message"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(text)
        };
        match status.as_u16() {
            200 => {}
            404 => return Err(InvokeError::FunctionNotFound(function.to_string())),
            413 => return Err(InvokeError::RequestTooLarge(0)),
            400 => return Err(InvokeError::InvalidPayload(message())),
            code => return Err(InvokeError::Unavailable(format!("HTTP {code}: {}", message()))),
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let ms = |name: &str| {
            header(name)
                .and_then(|v| v.parse::<f64>().ok())
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        };
        let response = if header("x-amz-function-error").is_some() {
            Err(serde_json::from_slice::<FunctionError>(&bytes)
                .unwrap_or_else(|_| FunctionError::new("Unhandled", text())))
        } else {
            Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text())))
        };
        Ok(Invocation {
            request_id: header("x-amzn-requestid").unwrap_or_default().to_string(),
            response,
            cold_start: header("x-niaga-cold-start") == Some("true"),
            init_duration: ms("x-niaga-init-duration-ms"),
            duration: ms("x-niaga-duration-ms").unwrap_or_else(|| started.elapsed()),
        })
    }
}

impl Invoker for HttpInvoker {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
        trace_id: Option<String>,
    ) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(self.call(function, payload, trace_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_peak_resident_set_is_read_from_proc() {
        let kb = vm_hwm_kb(std::process::id()).expect("this process has a VmHWM");
        assert!(kb > 100, "{kb} kB");
        assert_eq!(vm_hwm_kb(u32::MAX), None);
    }

    #[test]
    fn function_names_and_arns_resolve_to_the_name() {
        assert_eq!(function_name("catalog-api"), "catalog-api");
        assert_eq!(function_name(&function_arn("catalog-api")), "catalog-api");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:000000000000:function:catalog-api:$LATEST"),
            "catalog-api"
        );
    }

    #[test]
    fn error_bodies_prefer_the_body_type_then_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("Runtime.InitError"),
        );
        let e = parse_error_body(
            &headers,
            br#"{"errorType":"&alloc::string::String","errorMessage":"boom"}"#,
        );
        assert_eq!(e, FunctionError::new("&alloc::string::String", "boom"));
        let e = parse_error_body(&headers, br#"{"errorMessage":"no type"}"#);
        assert_eq!(e, FunctionError::new("Runtime.InitError", "no type"));
        let e = parse_error_body(&HeaderMap::new(), b"not json");
        assert_eq!(e, FunctionError::new("Unhandled", "not json"));
    }

    #[test]
    fn function_errors_serialize_like_lambda() {
        let e = FunctionError::new("Sandbox.Timedout", "too slow");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"errorType": "Sandbox.Timedout", "errorMessage": "too slow"})
        );
        assert!(e.is_timeout());
    }
}
