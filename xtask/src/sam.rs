//! `template.yaml` (AWS SAM) generated from the manifest, and the readers the drift test uses to check
//! a template on disk against `niaga.json`.
//!
//! [`render`] describes the same deployment as `terraform/compute` and `terraform/persistence`: one
//! `AWS::Serverless::Function` per manifest function (built by cargo-lambda), its `HttpApi`, `Schedule`
//! and `SQS` events, least-privilege policies, and the manifest's queues (each with a dead-letter queue),
//! secrets and tables. The template is built as a YAML value and written by `serde_norway` (intrinsic functions
//! as the short-form tags `!Ref`, `!Sub` and `!GetAtt`), so the output is valid YAML and byte-for-byte
//! deterministic; the readers below parse it back with the same crate.
//!
//! Logical ids are PascalCase names with a suffix per kind, so kinds never collide:
//! `catalog-api` → `CatalogApiFunction`, queue `erp-sync` → `ErpSyncQueue` and `ErpSyncDeadLetterQueue`,
//! secret `app` → `AppSecret`, table `rate-limits` → `RateLimitsTable`, schedule `warmup` → the event
//! `WarmupSchedule` on every function it targets.

use crate::manifest::{Function, Kind, Manifest, Queue, Table};
use anyhow::{bail, Context, Result};
use serde_norway::value::{Tag, TaggedValue};
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A YAML mapping with its keys in the order written: `map! { "Type" => "String", "Default" => 5 }`.
macro_rules! map {
    ($($key:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = Mapping::new();
        $( m.insert(Value::from($key), Value::from($value)); )*
        m
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
pub fn table_id(name: &str) -> String {
    format!("{}Table", pascal(name))
}

/// The logical id of the exports bucket.
pub const EXPORTS_BUCKET_ID: &str = "ExportsBucket";

/// The logical id of the project's EventBridge bus.
pub const EVENT_BUS_ID: &str = "EventBus";

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

/// A short-form intrinsic function: `!Ref Env`, `!Sub "niaga-${Env}"`, `!GetAtt Queue.Arn`.
fn intrinsic(name: &str, argument: impl Into<Value>) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(name),
        value: argument.into(),
    }))
}

/// `!Ref <name>`: a parameter's value or a resource's id.
fn r(name: &str) -> Value {
    intrinsic("Ref", name)
}

/// `!Sub "niaga-${Env}-<name>"`: a physical name in the deployed environment.
fn sub(template: &str) -> Value {
    intrinsic("Sub", template)
}

/// `!GetAtt <resource>.<attribute>`.
fn get_att(resource: &str, attribute: &str) -> Value {
    intrinsic("GetAtt", format!("{resource}.{attribute}"))
}

/// The physical queue name as a `!Sub` template, matching `queue_physical_name` in the crate root.
fn queue_name_template(name: &str, fifo: bool) -> String {
    format!("niaga-${{Env}}-{name}{}", if fifo { ".fifo" } else { "" })
}

/// Renders `template.yaml` for a manifest. Same manifest, same bytes.
pub fn render(manifest: &Manifest) -> String {
    let mut resources = Mapping::new();
    resources.insert(HTTP_API_ID.into(), http_api(manifest).into());
    for f in &manifest.functions {
        resources.insert(function_id(&f.name).into(), function(manifest, f).into());
    }
    for queue in &manifest.queues {
        let (dlq, main) = queues(queue);
        resources.insert(dlq_id(&queue.name).into(), dlq.into());
        resources.insert(queue_id(&queue.name).into(), main.into());
    }
    for secret in &manifest.secrets {
        let properties = map! {
            "Name" => sub(&format!("niaga/${{Env}}/{}", secret.name)),
            "Description" => secret.description.as_str(),
        };
        resources.insert(
            secret_id(&secret.name).into(),
            retained("AWS::SecretsManager::Secret", properties).into(),
        );
    }
    for table in &manifest.tables {
        resources.insert(table_id(&table.name).into(), dynamodb_table(table).into());
    }
    if manifest.functions.iter().any(|f| f.exports.is_some()) {
        resources.insert(EXPORTS_BUCKET_ID.into(), exports_bucket().into());
    }
    if manifest.functions.iter().any(|f| f.announces) {
        let bus = map! {
            "Type" => "AWS::Events::EventBus",
            "Properties" => map! { "Name" => sub("niaga-${Env}") },
        };
        resources.insert(EVENT_BUS_ID.into(), bus.into());
    }

    let mut template = map! {
        "Transform" => "AWS::Serverless-2016-10-31",
        "Description" => format!("{}: serverless commerce backend (functions from niaga.json)", manifest.project),
        "Parameters" => parameters(),
    };
    if let Some(mappings) = mappings(manifest) {
        template.insert("Mappings".into(), mappings.into());
    }
    template.insert("Conditions".into(), conditions(manifest).into());
    template.insert("Globals".into(), globals(manifest).into());
    template.insert("Resources".into(), resources.into());
    template.insert("Outputs".into(), outputs(manifest).into());

    let yaml = serde_norway::to_string(&template).expect("a YAML value always serialises");
    // The version is written as text, quoted: the serializer follows YAML 1.2, where a bare 2010-09-09 is a string,
    // but YAML 1.1 readers (PyYAML, which the SAM CLI uses) would read it as a date.
    format!(
        "{HEADER}\n# The drift test (xtask/tests/drift.rs) fails when this file, terraform and niaga.json disagree.\n\
         AWSTemplateFormatVersion: \"2010-09-09\"\n{}",
        spaced(&yaml)
    )
}

/// A blank line before each top-level section and before each resource, for the reader's eye. In the block style
/// the serializer writes, a line starting in column 0 is a top-level key (a section when its value follows on the
/// next lines) and, under `Resources:`, a line starting in column 2 is a resource's logical id, so no value's text
/// is touched.
fn spaced(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + yaml.len() / 20);
    let mut section = "";
    for line in yaml.lines() {
        let top = line.starts_with(|c: char| c.is_ascii_alphabetic());
        if top {
            section = line;
        }
        let resource = section == "Resources:"
            && line
                .strip_prefix("  ")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()))
            && !out.ends_with("Resources:\n");
        if (top && line.ends_with(':')) || resource {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A resource whose data outlives a stack deletion or replacement.
fn retained(kind: &str, properties: Mapping) -> Mapping {
    map! {
        "Type" => kind,
        "DeletionPolicy" => "Retain",
        "UpdateReplacePolicy" => "Retain",
        "Properties" => properties,
    }
}

fn exports_bucket() -> Mapping {
    let block_public = [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ]
    .into_iter()
    .map(|k| (Value::from(k), Value::from(true)))
    .collect::<Mapping>();
    retained(
        "AWS::S3::Bucket",
        map! {
            "BucketName" => sub("niaga-${Env}-exports-${AWS::AccountId}"),
            "PublicAccessBlockConfiguration" => block_public,
            "BucketEncryption" => map! {
                "ServerSideEncryptionConfiguration" => vec![map! {
                    "ServerSideEncryptionByDefault" => map! { "SSEAlgorithm" => "AES256" },
                }],
            },
            "LifecycleConfiguration" => map! {
                "Rules" => vec![map! { "Id" => "expire-exports", "Status" => "Enabled", "ExpirationInDays" => 7 }],
            },
        },
    )
}

fn parameters() -> Mapping {
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
    let mut out = Mapping::new();
    for (name, kind, default, description) in params {
        let mut p = map! { "Type" => kind };
        if let Some(default) = default {
            let value = if kind == "Number" {
                Value::from(
                    default
                        .parse::<u64>()
                        .expect("a Number parameter's default is a number"),
                )
            } else {
                Value::from(default)
            };
            p.insert("Default".into(), value);
        }
        match name {
            "Env" => {
                p.insert("AllowedPattern".into(), "^[a-z][a-z0-9]{1,11}$".into());
            }
            "DatabaseTls" => {
                p.insert("AllowedValues".into(), vec!["verify-full"].into());
            }
            "DatabaseCa" | "DatabaseReaderCa" => {
                p.insert("AllowedValues".into(), vec!["rds-proxy", "rds"].into());
            }
            _ => {}
        }
        p.insert("Description".into(), description.into());
        out.insert(name.into(), p.into());
    }
    out
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

fn mappings(manifest: &Manifest) -> Option<Mapping> {
    let envs = cors_envs(manifest);
    if envs.is_empty() {
        return None;
    }
    let origins: Mapping = envs
        .into_iter()
        .map(|(env, origins)| (Value::from(env), map! { "Origins" => origins.to_vec() }.into()))
        .collect();
    Some(map! { "CorsAllowOrigins" => origins })
}

/// `Fn::Equals: [!Ref <parameter>, <value>]`.
fn equals(parameter: &str, value: &str) -> Mapping {
    map! { "Fn::Equals" => vec![r(parameter), value.into()] }
}

fn conditions(manifest: &Manifest) -> Mapping {
    let mut out = Mapping::new();
    let envs = cors_envs(manifest);
    // CORS only where niaga.json allows origins, as terraform's cors_configuration.
    match envs.as_slice() {
        [] => {}
        [(env, _)] => {
            out.insert("HasCors".into(), equals("Env", env).into());
        }
        envs => {
            let any: Vec<Value> = envs.iter().map(|(env, _)| equals("Env", env).into()).collect();
            out.insert("HasCors".into(), map! { "Fn::Or" => any }.into());
        }
    }
    for (condition, parameter) in [("UseEmulator", "AwsEndpointUrl"), ("HasReaderUrl", "DatabaseReaderUrl")] {
        let not_empty = map! { "Fn::Not" => vec![equals(parameter, "")] };
        out.insert(condition.into(), not_empty.into());
    }
    out
}

/// `Fn::If: [<condition>, <then>, <else>]`.
fn if_(condition: &str, then: Value, otherwise: Value) -> Mapping {
    map! { "Fn::If" => vec![Value::from(condition), then, otherwise] }
}

fn globals(manifest: &Manifest) -> Mapping {
    let mut vars = map! {
        "NIAGA_ENV" => r("Env"),
        "NIAGA_APP_SECRET_ID" => sub("niaga/${Env}/app"),
        "NIAGA_DB_SECRET_ID" => sub("niaga/${Env}/database"),
        "NIAGA_PAYMENTS_SECRET_ID" => sub("niaga/${Env}/payments"),
        "NIAGA_OUTBOX_ROUTES" => manifest.outbox_routes().to_string(),
        "NIAGA_ERP_URL" => r("ErpUrl"),
        "NIAGA_PAYMENTS_STATUS_URL" => r("PaymentsStatusUrl"),
    };
    if manifest.functions.iter().any(|f| f.exports.is_some()) {
        vars.insert("NIAGA_EXPORTS_BUCKET".into(), r(EXPORTS_BUCKET_ID));
    }
    vars.extend(map! {
        "DATABASE_URL" => r("DatabaseUrl"),
        "DATABASE_READER_URL" => if_("HasReaderUrl", r("DatabaseReaderUrl"), r("DatabaseUrl")),
        "DATABASE_TLS" => r("DatabaseTls"),
        "DATABASE_CA" => r("DatabaseCa"),
        "DATABASE_READER_CA" => if_("HasReaderUrl", r("DatabaseReaderCa"), r("DatabaseCa")),
        "AWS_ENDPOINT_URL" => if_("UseEmulator", r("AwsEndpointUrl"), r("AWS::NoValue")),
    });
    map! { "Function" => map! { "Environment" => map! { "Variables" => vars } } }
}

fn http_api(manifest: &Manifest) -> Mapping {
    let mut properties = map! {
        "Name" => sub("niaga-${Env}"),
        "DefaultRouteSettings" => map! {
            "ThrottlingRateLimit" => r("ApiThrottlingRateLimit"),
            "ThrottlingBurstLimit" => r("ApiThrottlingBurstLimit"),
        },
    };
    if let Some(cors) = manifest.cors.as_ref().filter(|_| !cors_envs(manifest).is_empty()) {
        let configuration = map! {
            "AllowOrigins" => map! {
                "Fn::FindInMap" => vec![Value::from("CorsAllowOrigins"), r("Env"), "Origins".into()],
            },
            "AllowMethods" => cors.allow_methods.clone(),
            "AllowHeaders" => cors.allow_headers.clone(),
            "ExposeHeaders" => cors.expose_headers.clone(),
            "MaxAge" => cors.max_age_s,
        };
        properties.insert(
            "CorsConfiguration".into(),
            if_("HasCors", configuration.into(), r("AWS::NoValue")).into(),
        );
    }
    map! { "Type" => "AWS::Serverless::HttpApi", "Properties" => properties }
}

/// A SAM policy template applied to one resource: `- <policy>: { <parameter>: <value> }`.
fn policy(name: &str, parameter: &str, value: Value) -> Value {
    map! { name => map! { parameter => value } }.into()
}

fn function(manifest: &Manifest, f: &Function) -> Mapping {
    let mut properties = map! {
        "FunctionName" => sub(&format!("niaga-${{Env}}-{}", f.name)),
        "Description" => f.description.as_str(),
        "CodeUri" => ".",
        "Handler" => "bootstrap",
        "Runtime" => manifest.defaults.runtime.as_str(),
        "Architectures" => vec![manifest.defaults.architecture.as_str()],
        "MemorySize" => f.memory_mb,
        "Timeout" => f.timeout_s,
    };
    if let Some(reserved) = f.reserved_concurrency {
        properties.insert("ReservedConcurrentExecutions".into(), reserved.into());
    }

    // Logs come with SAM's basic execution role; everything else is listed here and nothing more.
    let consumes = f.queue.as_deref().filter(|_| f.kind == Kind::Sqs);
    let mut policies: Vec<Value> = Vec::new();
    for secret in &f.secrets {
        policies.push(policy(
            "AWSSecretsManagerGetSecretValuePolicy",
            "SecretArn",
            r(&secret_id(secret)),
        ));
    }
    if let Some(queue) = consumes {
        policies.push(policy(
            "SQSPollerPolicy",
            "QueueName",
            get_att(&queue_id(queue), "QueueName"),
        ));
    }
    // Outbox relays send to every queue that subscribes to events.
    if f.outbox {
        for queue in manifest.queues.iter().filter(|q| !q.events.is_empty()) {
            policies.push(policy(
                "SQSSendMessagePolicy",
                "QueueName",
                get_att(&queue_id(&queue.name), "QueueName"),
            ));
        }
    }
    for table in &f.tables {
        policies.push(policy("DynamoDBCrudPolicy", "TableName", r(&table_id(table))));
    }
    if f.announces {
        policies.push(policy("EventBridgePutEventsPolicy", "EventBusName", r(EVENT_BUS_ID)));
    }
    if let Some(access) = f.exports {
        let name = match access {
            crate::manifest::Access::Read => "S3ReadPolicy",
            crate::manifest::Access::Write => "S3WritePolicy",
        };
        policies.push(policy(name, "BucketName", r(EXPORTS_BUCKET_ID)));
    }
    if !policies.is_empty() {
        properties.insert("Policies".into(), policies.into());
    }

    let mut events = Mapping::new();
    let mut event_ids = BTreeSet::new();
    for route in &f.routes {
        let base = route_event_id(&route.method, &route.path);
        let mut id = base.clone();
        let mut n = 2;
        while !event_ids.insert(id.clone()) {
            id = format!("{base}{n}");
            n += 1;
        }
        let event = map! {
            "Type" => "HttpApi",
            "Properties" => map! {
                "ApiId" => r(HTTP_API_ID),
                "Method" => route.method.as_str(),
                "Path" => route.path.as_str(),
                "PayloadFormatVersion" => "2.0",
            },
        };
        events.insert(id.into(), event.into());
    }
    for schedule in manifest.schedules.iter().filter(|s| s.targets.contains(&f.name)) {
        let mut props = map! {
            "Schedule" => schedule.expression.as_str(),
            "Description" => format!("{} ({})", schedule.description, schedule.wib),
        };
        if let Some(input) = &schedule.input {
            props.insert("Input".into(), input.to_string().into());
        }
        let event = map! { "Type" => "Schedule", "Properties" => props };
        events.insert(schedule_event_id(&schedule.name).into(), event.into());
    }
    if let Some(queue) = consumes {
        let mut props = map! { "Queue" => get_att(&queue_id(queue), "Arn") };
        if let Some(batch) = f.batch_size {
            props.insert("BatchSize".into(), batch.into());
        }
        props.insert("FunctionResponseTypes".into(), vec!["ReportBatchItemFailures"].into());
        if let Some(max) = f.max_concurrency {
            props.insert("ScalingConfig".into(), map! { "MaximumConcurrency" => max }.into());
        }
        let event = map! { "Type" => "SQS", "Properties" => props };
        events.insert(queue_id(queue).into(), event.into());
    }
    if !events.is_empty() {
        properties.insert("Events".into(), events.into());
    }

    map! {
        "Type" => "AWS::Serverless::Function",
        "Metadata" => map! {
            "BuildMethod" => "rust-cargolambda",
            "BuildProperties" => map! { "Binary" => f.name.as_str() },
        },
        "Properties" => properties,
    }
}

/// A queue's dead-letter queue and the queue itself.
fn queues(queue: &Queue) -> (Mapping, Mapping) {
    let mut dlq = map! { "QueueName" => sub(&queue_name_template(&format!("{}-dlq", queue.name), queue.fifo)) };
    let mut main = map! { "QueueName" => sub(&queue_name_template(&queue.name, queue.fifo)) };
    if queue.fifo {
        dlq.insert("FifoQueue".into(), true.into());
        main.insert("FifoQueue".into(), true.into());
    }
    dlq.extend(map! { "MessageRetentionPeriod" => 1_209_600, "SqsManagedSseEnabled" => true });
    main.extend(map! {
        "VisibilityTimeout" => queue.visibility_timeout_s,
        "SqsManagedSseEnabled" => true,
        "RedrivePolicy" => map! {
            "deadLetterTargetArn" => get_att(&dlq_id(&queue.name), "Arn"),
            "maxReceiveCount" => queue.max_receive_count,
        },
    });
    let resource = |properties: Mapping| map! { "Type" => "AWS::SQS::Queue", "Properties" => properties };
    (resource(dlq), resource(main))
}

fn dynamodb_table(table: &Table) -> Mapping {
    let keys: Vec<(&str, &str)> = std::iter::once((table.hash_key.as_str(), "HASH"))
        .chain(table.range_key.as_deref().map(|k| (k, "RANGE")))
        .collect();
    let mut properties = map! {
        "TableName" => sub(&format!("niaga-${{Env}}-{}", table.name)),
        "BillingMode" => "PAY_PER_REQUEST",
        "AttributeDefinitions" => keys.iter()
            .map(|(name, _)| map! { "AttributeName" => *name, "AttributeType" => "S" })
            .collect::<Vec<_>>(),
        "KeySchema" => keys.iter()
            .map(|(name, kind)| map! { "AttributeName" => *name, "KeyType" => *kind })
            .collect::<Vec<_>>(),
    };
    if let Some(ttl) = &table.ttl_attribute {
        properties.insert(
            "TimeToLiveSpecification".into(),
            map! { "AttributeName" => ttl.as_str(), "Enabled" => true }.into(),
        );
    }
    properties.extend(map! {
        "PointInTimeRecoverySpecification" => map! { "PointInTimeRecoveryEnabled" => true },
        "SSESpecification" => map! { "SSEEnabled" => true },
    });
    retained("AWS::DynamoDB::Table", properties)
}

fn outputs(manifest: &Manifest) -> Mapping {
    let mut out = map! {
        "ApiEndpoint" => map! {
            "Description" => "Base URL of the HTTP API.",
            "Value" => get_att(HTTP_API_ID, "ApiEndpoint"),
        },
    };
    for queue in &manifest.queues {
        let output = map! {
            "Description" => format!("URL of the {} queue.", queue.name),
            "Value" => r(&queue_id(&queue.name)),
        };
        out.insert(format!("{}Url", queue_id(&queue.name)).into(), output.into());
    }
    out
}

// --- Reading a template back -------------------------------------------------------------------------

/// Parses a template with the same crate that wrote it.
pub fn parse(yaml: &str) -> Result<Value> {
    serde_norway::from_str(yaml).context("template.yaml is not valid YAML")
}

/// The argument of an intrinsic function, in either form CloudFormation accepts: the short-form tag
/// (`!GetAtt X.Arn`) or the long-form mapping (`Fn::GetAtt: X.Arn`, `Ref: X`).
fn intrinsic_argument<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    if let Value::Tagged(tagged) = value {
        return (tagged.tag == Tag::new(name)).then_some(&tagged.value);
    }
    let long = if name == "Ref" {
        name.to_string()
    } else {
        format!("Fn::{name}")
    };
    match value.as_mapping()? {
        m if m.len() == 1 => m.get(long.as_str()),
        _ => None,
    }
}

/// Follows a path of mapping keys.
fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// The serverless functions of a parsed template: (logical id, binary name, resource).
fn functions(template: &Value) -> Result<Vec<(&str, String, &Value)>> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .context("the template has no Resources")?;
    let mut out = Vec::new();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().context("a resource's logical id is not a string")?;
        let binary = at(resource, &["Metadata", "BuildProperties", "Binary"])
            .and_then(Value::as_str)
            .with_context(|| format!("{id} has no Metadata.BuildProperties.Binary"))?;
        out.push((id, binary.to_string(), resource));
    }
    Ok(out)
}

/// Events of one type on a function: (event name, its Properties).
fn events<'a>(function: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    at(function, &["Properties", "Events"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some(kind))
        .filter_map(|(name, e)| Some((name.as_str()?, e.get("Properties")?)))
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
                .and_then(Value::as_str)
                .with_context(|| format!("{id}.{event}: no Method"))?;
            let path = props
                .get("Path")
                .and_then(Value::as_str)
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
                .and_then(Value::as_str)
                .with_context(|| format!("{id}.{event}: no Schedule"))?;
            let input = props.get("Input").and_then(Value::as_str).map(str::to_string);
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
            let queue = props.get("Queue").with_context(|| format!("{id}.{event}: no Queue"))?;
            let queue_id = intrinsic_argument(queue, "GetAtt")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_suffix(".Arn"))
                .with_context(|| format!("{id}.{event}: Queue is {queue:?}, not !GetAtt <queue>.Arn"))?;
            let queue_name = at(resources, &[queue_id, "Properties", "QueueName"])
                .with_context(|| format!("{id}.{event}: no queue resource {queue_id} with a QueueName"))?;
            let name = intrinsic_argument(queue_name, "Sub")
                .and_then(Value::as_str)
                .and_then(|n| n.strip_prefix("niaga-${Env}-"))
                .map(|n| n.strip_suffix(".fifo").unwrap_or(n))
                .with_context(|| format!("{queue_id}: QueueName {queue_name:?} is not !Sub niaga-${{Env}}-<name>"))?;
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
    fn the_template_is_yaml_with_short_form_intrinsics_under_its_header() {
        let yaml = render(&manifest());
        let template = parse(&yaml).unwrap();
        assert_eq!(template["AWSTemplateFormatVersion"].as_str(), Some("2010-09-09"));
        let function = &template["Resources"]["CatalogApiFunction"]["Properties"];
        assert_eq!(function["Description"].as_str(), Some("Reads \"quoted\": yes"));
        assert_eq!(function["FunctionName"], sub("niaga-${Env}-catalog-api"));
        assert!(yaml.contains("FunctionName: !Sub niaga-${Env}-catalog-api\n"), "{yaml}");
        assert!(yaml.contains("SecretArn: !Ref AppSecret\n"), "{yaml}");
        assert!(yaml.contains("Queue: !GetAtt ErpSyncQueue.Arn\n"), "{yaml}");
    }

    #[test]
    fn the_readers_accept_long_form_intrinsics_too() {
        let long = render(&manifest()).replace(
            "Queue: !GetAtt ErpSyncQueue.Arn",
            "Queue:\n              Fn::GetAtt: ErpSyncQueue.Arn",
        );
        assert!(long.contains("Fn::GetAtt: ErpSyncQueue.Arn"));
        let consumers = queue_consumers_in_template(&long).unwrap();
        assert_eq!(consumers["erp-sync"], BTreeSet::from(["erp-sync-worker".to_string()]));
    }

    #[test]
    fn a_template_that_is_not_yaml_is_refused() {
        assert!(parse("A: [1\n").is_err());
        assert!(parse("A:\n  B: 1\n C: 2\n").is_err());
        assert!(routes_in_template("A: 1\n").is_err());
    }
}
