//! `template.yaml` (AWS SAM) generated from the manifest, and the readers the drift test uses to check
//! a template on disk against `niaga.json`.
//!
//! [`render`] describes the same deployment as `terraform/compute` and `terraform/persistence`: one
//! `AWS::Serverless::Function` per manifest function (built by cargo-lambda), its `HttpApi`, `Schedule`
//! and `SQS` events, least-privilege policies, and the manifest's queues (each with a dead-letter queue),
//! secrets and tables. The YAML is written by hand, in one fixed subset (block mappings and sequences,
//! plain or JSON-quoted scalars, short-form `!Ref`/`!Sub`/`!GetAtt` tags), so the output is byte-for-byte
//! deterministic and the readers below ([`parse`]) only need to understand that subset.
//!
//! Logical ids are PascalCase names with a suffix per kind, so kinds never collide:
//! `catalog-api` → `CatalogApiFunction`, queue `erp-sync` → `ErpSyncQueue` and `ErpSyncDeadLetterQueue`,
//! secret `app` → `AppSecret`, table `rate-limits` → `RateLimitsTable`, schedule `warmup` → the event
//! `WarmupSchedule` on every function it targets.

use crate::manifest::{Function, Kind, Manifest, Queue, Table};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes one line at an indentation: `y!(w, 6, "Name: {}", value)`.
macro_rules! y {
    ($w:expr, $indent:expr, $($fmt:tt)+) => {{
        let _ = writeln!($w, "{:indent$}{}", "", format_args!($($fmt)+), indent = $indent);
    }};
}

/// The first line of the generated file; `cargo xtask gen` owns everything below it.
pub const HEADER: &str =
    "# Generated from niaga.json by `cargo xtask gen`. Do not edit: change niaga.json and regenerate.";

/// Where the template lives: `template.yaml` at the workspace root.
pub fn template_path() -> PathBuf {
    crate::workspace_root().join("template.yaml")
}

/// `catalog-api` → `CatalogApi`: the PascalCase stem of every logical id.
pub fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// Logical id of a function: `catalog-api` → `CatalogApiFunction`.
pub fn function_id(name: &str) -> String {
    format!("{}Function", pascal(name))
}

/// Logical id of a queue: `erp-sync` → `ErpSyncQueue`.
pub fn queue_id(name: &str) -> String {
    format!("{}Queue", pascal(name))
}

/// Logical id of a queue's dead-letter queue: `erp-sync` → `ErpSyncDeadLetterQueue`.
pub fn dlq_id(name: &str) -> String {
    format!("{}DeadLetterQueue", pascal(name))
}

/// Logical id of a secret: `app` → `AppSecret`.
pub fn secret_id(name: &str) -> String {
    format!("{}Secret", pascal(name))
}

/// Logical id of a table: `rate-limits` → `RateLimitsTable`.
/// The logical id of the exports bucket.
pub const EXPORTS_BUCKET_ID: &str = "ExportsBucket";

fn render_exports_bucket(w: &mut String) {
    y!(w, 2, "{EXPORTS_BUCKET_ID}:");
    y!(w, 4, "Type: AWS::S3::Bucket");
    y!(w, 4, "DeletionPolicy: Retain");
    y!(w, 4, "UpdateReplacePolicy: Retain");
    y!(w, 4, "Properties:");
    y!(w, 6, "BucketName: {}", sub("niaga-${Env}-exports-${AWS::AccountId}"));
    y!(w, 6, "PublicAccessBlockConfiguration:");
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        y!(w, 8, "{k}: true");
    }
    y!(w, 6, "BucketEncryption:");
    y!(w, 8, "ServerSideEncryptionConfiguration:");
    y!(w, 10, "- ServerSideEncryptionByDefault:");
    y!(w, 14, "SSEAlgorithm: AES256");
    y!(w, 6, "LifecycleConfiguration:");
    y!(w, 8, "Rules:");
    y!(w, 10, "- Id: expire-exports");
    y!(w, 12, "Status: Enabled");
    y!(w, 12, "ExpirationInDays: 7");
}

/// The logical id of the project's EventBridge bus.
pub const EVENT_BUS_ID: &str = "EventBus";

pub fn table_id(name: &str) -> String {
    format!("{}Table", pascal(name))
}

/// Name of the `Schedule` event a manifest schedule adds to each function it targets: `warmup` → `WarmupSchedule`.
pub fn schedule_event_id(name: &str) -> String {
    format!("{}Schedule", pascal(name))
}

/// Name of an `HttpApi` event: `GET /products/{sku}` → `GetProductsSku`.
fn route_event_id(method: &str, path: &str) -> String {
    format!("{}{}", pascal(&method.to_ascii_lowercase()), pascal(path))
}

/// Logical id of the one HTTP API.
pub const HTTP_API_ID: &str = "NiagaHttpApi";

/// A YAML double-quoted scalar. JSON string syntax is valid YAML, so serde_json does the escaping.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// `!Sub "niaga-${Env}-<name>"`: a physical name in the deployed environment.
fn sub(template: &str) -> String {
    format!("!Sub {}", q(template))
}

/// The physical queue name as a `!Sub` template, matching `queue_physical_name` in the crate root.
fn queue_name_template(name: &str, fifo: bool) -> String {
    format!("niaga-${{Env}}-{name}{}", if fifo { ".fifo" } else { "" })
}

/// Renders `template.yaml` for a manifest. Same manifest, same bytes.
pub fn render(manifest: &Manifest) -> String {
    let mut out = String::new();
    let w = &mut out;
    y!(w, 0, "{HEADER}");
    y!(
        w,
        0,
        "# The drift test (xtask/tests/drift.rs) fails when this file, terraform and niaga.json disagree."
    );
    y!(w, 0, "AWSTemplateFormatVersion: \"2010-09-09\"");
    y!(w, 0, "Transform: AWS::Serverless-2016-10-31");
    y!(
        w,
        0,
        "Description: {}",
        q(&format!(
            "{}: serverless commerce backend (functions from niaga.json)",
            manifest.project
        ))
    );
    blank(w);
    render_parameters(w);
    blank(w);
    render_mappings(w, manifest);
    render_conditions(w, manifest);
    blank(w);
    render_globals(w, manifest);
    blank(w);
    y!(w, 0, "Resources:");
    render_http_api(w, manifest);
    for f in &manifest.functions {
        blank(w);
        render_function(w, manifest, f);
    }
    for queue in &manifest.queues {
        blank(w);
        render_queue(w, queue);
    }
    for secret in &manifest.secrets {
        blank(w);
        y!(w, 2, "{}:", secret_id(&secret.name));
        y!(w, 4, "Type: AWS::SecretsManager::Secret");
        y!(w, 4, "DeletionPolicy: Retain");
        y!(w, 4, "UpdateReplacePolicy: Retain");
        y!(w, 4, "Properties:");
        y!(w, 6, "Name: {}", sub(&format!("niaga/${{Env}}/{}", secret.name)));
        y!(w, 6, "Description: {}", q(&secret.description));
    }
    for table in &manifest.tables {
        blank(w);
        render_table(w, table);
    }
    if manifest.functions.iter().any(|f| f.exports.is_some()) {
        blank(w);
        render_exports_bucket(w);
    }
    if manifest.functions.iter().any(|f| f.announces) {
        blank(w);
        y!(w, 2, "{EVENT_BUS_ID}:");
        y!(w, 4, "Type: AWS::Events::EventBus");
        y!(w, 4, "Properties:");
        y!(w, 6, "Name: {}", sub("niaga-${Env}"));
    }
    blank(w);
    render_outputs(w, manifest);
    out
}

fn blank(w: &mut String) {
    w.push('\n');
}

fn render_parameters(w: &mut String) {
    y!(w, 0, "Parameters:");
    let params: [(&str, &str, Option<&str>, &str); 11] = [
        (
            "ErpUrl",
            "String",
            Some("http://erp.internal:7070"),
            "Base URL of the legacy ERP's API, reached from the functions' subnets.",
        ),
        (
            "PaymentsStatusUrl",
            "String",
            Some(""),
            "Base URL of the payment gateway's Get Status API (https://api.midtrans.com); payments-api confirms each settlement with it before marking an order paid. Empty trusts the signature alone. The functions' subnets need a route to it.",
        ),
        (
            "Env",
            "String",
            Some("prod"),
            "Environment name in every physical name: niaga-<env>-<function>, niaga/<env>/<secret>.",
        ),
        (
            "DatabaseUrl",
            "String",
            None,
            "postgres://host:port/database of the writer (the RDS Proxy), without credentials.",
        ),
        (
            "DatabaseReaderUrl",
            "String",
            Some(""),
            "postgres://host:port/database of the read replica; empty means the writer.",
        ),
        (
            "DatabaseTls",
            "String",
            Some("verify-full"),
            "verify-full: TLS with the server certificate checked against the endpoint's CA bundle and its host name. Functions refuse disable outside a local cluster.",
        ),
        (
            "DatabaseCa",
            "String",
            Some("rds-proxy"),
            "CA bundle for the writer (DATABASE_CA): rds-proxy (Amazon Root CA 1; RDS Proxy's ACM certificate chains to it) or rds (the RDS global bundle; an instance's own endpoint).",
        ),
        (
            "DatabaseReaderCa",
            "String",
            Some("rds"),
            "CA bundle for the read replica's own endpoint (DATABASE_READER_CA): rds (the RDS global bundle) or rds-proxy. Unused without DatabaseReaderUrl.",
        ),
        (
            "AwsEndpointUrl",
            "String",
            Some(""),
            "Base URL of an AWS emulator; empty in every real environment.",
        ),
        (
            "ApiThrottlingRateLimit",
            "Number",
            Some("5000"),
            "Steady-state requests per second the HTTP API accepts.",
        ),
        (
            "ApiThrottlingBurstLimit",
            "Number",
            Some("2500"),
            "Burst size of the HTTP API's throttle.",
        ),
    ];
    for (name, kind, default, description) in params {
        y!(w, 2, "{name}:");
        y!(w, 4, "Type: {kind}");
        if let Some(default) = default {
            y!(
                w,
                4,
                "Default: {}",
                if kind == "Number" {
                    default.to_string()
                } else {
                    q(default)
                }
            );
        }
        match name {
            "Env" => y!(w, 4, "AllowedPattern: {}", q("^[a-z][a-z0-9]{1,11}$")),
            "DatabaseTls" => {
                y!(w, 4, "AllowedValues:");
                y!(w, 6, "- verify-full");
            }
            "DatabaseCa" | "DatabaseReaderCa" => {
                y!(w, 4, "AllowedValues:");
                y!(w, 6, "- rds-proxy");
                y!(w, 6, "- rds");
            }
            _ => {}
        }
        y!(w, 4, "Description: {}", q(description));
    }
}

/// The environments with CORS origins (niaga.json `cors.allow_origins`), in a stable order.
fn cors_envs(manifest: &Manifest) -> Vec<(&str, &[String])> {
    manifest
        .cors
        .iter()
        .flat_map(|c| c.allow_origins.iter())
        .filter(|(_, origins)| !origins.is_empty())
        .map(|(env, origins)| (env.as_str(), origins.as_slice()))
        .collect()
}

fn render_mappings(w: &mut String, manifest: &Manifest) {
    let envs = cors_envs(manifest);
    if envs.is_empty() {
        return;
    }
    y!(w, 0, "Mappings:");
    y!(w, 2, "CorsAllowOrigins:");
    for (env, origins) in envs {
        y!(w, 4, "{env}:");
        y!(w, 6, "Origins:");
        for o in origins {
            y!(w, 8, "- {}", q(o));
        }
    }
    blank(w);
}

fn render_conditions(w: &mut String, manifest: &Manifest) {
    y!(w, 0, "Conditions:");
    let envs = cors_envs(manifest);
    if !envs.is_empty() {
        // CORS only where niaga.json allows origins, as terraform's cors_configuration.
        y!(w, 2, "HasCors:");
        let equals = |w: &mut String, indent: usize, env: &str| {
            y!(w, indent, "- Fn::Equals:");
            y!(w, indent + 4, "- !Ref Env");
            y!(w, indent + 4, "- {}", q(env));
        };
        if let [(env, _)] = envs.as_slice() {
            y!(w, 4, "Fn::Equals:");
            y!(w, 6, "- !Ref Env");
            y!(w, 6, "- {}", q(env));
        } else {
            y!(w, 4, "Fn::Or:");
            for (env, _) in &envs {
                equals(w, 6, env);
            }
        }
    }
    for (condition, parameter) in [("UseEmulator", "AwsEndpointUrl"), ("HasReaderUrl", "DatabaseReaderUrl")] {
        y!(w, 2, "{condition}:");
        y!(w, 4, "Fn::Not:");
        y!(w, 6, "- Fn::Equals:");
        y!(w, 10, "- !Ref {parameter}");
        y!(w, 10, "- \"\"");
    }
}

fn render_globals(w: &mut String, manifest: &Manifest) {
    y!(w, 0, "Globals:");
    y!(w, 2, "Function:");
    y!(w, 4, "Environment:");
    y!(w, 6, "Variables:");
    y!(w, 8, "NIAGA_ENV: !Ref Env");
    y!(w, 8, "NIAGA_APP_SECRET_ID: {}", sub("niaga/${Env}/app"));
    y!(w, 8, "NIAGA_DB_SECRET_ID: {}", sub("niaga/${Env}/database"));
    y!(w, 8, "NIAGA_PAYMENTS_SECRET_ID: {}", sub("niaga/${Env}/payments"));
    y!(
        w,
        8,
        "NIAGA_OUTBOX_ROUTES: {}",
        q(&manifest.outbox_routes().to_string())
    );
    y!(w, 8, "NIAGA_ERP_URL: !Ref ErpUrl");
    y!(w, 8, "NIAGA_PAYMENTS_STATUS_URL: !Ref PaymentsStatusUrl");
    if manifest.functions.iter().any(|f| f.exports.is_some()) {
        y!(w, 8, "NIAGA_EXPORTS_BUCKET: !Ref {EXPORTS_BUCKET_ID}");
    }
    y!(w, 8, "DATABASE_URL: !Ref DatabaseUrl");
    y!(w, 8, "DATABASE_READER_URL:");
    y!(w, 10, "Fn::If:");
    y!(w, 12, "- HasReaderUrl");
    y!(w, 12, "- !Ref DatabaseReaderUrl");
    y!(w, 12, "- !Ref DatabaseUrl");
    y!(w, 8, "DATABASE_TLS: !Ref DatabaseTls");
    y!(w, 8, "DATABASE_CA: !Ref DatabaseCa");
    y!(w, 8, "DATABASE_READER_CA:");
    y!(w, 10, "Fn::If:");
    y!(w, 12, "- HasReaderUrl");
    y!(w, 12, "- !Ref DatabaseReaderCa");
    y!(w, 12, "- !Ref DatabaseCa");
    y!(w, 8, "AWS_ENDPOINT_URL:");
    y!(w, 10, "Fn::If:");
    y!(w, 12, "- UseEmulator");
    y!(w, 12, "- !Ref AwsEndpointUrl");
    y!(w, 12, "- !Ref AWS::NoValue");
}

fn render_http_api(w: &mut String, manifest: &Manifest) {
    y!(w, 2, "{HTTP_API_ID}:");
    y!(w, 4, "Type: AWS::Serverless::HttpApi");
    y!(w, 4, "Properties:");
    y!(w, 6, "Name: {}", sub("niaga-${Env}"));
    y!(w, 6, "DefaultRouteSettings:");
    y!(w, 8, "ThrottlingRateLimit: !Ref ApiThrottlingRateLimit");
    y!(w, 8, "ThrottlingBurstLimit: !Ref ApiThrottlingBurstLimit");
    let Some(cors) = manifest.cors.as_ref().filter(|_| !cors_envs(manifest).is_empty()) else {
        return;
    };
    y!(w, 6, "CorsConfiguration:");
    y!(w, 8, "Fn::If:");
    y!(w, 10, "- HasCors");
    y!(w, 10, "- AllowOrigins:");
    y!(w, 14, "Fn::FindInMap:");
    for item in ["CorsAllowOrigins", "!Ref Env", "Origins"] {
        y!(w, 16, "- {item}");
    }
    for (key, items) in [
        ("AllowMethods", &cors.allow_methods),
        ("AllowHeaders", &cors.allow_headers),
        ("ExposeHeaders", &cors.expose_headers),
    ] {
        y!(w, 12, "{key}:");
        for i in items {
            y!(w, 14, "- {}", q(i));
        }
    }
    y!(w, 12, "MaxAge: {}", cors.max_age_s);
    y!(w, 10, "- !Ref AWS::NoValue");
}

fn render_function(w: &mut String, manifest: &Manifest, f: &Function) {
    y!(w, 2, "{}:", function_id(&f.name));
    y!(w, 4, "Type: AWS::Serverless::Function");
    y!(w, 4, "Metadata:");
    y!(w, 6, "BuildMethod: rust-cargolambda");
    y!(w, 6, "BuildProperties:");
    y!(w, 8, "Binary: {}", q(&f.name));
    y!(w, 4, "Properties:");
    y!(w, 6, "FunctionName: {}", sub(&format!("niaga-${{Env}}-{}", f.name)));
    y!(w, 6, "Description: {}", q(&f.description));
    y!(w, 6, "CodeUri: .");
    y!(w, 6, "Handler: bootstrap");
    y!(w, 6, "Runtime: {}", q(&manifest.defaults.runtime));
    y!(w, 6, "Architectures:");
    y!(w, 8, "- {}", q(&manifest.defaults.architecture));
    y!(w, 6, "MemorySize: {}", f.memory_mb);
    y!(w, 6, "Timeout: {}", f.timeout_s);
    if let Some(reserved) = f.reserved_concurrency {
        y!(w, 6, "ReservedConcurrentExecutions: {reserved}");
    }

    // Logs come with SAM's basic execution role; everything else is listed here and nothing more.
    let consumes = f.queue.as_deref().filter(|_| f.kind == Kind::Sqs);
    // Outbox relays send to every queue that subscribes to events.
    let publishes: Vec<&str> = if f.outbox {
        manifest
            .queues
            .iter()
            .filter(|q| !q.events.is_empty())
            .map(|q| q.name.as_str())
            .collect()
    } else {
        Vec::new()
    };
    if !f.secrets.is_empty()
        || consumes.is_some()
        || !publishes.is_empty()
        || !f.tables.is_empty()
        || f.announces
        || f.exports.is_some()
    {
        y!(w, 6, "Policies:");
        for secret in &f.secrets {
            y!(w, 8, "- AWSSecretsManagerGetSecretValuePolicy:");
            y!(w, 12, "SecretArn: !Ref {}", secret_id(secret));
        }
        if let Some(queue) = consumes {
            y!(w, 8, "- SQSPollerPolicy:");
            y!(w, 12, "QueueName: !GetAtt {}.QueueName", queue_id(queue));
        }
        for queue in publishes {
            y!(w, 8, "- SQSSendMessagePolicy:");
            y!(w, 12, "QueueName: !GetAtt {}.QueueName", queue_id(queue));
        }
        for table in &f.tables {
            y!(w, 8, "- DynamoDBCrudPolicy:");
            y!(w, 12, "TableName: !Ref {}", table_id(table));
        }
        if f.announces {
            y!(w, 8, "- EventBridgePutEventsPolicy:");
            y!(w, 12, "EventBusName: !Ref {EVENT_BUS_ID}");
        }
        if let Some(access) = f.exports {
            let policy = match access {
                crate::manifest::Access::Read => "S3ReadPolicy",
                crate::manifest::Access::Write => "S3WritePolicy",
            };
            y!(w, 8, "- {policy}:");
            y!(w, 12, "BucketName: !Ref {EXPORTS_BUCKET_ID}");
        }
    }

    let schedules: Vec<_> = manifest
        .schedules
        .iter()
        .filter(|s| s.targets.contains(&f.name))
        .collect();
    if f.routes.is_empty() && schedules.is_empty() && consumes.is_none() {
        return;
    }
    y!(w, 6, "Events:");
    let mut event_ids = BTreeSet::new();
    for route in &f.routes {
        let base = route_event_id(&route.method, &route.path);
        let mut id = base.clone();
        let mut n = 2;
        while !event_ids.insert(id.clone()) {
            id = format!("{base}{n}");
            n += 1;
        }
        y!(w, 8, "{id}:");
        y!(w, 10, "Type: HttpApi");
        y!(w, 10, "Properties:");
        y!(w, 12, "ApiId: !Ref {HTTP_API_ID}");
        y!(w, 12, "Method: {}", q(&route.method));
        y!(w, 12, "Path: {}", q(&route.path));
        y!(w, 12, "PayloadFormatVersion: \"2.0\"");
    }
    for schedule in schedules {
        y!(w, 8, "{}:", schedule_event_id(&schedule.name));
        y!(w, 10, "Type: Schedule");
        y!(w, 10, "Properties:");
        y!(w, 12, "Schedule: {}", q(&schedule.expression));
        y!(
            w,
            12,
            "Description: {}",
            q(&format!("{} ({})", schedule.description, schedule.wib))
        );
        if let Some(input) = &schedule.input {
            y!(w, 12, "Input: {}", q(&input.to_string()));
        }
    }
    if let Some(queue) = consumes {
        y!(w, 8, "{}:", queue_id(queue));
        y!(w, 10, "Type: SQS");
        y!(w, 10, "Properties:");
        y!(w, 12, "Queue: !GetAtt {}.Arn", queue_id(queue));
        if let Some(batch) = f.batch_size {
            y!(w, 12, "BatchSize: {batch}");
        }
        y!(w, 12, "FunctionResponseTypes:");
        y!(w, 14, "- ReportBatchItemFailures");
        if let Some(max) = f.max_concurrency {
            y!(w, 12, "ScalingConfig:");
            y!(w, 14, "MaximumConcurrency: {max}");
        }
    }
}

fn render_queue(w: &mut String, queue: &Queue) {
    y!(w, 2, "{}:", dlq_id(&queue.name));
    y!(w, 4, "Type: AWS::SQS::Queue");
    y!(w, 4, "Properties:");
    y!(
        w,
        6,
        "QueueName: {}",
        sub(&queue_name_template(&format!("{}-dlq", queue.name), queue.fifo))
    );
    if queue.fifo {
        y!(w, 6, "FifoQueue: true");
    }
    y!(w, 6, "MessageRetentionPeriod: 1209600");
    y!(w, 6, "SqsManagedSseEnabled: true");
    blank(w);
    y!(w, 2, "{}:", queue_id(&queue.name));
    y!(w, 4, "Type: AWS::SQS::Queue");
    y!(w, 4, "Properties:");
    y!(
        w,
        6,
        "QueueName: {}",
        sub(&queue_name_template(&queue.name, queue.fifo))
    );
    if queue.fifo {
        y!(w, 6, "FifoQueue: true");
    }
    y!(w, 6, "VisibilityTimeout: {}", queue.visibility_timeout_s);
    y!(w, 6, "SqsManagedSseEnabled: true");
    y!(w, 6, "RedrivePolicy:");
    y!(w, 8, "deadLetterTargetArn: !GetAtt {}.Arn", dlq_id(&queue.name));
    y!(w, 8, "maxReceiveCount: {}", queue.max_receive_count);
}

fn render_table(w: &mut String, table: &Table) {
    y!(w, 2, "{}:", table_id(&table.name));
    y!(w, 4, "Type: AWS::DynamoDB::Table");
    y!(w, 4, "DeletionPolicy: Retain");
    y!(w, 4, "UpdateReplacePolicy: Retain");
    y!(w, 4, "Properties:");
    y!(w, 6, "TableName: {}", sub(&format!("niaga-${{Env}}-{}", table.name)));
    y!(w, 6, "BillingMode: PAY_PER_REQUEST");
    let keys: Vec<(&str, &str)> = std::iter::once((table.hash_key.as_str(), "HASH"))
        .chain(table.range_key.as_deref().map(|k| (k, "RANGE")))
        .collect();
    y!(w, 6, "AttributeDefinitions:");
    for (name, _) in &keys {
        y!(w, 8, "- AttributeName: {}", q(name));
        y!(w, 10, "AttributeType: S");
    }
    y!(w, 6, "KeySchema:");
    for (name, kind) in &keys {
        y!(w, 8, "- AttributeName: {}", q(name));
        y!(w, 10, "KeyType: {kind}");
    }
    if let Some(ttl) = &table.ttl_attribute {
        y!(w, 6, "TimeToLiveSpecification:");
        y!(w, 8, "AttributeName: {}", q(ttl));
        y!(w, 8, "Enabled: true");
    }
    y!(w, 6, "PointInTimeRecoverySpecification:");
    y!(w, 8, "PointInTimeRecoveryEnabled: true");
    y!(w, 6, "SSESpecification:");
    y!(w, 8, "SSEEnabled: true");
}

fn render_outputs(w: &mut String, manifest: &Manifest) {
    y!(w, 0, "Outputs:");
    y!(w, 2, "ApiEndpoint:");
    y!(w, 4, "Description: Base URL of the HTTP API.");
    y!(w, 4, "Value: !GetAtt {HTTP_API_ID}.ApiEndpoint");
    for queue in &manifest.queues {
        y!(w, 2, "{}Url:", queue_id(&queue.name));
        y!(w, 4, "Description: {}", q(&format!("URL of the {} queue.", queue.name)));
        y!(w, 4, "Value: !Ref {}", queue_id(&queue.name));
    }
}

// --- Reading a template back -------------------------------------------------------------------------

/// A node of the YAML subset [`render`] writes. Scalars keep their text: a quoted scalar is unquoted,
/// a tagged one keeps its tag (`!Ref Env`, `!Sub niaga-${Env}-x` with the quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping, empty for anything else.
    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }
}

/// Parses the block-style YAML subset that [`render`] writes: mappings and sequences by indentation,
/// scalars plain or JSON-quoted, comments on their own lines. Anything else is an error, never a guess.
pub fn parse(yaml: &str) -> Result<Node> {
    let mut lines: Vec<(usize, usize, String)> = Vec::new(); // (line number, indent, text)
    for (n, raw) in yaml.lines().enumerate() {
        let text = raw.trim_end();
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if text.contains('\t') {
            bail!("line {}: tabs are not YAML indentation", n + 1);
        }
        lines.push((n + 1, text.len() - trimmed.len(), trimmed.to_string()));
    }
    let mut pos = 0;
    let node = parse_block(&mut lines, &mut pos, 0)?;
    if let Some((n, _, text)) = lines.get(pos) {
        bail!("line {n}: unexpected `{text}` (indentation?)");
    }
    Ok(node)
}

fn parse_block(lines: &mut [(usize, usize, String)], pos: &mut usize, indent: usize) -> Result<Node> {
    let Some((_, _, first)) = lines.get(*pos) else {
        return Ok(Node::Map(Vec::new()));
    };
    if first == "-" || first.starts_with("- ") {
        let mut items = Vec::new();
        while let Some((n, ind, text)) = lines.get(*pos).cloned() {
            if ind != indent || !(text == "-" || text.starts_with("- ")) {
                break;
            }
            let rest = text.get(2..).unwrap_or("").trim_start().to_string();
            if rest.is_empty() {
                bail!("line {n}: an empty sequence item is outside the supported subset");
            }
            if split_key(&rest).is_some() {
                // `- Key: value` opens a mapping whose entries sit two columns right of the dash.
                lines[*pos] = (n, indent + 2, rest);
                items.push(parse_block(lines, pos, indent + 2)?);
            } else {
                items.push(Node::Scalar(scalar(&rest, n)?));
                *pos += 1;
            }
        }
        return Ok(Node::Seq(items));
    }
    let mut entries = Vec::new();
    while let Some((n, ind, text)) = lines.get(*pos).cloned() {
        if ind < indent {
            break;
        }
        if ind > indent {
            bail!("line {n}: unexpected indentation");
        }
        let Some((key, value)) = split_key(&text) else {
            bail!("line {n}: expected `key: value`, found `{text}`");
        };
        *pos += 1;
        let node = if value.is_empty() {
            match lines.get(*pos) {
                Some((_, child, _)) if *child > indent => {
                    let child = *child;
                    parse_block(lines, pos, child)?
                }
                _ => bail!("line {n}: `{key}` has no value"),
            }
        } else {
            Node::Scalar(scalar(value, n)?)
        };
        if entries.iter().any(|(k, _)| k == &key) {
            bail!("line {n}: duplicate key `{key}`");
        }
        entries.push((key, node));
    }
    Ok(Node::Map(entries))
}

/// `Key: value` or `Key:` with a plain key (letters, digits, `_ : . $ -`, as [`render`] writes them).
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, value) = match text.find(": ") {
        Some(i) => (&text[..i], text[i + 2..].trim()),
        None => (text.strip_suffix(':')?, ""),
    };
    let plain = !key.is_empty()
        && key.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "_:.$-".contains(c));
    plain.then(|| (key.to_string(), value))
}

/// A scalar's text: JSON-quoted strings unquoted, a tag kept with its (unquoted) argument.
fn scalar(text: &str, n: usize) -> Result<String> {
    if let Some(rest) = text.strip_prefix('!') {
        let (tag, arg) = rest
            .split_once(' ')
            .with_context(|| format!("line {n}: a tag without a value"))?;
        return Ok(format!("!{tag} {}", scalar(arg.trim(), n)?));
    }
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).with_context(|| format!("line {n}: bad quoted string {text}"));
    }
    if text.starts_with(['\'', '[', '{', '&', '*', '|', '>']) {
        bail!("line {n}: `{text}` is outside the supported YAML subset");
    }
    Ok(text.to_string())
}

/// The serverless functions of a parsed template: (logical id, binary name, node).
fn functions(template: &Node) -> Result<Vec<(&str, String, &Node)>> {
    let resources = template.get("Resources").context("the template has no Resources")?;
    let mut out = Vec::new();
    for (id, resource) in resources.entries() {
        if resource.get("Type").and_then(Node::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource
            .at(&["Metadata", "BuildProperties", "Binary"])
            .and_then(Node::as_str)
            .with_context(|| format!("{id} has no Metadata.BuildProperties.Binary"))?;
        out.push((id.as_str(), binary.to_string(), resource));
    }
    Ok(out)
}

/// Events of one type on a function: (event name, its Properties).
fn events<'a>(function: &'a Node, kind: &str) -> Vec<(&'a str, &'a Node)> {
    function
        .at(&["Properties", "Events"])
        .map(Node::entries)
        .unwrap_or(&[])
        .iter()
        .filter(|(_, e)| e.get("Type").and_then(Node::as_str) == Some(kind))
        .filter_map(|(name, e)| Some((name.as_str(), e.get("Properties")?)))
        .collect()
}

/// Every `HttpApi` route in a template: route key (`GET /products/{sku}`) → the function (binary) serving it.
pub fn routes_in_template(yaml: &str) -> Result<BTreeMap<String, String>> {
    let template = parse(yaml)?;
    let mut routes = BTreeMap::new();
    for (id, binary, function) in functions(&template)? {
        for (event, props) in events(function, "HttpApi") {
            let method = props
                .get("Method")
                .and_then(Node::as_str)
                .with_context(|| format!("{id}.{event}: no Method"))?;
            let path = props
                .get("Path")
                .and_then(Node::as_str)
                .with_context(|| format!("{id}.{event}: no Path"))?;
            let key = format!("{} {path}", method.to_ascii_uppercase());
            if let Some(other) = routes.insert(key.clone(), binary.clone()) {
                bail!("route `{key}` is served by both {other} and {binary}");
            }
        }
    }
    Ok(routes)
}

/// The route keys of a template.
pub fn route_keys_in_template(yaml: &str) -> Result<BTreeSet<String>> {
    Ok(routes_in_template(yaml)?.into_keys().collect())
}

/// One call a `Schedule` event makes: its expression and its constant input (JSON text), as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledCall {
    pub expression: String,
    pub input: Option<String>,
}

/// Every `Schedule` event: event name (see [`schedule_event_id`]) → function (binary) → what it is sent.
pub fn schedules_in_template(yaml: &str) -> Result<BTreeMap<String, BTreeMap<String, ScheduledCall>>> {
    let template = parse(yaml)?;
    let mut schedules: BTreeMap<String, BTreeMap<String, ScheduledCall>> = BTreeMap::new();
    for (id, binary, function) in functions(&template)? {
        for (event, props) in events(function, "Schedule") {
            let expression = props
                .get("Schedule")
                .and_then(Node::as_str)
                .with_context(|| format!("{id}.{event}: no Schedule"))?;
            let input = props.get("Input").and_then(Node::as_str).map(str::to_string);
            schedules.entry(event.to_string()).or_default().insert(
                binary.clone(),
                ScheduledCall {
                    expression: expression.to_string(),
                    input,
                },
            );
        }
    }
    Ok(schedules)
}

/// Every `SQS` event: manifest queue name (read back from the queue's `QueueName`) → consuming functions.
pub fn queue_consumers_in_template(yaml: &str) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let template = parse(yaml)?;
    let resources = template.get("Resources").context("the template has no Resources")?;
    let mut consumers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, binary, function) in functions(&template)? {
        for (event, props) in events(function, "SQS") {
            let queue_ref = props
                .get("Queue")
                .and_then(Node::as_str)
                .with_context(|| format!("{id}.{event}: no Queue"))?;
            let queue_id = queue_ref
                .strip_prefix("!GetAtt ")
                .and_then(|r| r.strip_suffix(".Arn"))
                .with_context(|| format!("{id}.{event}: Queue is `{queue_ref}`, not !GetAtt <queue>.Arn"))?;
            let queue_name = resources
                .at(&[queue_id, "Properties", "QueueName"])
                .and_then(Node::as_str)
                .with_context(|| format!("{id}.{event}: no queue resource {queue_id} with a QueueName"))?;
            let name = queue_name
                .strip_prefix("!Sub niaga-${Env}-")
                .map(|n| n.strip_suffix(".fifo").unwrap_or(n))
                .with_context(|| format!("{queue_id}: QueueName `{queue_name}` is not !Sub niaga-${{Env}}-<name>"))?;
            consumers.entry(name.to_string()).or_default().insert(binary.clone());
        }
    }
    Ok(consumers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        serde_json::from_value(serde_json::json!({
            "project": "niaga",
            "defaults": { "architecture": "arm64", "runtime": "provided.al2023", "memory_mb": 256, "timeout_s": 10 },
            "functions": [
                { "name": "catalog-api", "kind": "http", "description": "Reads \"quoted\": yes", "memory_mb": 256,
                  "timeout_s": 10, "secrets": ["app"],
                  "routes": [ { "method": "GET", "path": "/products" }, { "method": "GET", "path": "/products/{sku}" } ] },
                { "name": "erp-sync-worker", "kind": "sqs", "description": "ERP", "memory_mb": 128, "timeout_s": 60,
                  "queue": "erp-sync", "batch_size": 1, "max_concurrency": 2, "reserved_concurrency": 2 }
            ],
            "queues": [ { "name": "erp-sync", "fifo": true, "visibility_timeout_s": 120, "max_receive_count": 5 } ],
            "schedules": [ { "name": "warmup", "description": "Warm", "expression": "cron(0/5 0-11 ? * * *)",
                             "wib": "07:00-18:55 WIB", "targets": ["catalog-api"], "input": { "warmup": true } } ],
            "secrets": [ { "name": "app", "description": "keys" } ],
            "tables": [ { "name": "rate-limits", "hash_key": "pk", "range_key": "window", "ttl_attribute": "expires_at" } ]
        }))
        .unwrap()
    }

    #[test]
    fn logical_ids_are_pascal_case_names_with_a_kind_suffix() {
        assert_eq!(function_id("catalog-api"), "CatalogApiFunction");
        assert_eq!(queue_id("erp-sync"), "ErpSyncQueue");
        assert_eq!(table_id("rate-limits"), "RateLimitsTable");
        assert_eq!(schedule_event_id("nightly-price-sync"), "NightlyPriceSyncSchedule");
        assert_eq!(route_event_id("GET", "/products/{sku}"), "GetProductsSku");
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        assert_eq!(render(&manifest()), render(&manifest()));
    }

    #[test]
    fn the_rendered_template_starts_with_the_generated_header() {
        assert!(render(&manifest()).starts_with(HEADER));
    }

    #[test]
    fn the_readers_find_what_render_wrote() {
        let yaml = render(&manifest());
        let routes = routes_in_template(&yaml).unwrap();
        assert_eq!(
            routes.get("GET /products/{sku}").map(String::as_str),
            Some("catalog-api")
        );
        assert_eq!(routes.len(), 2);
        let schedules = schedules_in_template(&yaml).unwrap();
        let warmup = &schedules["WarmupSchedule"]["catalog-api"];
        assert_eq!(warmup.expression, "cron(0/5 0-11 ? * * *)");
        assert_eq!(warmup.input.as_deref(), Some(r#"{"warmup":true}"#));
        let consumers = queue_consumers_in_template(&yaml).unwrap();
        assert_eq!(consumers["erp-sync"], BTreeSet::from(["erp-sync-worker".to_string()]));
    }

    #[test]
    fn parsing_rejects_yaml_outside_the_subset() {
        assert!(parse("A: {b: 1}\n").is_err());
        assert!(parse("A:\n  B: 1\n    C: 2\n").is_err());
        assert!(parse("A: 1\nA: 2\n").is_err());
    }

    #[test]
    fn quoted_scalars_come_back_unquoted() {
        let node = parse("A:\n  - \"x: y\"\n  - B: !Sub \"niaga-${Env}\"\n").unwrap();
        let Node::Seq(items) = node.get("A").unwrap() else {
            panic!("not a sequence")
        };
        assert_eq!(items[0], Node::Scalar("x: y".into()));
        assert_eq!(items[1].get("B").and_then(Node::as_str), Some("!Sub niaga-${Env}"));
    }
}
