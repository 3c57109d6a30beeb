//! The typed view of `niaga.json`, the one manifest of functions, routes, queues, schedules, secrets and
//! tables. terraform reads the same file with `jsondecode`, `template.yaml` is generated from it, and the local
//! gateway serves it; [`Manifest::load`] checks the cross-references so a typo fails here, not at deploy time.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// The whole manifest.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Manifest {
    pub project: String,
    pub defaults: Defaults,
    pub functions: Vec<Function>,
    #[serde(default)]
    pub queues: Vec<Queue>,
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
    #[serde(default)]
    pub tables: Vec<Table>,
    /// CORS on the HTTP API; absent means none anywhere.
    #[serde(default)]
    pub cors: Option<Cors>,
}

/// CORS on the HTTP API (API Gateway's `cors_configuration`, and the local gateway's): what a browser may send and
/// read, and the origins allowed in each environment. An environment without origins has no CORS, so browsers on
/// other origins are refused.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Cors {
    /// Environment name → origins (`scheme://host[:port]`, never `*`).
    pub allow_origins: std::collections::BTreeMap<String, Vec<String>>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_s: u32,
}

impl Cors {
    /// The origins allowed in `env`.
    pub fn origins(&self, env: &str) -> &[String] {
        self.allow_origins.get(env).map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Defaults {
    pub architecture: String,
    pub runtime: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// API Gateway HTTP API routes.
    Http,
    /// An SQS event source mapping.
    Sqs,
    /// An EventBridge schedule.
    Schedule,
    /// Invoked by hand or by a deploy step (for example `migrate`).
    Job,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Function {
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    #[serde(default)]
    pub latency_critical: bool,
    /// Names from [`Manifest::secrets`] this function may read.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// For `kind: sqs`: the queue this function consumes.
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub batch_size: Option<u32>,
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// Reserved concurrency, where it protects a dependency.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// Writes outbox events and relays them: may send to every queue that subscribes to events.
    #[serde(default)]
    pub outbox: bool,
    /// Names from [`Manifest::tables`] this function reads and writes items in.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Puts domain events on the project's EventBridge bus (`niaga-<env>`).
    #[serde(default)]
    pub announces: bool,
    /// Access to the exports bucket's `exports/` prefix: `read` (presigned downloads) or `write`.
    #[serde(default)]
    pub exports: Option<Access>,
    /// What the function calls outside AWS over HTTPS (`erp`, `payment-gateway`, `agent-webhooks`): such a
    /// function runs with the security group that may leave the VPC through the NAT gateway. Empty: AWS
    /// services (through VPC endpoints) and the database only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<String>,
}

/// Read or write access to a bucket prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Route {
    pub method: String,
    /// API Gateway path syntax: `/products/{sku}`.
    pub path: String,
    /// Public routes need no JWT.
    #[serde(default)]
    pub public: bool,
}

impl Route {
    /// The API Gateway route key, `GET /products/{sku}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Queue {
    pub name: String,
    #[serde(default)]
    pub fifo: bool,
    pub visibility_timeout_s: u32,
    /// Receives before a message moves to the queue's dead-letter queue.
    pub max_receive_count: u32,
    /// Outbox event types the relay publishes to this queue.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Schedule {
    pub name: String,
    pub description: String,
    /// EventBridge syntax, always UTC: `cron(0/5 0-11 ? * * *)` or `rate(5 minutes)`.
    pub expression: String,
    /// What the expression means in Jakarta time (WIB, UTC+7).
    pub wib: String,
    pub targets: Vec<String>,
    /// Constant input delivered to each target; absent means the EventBridge scheduled event.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SecretSpec {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Table {
    pub name: String,
    pub hash_key: String,
    #[serde(default)]
    pub range_key: Option<String>,
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

impl Manifest {
    /// Reads and checks `niaga.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The manifest at the workspace root.
    pub fn load_workspace() -> Result<Self> {
        Self::load(&crate::workspace_root().join("niaga.json"))
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Every (function, route) pair.
    pub fn routes(&self) -> impl Iterator<Item = (&Function, &Route)> {
        self.functions.iter().flat_map(|f| f.routes.iter().map(move |r| (f, r)))
    }

    /// `NIAGA_OUTBOX_ROUTES`: each event type → the queues subscribed to it (`queue`, `fifo`).
    pub fn outbox_routes(&self) -> serde_json::Value {
        let mut routes: std::collections::BTreeMap<&str, Vec<serde_json::Value>> = Default::default();
        for q in &self.queues {
            for e in &q.events {
                routes
                    .entry(e.as_str())
                    .or_default()
                    .push(serde_json::json!({ "queue": q.name, "fifo": q.fifo }));
            }
        }
        serde_json::json!(routes)
    }

    fn check(&self) -> Result<()> {
        if let Some(cors) = &self.cors {
            for (env, origins) in &cors.allow_origins {
                for o in origins {
                    let (scheme, rest) = o.split_once("://").unwrap_or(("", o));
                    let bad = o == "*"
                        || !matches!(scheme, "http" | "https")
                        || rest.is_empty()
                        || rest.contains(['/', '*', '?', '#']);
                    if bad {
                        bail!("cors.allow_origins.{env}: `{o}` is not an origin (scheme://host[:port], no wildcard)");
                    }
                }
            }
        }
        let mut names = BTreeSet::new();
        for f in &self.functions {
            if !names.insert(f.name.as_str()) {
                bail!("function `{}` is declared twice", f.name);
            }
            match f.kind {
                Kind::Http if f.routes.is_empty() => bail!("http function `{}` has no routes", f.name),
                Kind::Sqs => {
                    let q = f
                        .queue
                        .as_deref()
                        .with_context(|| format!("sqs function `{}` names no queue", f.name))?;
                    if !self.queues.iter().any(|x| x.name == q) {
                        bail!("function `{}` consumes unknown queue `{q}`", f.name);
                    }
                }
                _ => {}
            }
            for s in &f.secrets {
                if !self.secrets.iter().any(|x| &x.name == s) {
                    bail!("function `{}` reads unknown secret `{s}`", f.name);
                }
            }
            for t in &f.tables {
                if !self.tables.iter().any(|x| &x.name == t) {
                    bail!("function `{}` uses unknown table `{t}`", f.name);
                }
            }
        }
        let mut keys = BTreeSet::new();
        for (_, r) in self.routes() {
            if !keys.insert(r.key()) {
                bail!("route `{}` is served twice", r.key());
            }
        }
        for s in &self.schedules {
            for t in &s.targets {
                if self.function(t).is_none() {
                    bail!("schedule `{}` targets unknown function `{t}`", s.name);
                }
            }
        }
        Ok(())
    }
}
