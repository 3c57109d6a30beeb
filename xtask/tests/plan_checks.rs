//! Checks on offline plans of the terraform layers (`terraform show -json`), written from what AWS documents
//! (summarised, with sources, in the world facts the project keeps), not from how Niaga's terraform is written:
//!
//! 1. A VPC-attached function reaches only what its subnets route to (Lambda, "Enable internet access for VPC
//!    functions"): every AWS service a function's policy lets it call must be reachable from the function's
//!    subnets through a VPC endpoint (gateway endpoints exist only for S3 and DynamoDB; SQS, Secrets Manager,
//!    EventBridge and the rest need interface endpoints with private DNS) or a NAT route, and every function
//!    that calls outside AWS needs a route to a NAT gateway in a public subnet.
//! 2. Provisioned concurrency lives on an alias, so every invoker (API integrations, schedule targets, queue
//!    mappings, provisioned concurrency, invoke permissions) must name the same alias.
//! 3. CloudWatch alarms can publish to an encrypted SNS topic only with a customer-managed key whose key policy
//!    lets `cloudwatch.amazonaws.com` use `kms:GenerateDataKey*` and `kms:Decrypt` (the key policy of
//!    `alias/aws/sns` cannot be changed), and a topic policy allowing it `sns:Publish` (SNS, "Key management",
//!    compatibility with AWS services).
//! 4. Behind CloudFront the API sees the edge's address: either the execute-api endpoint is disabled, or
//!    CloudFront sends a secret origin header the functions check; and per-source budgets need the viewer's
//!    address, which CloudFront forwards as `CloudFront-Viewer-Address` through an origin request policy.
//!
//! 5. Lambda itself uses the execution role for two things no code of Niaga calls, so no local test can show they
//!    are missing: writing the function's logs (`logs:CreateLogStream`, `logs:PutLogEvents` on its log group, the
//!    grants of `AWSLambdaBasicExecutionRole`; the group must exist, since `logs:CreateLogGroup` is not granted),
//!    and an SQS event-source mapping's polling (`sqs:ReceiveMessage`, `sqs:DeleteMessage`,
//!    `sqs:GetQueueAttributes` on the queue, the grants of `AWSLambdaSQSQueueExecutionRole`; Lambda, "Execution
//!    role permissions" for SQS). The IAM mutation test leaves the log grants to this check.
//!
//! Every plan is made offline, from the provider mirror, like the drift test's.

mod common;

use common::plan::{self, manifest, planned, references, strings, text, unknown, PLAN_ENV};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use xtask::manifest::Kind;

// --- plans ---------------------------------------------------------------------------------------------

/// Subnets and security groups the compute layer is given, as the network layer's outputs would be in production.
const FUNCTION_SUBNETS: [&str; 2] = ["subnet-0functions0a", "subnet-0functions0b"];

fn cached(
    cell: &'static OnceLock<Result<Value, String>>,
    make: impl FnOnce() -> Result<Value, String>,
) -> &'static Value {
    match cell.get_or_init(make) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    }
}

/// The compute layer as production plans it: inside the VPC, behind CloudFront, with the ERP and the payment
/// gateway's status API configured.
fn compute() -> &'static Value {
    static PLAN: OnceLock<Result<Value, String>> = OnceLock::new();
    cached(&PLAN, || {
        plan::plan(
            "compute",
            &plan::compute_vars(json!({
                "lambda_subnet_ids": FUNCTION_SUBNETS,
                "lambda_security_group_ids": ["sg-0functions"],
                "lambda_egress_security_group_ids": ["sg-0functionsegress"],
                "cdn_enabled": true,
                "erp_url": "https://erp.example.test",
                "payments_status_url": "https://api.sandbox.midtrans.com",
            })),
        )
    })
}

fn network() -> &'static Value {
    static PLAN: OnceLock<Result<Value, String>> = OnceLock::new();
    cached(&PLAN, || {
        plan::plan(
            "network",
            &json!({
                "env": PLAN_ENV, "region": "us-east-1", "aws_endpoint": "http://127.0.0.1:9",
                "availability_zones": ["us-east-1a", "us-east-1b"],
            }),
        )
    })
}

fn observability() -> &'static Value {
    static PLAN: OnceLock<Result<Value, String>> = OnceLock::new();
    cached(&PLAN, || {
        plan::plan(
            "observability",
            &json!({
                "env": PLAN_ENV, "region": "us-east-1", "aws_endpoint": "http://127.0.0.1:9",
                "account_id": plan::PLAN_ACCOUNT,
            }),
        )
    })
}

/// `aws_route_table.private[0]` and `aws_route_table.private.id` both name the resource `aws_route_table.private`.
fn resource_of(reference: &str) -> Option<String> {
    let mut parts = reference.split('.');
    let (kind, name) = (parts.next()?, parts.next()?);
    if !kind.starts_with("aws_") {
        return None;
    }
    Some(format!("{kind}.{}", name.split('[').next().unwrap_or(name)))
}

/// The resources (`type.name`) an attribute of a configured resource refers to.
fn refers_to(config: &Value, attribute: &str) -> BTreeSet<String> {
    config["expressions"][attribute]["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| resource_of(r.as_str()?))
        .collect()
}

fn configured(plan: &Value, kind: &str) -> Vec<Value> {
    plan["configuration"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == kind && r["mode"] == "managed")
        .cloned()
        .collect()
}

fn address(config: &Value) -> String {
    format!("{}.{}", text(&config["type"]), text(&config["name"]))
}

/// Planned instances of a configured resource (`type.name`).
fn instances(plan: &Value, resource: &str) -> Vec<Value> {
    let kind = resource.split('.').next().unwrap_or_default();
    planned(plan, kind)
        .into_iter()
        .filter(|r| format!("{}.{}", text(&r["type"]), text(&r["name"])) == resource)
        .collect()
}

// --- 1. egress --------------------------------------------------------------------------------------------

/// The AWS service of an IAM action (`sqs:SendMessage` => `sqs`).
fn service(action: &str) -> String {
    action.split(':').next().unwrap_or(action).to_lowercase()
}

/// Function name => the AWS services its own policy lets it call, from the same rendered policies the least-
/// privilege checks read. `logs` is left out: the function writes to stdout, and the Lambda service (not the
/// code) delivers those lines to CloudWatch Logs with the execution role's permissions ("Lambda automatically
/// captures logs for all function invocations and sends them to CloudWatch Logs",
/// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html); EMF metrics travel the same way.
fn services_called() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in planned(compute(), "aws_iam_role_policy") {
        let function = text(&p["index"]);
        let doc: Value = serde_json::from_str(
            p["values"]["policy"]
                .as_str()
                .expect("the policy is known at plan time"),
        )
        .expect("the policy is JSON");
        let entry = out.entry(function).or_default();
        for s in doc["Statement"].as_array().into_iter().flatten() {
            for a in strings(&s["Action"]) {
                let svc = service(&a);
                if svc != "logs" {
                    entry.insert(svc);
                }
            }
        }
    }
    out
}

/// Functions whose crate depends on an HTTP client for something outside AWS: the ERP's client (`erp`), the
/// payment gateway's (`midtrans`), or a plain HTTP client (`reqwest`: the agents' webhooks). The AWS SDK is not
/// one of them.
fn calls_outside_aws_by_their_crates() -> BTreeSet<String> {
    let root = xtask::workspace_root();
    let mut out = BTreeSet::new();
    for f in &manifest().functions {
        let path = root.join("functions").join(&f.name).join("Cargo.toml");
        let Ok(toml) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut in_deps = false;
        for line in toml.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
                continue;
            }
            let key = line.split(['=', '.', ' ']).next().unwrap_or_default();
            if in_deps && ["erp", "midtrans", "reqwest"].contains(&key) {
                out.insert(f.name.clone());
            }
        }
    }
    out
}

/// What the network layer offers the subnets it hands to the functions.
#[derive(Debug, Default)]
struct Reach {
    /// A route for 0.0.0.0/0 to a NAT gateway that sits in a subnet routed to an internet gateway.
    nat: bool,
    /// Services with a gateway endpoint on the subnets' route tables.
    gateway: BTreeSet<String>,
    /// Services with an interface endpoint (private DNS on) whose security group admits HTTPS from the subnets.
    interface: BTreeSet<String>,
}

impl Reach {
    fn reaches(&self, service: &str) -> bool {
        // Gateway endpoints exist only for S3 and DynamoDB.
        self.nat
            || self.interface.contains(service)
            || (self.gateway.contains(service) && ["s3", "dynamodb"].contains(&service))
    }
}

/// Route tables (`aws_route_table.x`) associated with a subnet resource.
fn route_tables_of(plan: &Value, subnet: &str) -> BTreeSet<String> {
    configured(plan, "aws_route_table_association")
        .iter()
        .filter(|a| refers_to(a, "subnet_id").contains(subnet))
        .flat_map(|a| refers_to(a, "route_table_id"))
        .collect()
}

/// Route `destination` => what it points at (resources), for a route table, from `aws_route` resources and
/// inline `route` blocks.
fn routes_of(plan: &Value, table: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let targets = |c: &Value| -> BTreeSet<String> {
        ["nat_gateway_id", "gateway_id"]
            .iter()
            .flat_map(|k| refers_to(c, k))
            .collect()
    };
    for r in configured(plan, "aws_route") {
        if refers_to(&r, "route_table_id").contains(table) {
            let dest = r["expressions"]["destination_cidr_block"]["constant_value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            out.push((dest, targets(&r)));
        }
    }
    if let Some(t) = configured(plan, "aws_route_table").iter().find(|t| address(t) == table) {
        for route in t["expressions"]["route"].as_array().into_iter().flatten() {
            let dest = route["cidr_block"]["constant_value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let wrapped = json!({ "expressions": route });
            out.push((dest, targets(&wrapped)));
        }
    }
    out
}

fn routes_to_internet_gateway(plan: &Value, subnet: &str) -> bool {
    route_tables_of(plan, subnet).iter().any(|t| {
        routes_of(plan, t)
            .iter()
            .any(|(dest, to)| dest == "0.0.0.0/0" && to.iter().any(|r| r.starts_with("aws_internet_gateway.")))
    })
}

fn routes_to_public_nat(plan: &Value, table: &str) -> bool {
    routes_of(plan, table).iter().any(|(dest, to)| {
        dest == "0.0.0.0/0"
            && to.iter().filter(|r| r.starts_with("aws_nat_gateway.")).any(|nat| {
                let Some(config) = configured(plan, "aws_nat_gateway")
                    .into_iter()
                    .find(|n| address(n) == *nat)
                else {
                    return false;
                };
                let private = instances(plan, nat)
                    .iter()
                    .any(|n| n["values"]["connectivity_type"] == "private");
                !private
                    && refers_to(&config, "subnet_id")
                        .iter()
                        .all(|s| routes_to_internet_gateway(plan, s))
                    && !refers_to(&config, "subnet_id").is_empty()
            })
    })
}

/// IPv4 `a.b.c.d/n` as (network, prefix length).
fn cidr(s: &str) -> Option<(u32, u32)> {
    let (ip, len) = s.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(ip), len.parse().ok()?))
}

fn cidr_contains(outer: &str, inner: &str) -> bool {
    let (Some((o, ol)), Some((i, il))) = (cidr(outer), cidr(inner)) else {
        return false;
    };
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
    ol <= il && (o & mask) == (i & mask)
}

/// Every instance of the security group admits HTTPS from all the `sources` CIDRs.
fn admits_https_from(plan: &Value, security_group: &str, sources: &[String]) -> bool {
    !sources.is_empty()
        && instances(plan, security_group).iter().all(|sg| {
            sg["values"]["ingress"].as_array().into_iter().flatten().any(|rule| {
                let port =
                    rule["from_port"].as_i64().unwrap_or(-1) <= 443 && rule["to_port"].as_i64().unwrap_or(-1) >= 443;
                let tcp = matches!(rule["protocol"].as_str(), Some("tcp") | Some("-1") | Some("6"));
                let by_cidr = sources
                    .iter()
                    .all(|s| strings(&rule["cidr_blocks"]).iter().any(|c| cidr_contains(c, s)));
                port && tcp && by_cidr
            })
        })
}

fn reach_of_function_subnets(plan: &Value) -> (BTreeSet<String>, Reach) {
    let outputs = &plan["configuration"]["root_module"]["outputs"];
    let subnets: BTreeSet<String> = outputs["compute_inputs"]["expression"]["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| resource_of(r.as_str()?))
        .filter(|r| r.starts_with("aws_subnet."))
        .collect();
    let tables: BTreeSet<String> = subnets.iter().flat_map(|s| route_tables_of(plan, s)).collect();
    let cidrs: Vec<String> = subnets
        .iter()
        .flat_map(|s| instances(plan, s))
        .map(|s| text(&s["values"]["cidr_block"]))
        .collect();

    let mut reach = Reach {
        nat: !tables.is_empty() && tables.iter().all(|t| routes_to_public_nat(plan, t)),
        ..Reach::default()
    };
    for config in configured(plan, "aws_vpc_endpoint") {
        for e in instances(plan, &address(&config)) {
            let v = &e["values"];
            let svc = text(&v["service_name"])
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_string();
            match v["vpc_endpoint_type"].as_str() {
                Some("Gateway") => {
                    let on = refers_to(&config, "route_table_ids");
                    let associated: BTreeSet<String> = configured(plan, "aws_vpc_endpoint_route_table_association")
                        .iter()
                        .filter(|a| refers_to(a, "vpc_endpoint_id").contains(&address(&config)))
                        .flat_map(|a| refers_to(a, "route_table_id"))
                        .collect();
                    if !tables.is_empty() && tables.iter().all(|t| on.contains(t) || associated.contains(t)) {
                        reach.gateway.insert(svc);
                    }
                }
                Some("Interface") => {
                    let dns = v["private_dns_enabled"] == Value::Bool(true);
                    let groups = refers_to(&config, "security_group_ids");
                    let admitted = !groups.is_empty() && groups.iter().all(|g| admits_https_from(plan, g, &cidrs));
                    if dns && admitted {
                        reach.interface.insert(svc);
                    }
                }
                _ => {}
            }
        }
    }
    (subnets, reach)
}

#[test]
fn every_aws_service_a_function_calls_and_the_outside_world_where_it_calls_out_are_reachable_from_its_subnets() {
    let manifest = manifest();
    let (subnets, reach) = reach_of_function_subnets(network());
    assert!(
        !subnets.is_empty(),
        "terraform/network hands the functions no subnets (its compute_inputs output names no aws_subnet)"
    );

    // Every function runs in the subnets it is given.
    for f in planned(compute(), "aws_lambda_function") {
        let subnets_given: BTreeSet<String> = f["values"]["vpc_config"][0]["subnet_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        assert_eq!(
            subnets_given,
            FUNCTION_SUBNETS.iter().map(|s| s.to_string()).collect(),
            "{} does not run in the functions' subnets",
            f["index"]
        );
    }

    let mut missing = Vec::new();
    for (function, services) in services_called() {
        for s in services {
            if !reach.reaches(&s) {
                missing.push(format!("{function} calls {s}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no VPC endpoint or NAT route from the functions' subnets ({subnets:?}; {reach:?}) for:\n  {}",
        missing.join("\n  ")
    );

    // Who calls outside AWS: the manifest says so, and the functions' HTTP clients agree.
    let declared: BTreeSet<String> = manifest
        .functions
        .iter()
        .filter(|f| !f.egress.is_empty())
        .map(|f| f.name.clone())
        .collect();
    let by_crates = calls_outside_aws_by_their_crates();
    let undeclared: Vec<&String> = by_crates.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "these functions call outside AWS (their crates use an outside HTTP client) but niaga.json gives them no \
         `egress`: {undeclared:?}"
    );
    let callers: BTreeSet<&String> = declared.iter().chain(&by_crates).collect();
    assert!(
        reach.nat,
        "{callers:?} call outside AWS, but the functions' subnets ({subnets:?}) have no 0.0.0.0/0 route to a NAT \
         gateway in a subnet routed to an internet gateway"
    );
}

#[test]
fn the_functions_that_call_outside_aws_may_send_https_anywhere_and_the_others_only_inside_the_vpc() {
    let manifest = manifest();
    let net = network();
    // In the network layer: one functions' security group opens 443 to the internet, another does not.
    let groups = planned(net, "aws_security_group");
    let open = |sg: &Value| {
        sg["values"]["egress"].as_array().into_iter().flatten().any(|r| {
            r["from_port"].as_i64().unwrap_or(-1) <= 443
                && r["to_port"].as_i64().unwrap_or(-1) >= 443
                && strings(&r["cidr_blocks"]).iter().any(|c| c == "0.0.0.0/0")
        })
    };
    assert!(
        groups.iter().any(open),
        "no security group lets the functions that call outside AWS send HTTPS out"
    );
    // In the compute layer: the functions with `egress` get the security groups for it, the others do not.
    for f in planned(compute(), "aws_lambda_function") {
        let name = text(&f["index"]);
        let spec = manifest
            .functions
            .iter()
            .find(|m| m.name == name)
            .expect("a manifest function");
        let sgs: BTreeSet<String> = strings(&f["values"]["vpc_config"][0]["security_group_ids"])
            .into_iter()
            .collect();
        assert_eq!(
            sgs.contains("sg-0functionsegress"),
            !spec.egress.is_empty(),
            "{name}: egress security group (its security groups: {sgs:?})"
        );
    }
}

// --- 2. one alias --------------------------------------------------------------------------------------

/// The qualifier of a Lambda function ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`).
fn qualifier_of_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 8).then(|| parts[7].to_string())
}

/// What a function reference names: the qualifier (`Some(alias)`) or the unqualified function (`None`), read
/// from the planned value when known, else from what the configuration refers to.
fn qualifier(plan: &Value, resource: &Value, attribute: &str) -> Result<Option<String>, String> {
    let value = &resource["values"][attribute];
    if !unknown(plan, resource, attribute) {
        let s = value.as_str().unwrap_or_default();
        return Ok(match (attribute, s) {
            (_, "") => None,
            ("qualifier", q) => Some(q.to_string()),
            ("integration_uri", uri) => uri
                .split("/functions/")
                .nth(1)
                .and_then(|rest| rest.strip_suffix("/invocations"))
                .and_then(qualifier_of_arn),
            ("resource_id", id) => {
                let parts: Vec<&str> = id.split(':').collect();
                (parts.len() == 3 && parts[0] == "function").then(|| parts[2].to_string())
            }
            (_, arn) if arn.starts_with("arn:") => qualifier_of_arn(arn),
            (_, name) => name.split_once(':').map(|(_, q)| q.to_string()),
        });
    }
    let refs = references(plan, resource, attribute);
    let functions: Vec<&String> = refs.iter().filter(|r| r.starts_with("aws_lambda_function.")).collect();
    let aliases: BTreeSet<String> = refs
        .iter()
        .filter(|r| r.starts_with("aws_lambda_alias."))
        .filter_map(|r| resource_of(r))
        .collect();
    if !functions.is_empty() || aliases.is_empty() {
        return Err(format!("names {refs:?}, not only an alias"));
    }
    let names: BTreeSet<String> = aliases
        .iter()
        .flat_map(|a| instances(plan, a))
        .map(|a| text(&a["values"]["name"]))
        .collect();
    match names.len() {
        1 => Ok(names.into_iter().next()),
        _ => Err(format!("names aliases {aliases:?} called {names:?}")),
    }
}

#[test]
fn every_invoker_names_the_same_alias() {
    let plan = compute();
    let manifest = manifest();
    let mut named: BTreeMap<String, Result<Option<String>, String>> = BTreeMap::new();
    let mut look = |kind: &str, attribute: &str, keep: &dyn Fn(&Value) -> bool| {
        for r in planned(plan, kind).iter().filter(|r| keep(r)) {
            named.insert(
                format!("{} ({attribute})", text(&r["address"])),
                qualifier(plan, r, attribute),
            );
        }
    };
    look("aws_apigatewayv2_integration", "integration_uri", &|_| true);
    look("aws_cloudwatch_event_target", "arn", &|_| true);
    look("aws_lambda_event_source_mapping", "function_name", &|_| true);
    look("aws_lambda_permission", "qualifier", &|_| true);
    look("aws_lambda_provisioned_concurrency_config", "qualifier", &|_| true);
    look("aws_appautoscaling_target", "resource_id", &|r| {
        r["values"]["service_namespace"] == "lambda"
    });

    // Everything the manifest says invokes a function is there to be checked.
    let http = manifest.functions.iter().filter(|f| f.kind == Kind::Http).count();
    let sqs = manifest.functions.iter().filter(|f| f.kind == Kind::Sqs).count();
    let targets: usize = manifest.schedules.iter().map(|s| s.targets.len()).sum();
    let count = |kind: &str| named.keys().filter(|k| k.starts_with(kind)).count();
    assert_eq!(
        count("aws_apigatewayv2_integration."),
        http,
        "one integration per http function"
    );
    assert_eq!(
        count("aws_cloudwatch_event_target."),
        targets,
        "one target per schedule target"
    );
    assert_eq!(
        count("aws_lambda_event_source_mapping."),
        sqs,
        "one mapping per sqs function"
    );
    assert!(
        count("aws_lambda_permission.") >= http + targets,
        "a permission per API function and schedule target"
    );
    assert!(
        count("aws_appautoscaling_target.") + count("aws_lambda_provisioned_concurrency_config.") > 0,
        "provisioned concurrency is planned"
    );

    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (invoker, q) in &named {
        match q {
            Ok(Some(alias)) => aliases.entry(alias.clone()).or_default().push(invoker.clone()),
            Ok(None) => wrong.push(format!("{invoker}: the unqualified function ($LATEST)")),
            Err(e) => wrong.push(format!("{invoker}: {e}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "invokers that name no alias:\n  {}",
        wrong.join("\n  ")
    );
    assert_eq!(aliases.len(), 1, "invokers name different aliases: {aliases:#?}");
}

// --- 3. alarms reach their topic --------------------------------------------------------------------------

fn policy_statements(policy: &Value) -> Vec<Value> {
    let doc: Value = match policy.as_str() {
        Some(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        None => Value::Null,
    };
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![doc["Statement"].clone()],
        _ => Vec::new(),
    }
}

/// `pattern` (IAM action glob, `*` only) matches `action`, case-insensitively.
fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_lowercase(), action.to_lowercase());
    match p.split_once('*') {
        None => p == a,
        Some((head, tail)) => a.starts_with(head) && a[head.len()..].ends_with(tail.trim_start_matches('*')),
    }
}

fn allows_service(s: &Value, service: &str, actions: &[&str]) -> bool {
    s["Effect"] == "Allow"
        && strings(&s["Principal"]["Service"]).iter().any(|p| p == service)
        && actions
            .iter()
            .all(|want| strings(&s["Action"]).iter().any(|a| action_matches(a, want)))
}

#[test]
fn every_topic_an_alarm_notifies_uses_a_customer_managed_key_cloudwatch_may_use() {
    let plan = observability();
    let mut topics = BTreeSet::new();
    for alarm in planned(plan, "aws_cloudwatch_metric_alarm") {
        for r in references(plan, &alarm, "alarm_actions") {
            if let Some(t) = resource_of(&r).filter(|t| t.starts_with("aws_sns_topic.")) {
                topics.insert(t);
            }
        }
    }
    assert!(!topics.is_empty(), "no alarm notifies an SNS topic of this layer");
    for topic in &topics {
        for t in instances(plan, topic) {
            let key = &t["values"]["kms_master_key_id"];
            assert!(
                unknown(plan, &t, "kms_master_key_id") || !key.is_null(),
                "{topic} is not encrypted with a key of this layer ({key})"
            );
            assert!(
                !text(key).starts_with("alias/aws/"),
                "{topic} uses the AWS managed key {key}: its key policy cannot let CloudWatch use it"
            );
            // The key, directly or through an alias.
            let mut keys: BTreeSet<String> = BTreeSet::new();
            for r in references(plan, &t, "kms_master_key_id")
                .iter()
                .filter_map(|r| resource_of(r))
            {
                if r.starts_with("aws_kms_key.") {
                    keys.insert(r);
                } else if r.starts_with("aws_kms_alias.") {
                    if let Some(a) = configured(plan, "aws_kms_alias").into_iter().find(|a| address(a) == r) {
                        keys.extend(
                            refers_to(&a, "target_key_id")
                                .into_iter()
                                .filter(|k| k.starts_with("aws_kms_key.")),
                        );
                    }
                }
            }
            assert!(
                !keys.is_empty(),
                "{topic}: its key ({key}) is not a customer-managed key of this layer"
            );
            for k in instances_of_all(plan, &keys) {
                assert_eq!(k["values"]["enable_key_rotation"], true, "{topic}: key rotation is off");
                let statements = policy_statements(&k["values"]["policy"]);
                assert!(
                    !statements.is_empty(),
                    "{topic}: the key policy is not known at plan time"
                );
                let cloudwatch = statements.iter().find(|s| {
                    allows_service(s, "cloudwatch.amazonaws.com", &["kms:GenerateDataKey", "kms:Decrypt"])
                        && strings(&s["Resource"]).iter().any(|r| r == "*")
                });
                let Some(s) = cloudwatch else {
                    panic!("{topic}: the key policy does not let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt");
                };
                let conditioned = s["Condition"]
                    .as_object()
                    .into_iter()
                    .flat_map(|ops| ops.values())
                    .any(|c| {
                        c.as_object().is_some_and(|m| {
                            m.keys().any(|k| {
                                k.eq_ignore_ascii_case("aws:SourceAccount") || k.eq_ignore_ascii_case("aws:SourceArn")
                            })
                        })
                    });
                assert!(
                    conditioned,
                    "{topic}: CloudWatch's use of the key is not limited by aws:SourceAccount or aws:SourceArn"
                );
            }
            // The topic policy lets CloudWatch publish.
            let publishes = configured(plan, "aws_sns_topic_policy")
                .iter()
                .filter(|p| refers_to(p, "arn").contains(topic))
                .flat_map(|p| instances(plan, &address(p)))
                .flat_map(|p| policy_statements(&p["values"]["policy"]))
                .any(|s| allows_service(&s, "cloudwatch.amazonaws.com", &["sns:Publish"]));
            assert!(
                publishes,
                "{topic}: no topic policy allows cloudwatch.amazonaws.com to sns:Publish"
            );
        }
    }
}

fn instances_of_all(plan: &Value, resources: &BTreeSet<String>) -> Vec<Value> {
    resources.iter().flat_map(|r| instances(plan, r)).collect()
}

#[test]
fn an_alarm_watches_the_api_answering_5xx() {
    // A handled 500 or 503 is a successful invocation to Lambda, so the functions' Errors metric never sees it.
    let manifest = manifest();
    let alarms = planned(observability(), "aws_cloudwatch_metric_alarm");
    let metrics: Vec<(String, String, BTreeMap<String, String>)> = alarms
        .iter()
        .flat_map(|a| {
            let v = &a["values"];
            let mut found = vec![(&v["namespace"], &v["metric_name"], &v["dimensions"])];
            for q in v["metric_query"].as_array().into_iter().flatten() {
                let m = &q["metric"][0];
                found.push((&m["namespace"], &m["metric_name"], &m["dimensions"]));
            }
            found
                .into_iter()
                .filter(|(ns, _, _)| ns.is_string())
                .map(|(ns, m, d)| {
                    let dims = d
                        .as_object()
                        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                        .unwrap_or_default();
                    (text(ns), text(m), dims)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let api = metrics.iter().any(|(ns, m, _)| ns == "AWS/ApiGateway" && m == "5xx");
    let every_function = manifest.functions.iter().filter(|f| f.kind == Kind::Http).all(|f| {
        metrics
            .iter()
            .any(|(ns, m, d)| ns == "Niaga" && m == "errors_5xx" && d.get("function") == Some(&f.name))
    });
    assert!(
        api || every_function,
        "no alarm on the API's 5xx (AWS/ApiGateway 5xx) nor on every HTTP function's errors_5xx"
    );
}

// --- 4. the edge's address and the bypass -------------------------------------------------------------------

/// Managed origin request policies documented to forward CloudFront-Viewer-Address (AllViewerAndCloudFrontHeaders-
/// 2022-06, "all CloudFront headers that were released through June 2022").
const MANAGED_WITH_VIEWER_ADDRESS: [&str; 1] = ["33f36d7e-f396-46d9-90e0-52428a34d9dc"];

#[test]
fn the_api_cannot_be_reached_around_cloudfront_and_budgets_see_the_viewer_address() {
    let plan = compute();
    let manifest = manifest();
    let distributions = planned(plan, "aws_cloudfront_distribution");
    assert_eq!(distributions.len(), 1, "cdn_enabled plans one distribution");
    let d = &distributions[0];

    let api_disabled = planned(plan, "aws_apigatewayv2_api")
        .iter()
        .all(|a| a["values"]["disable_execute_api_endpoint"] == true);
    if !api_disabled {
        // CloudFront sends a secret header, and every HTTP function knows its name and may read its value.
        let headers: Vec<(String, Value)> = d["values"]["origin"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|o| o["custom_header"].as_array().cloned().unwrap_or_default())
            .map(|h| (text(&h["name"]), h["value"].clone()))
            .collect();
        assert!(
            !headers.is_empty(),
            "the execute-api endpoint is enabled and CloudFront sends no origin header: anyone can call the API \
             around CloudFront"
        );
        let policies = planned(plan, "aws_iam_role_policy");
        for f in planned(plan, "aws_lambda_function") {
            let name = text(&f["index"]);
            if manifest.functions.iter().find(|m| m.name == name).map(|m| m.kind) != Some(Kind::Http) {
                continue;
            }
            let env = &f["values"]["environment"][0]["variables"];
            let header = text(&env["NIAGA_ORIGIN_HEADER"]);
            assert!(
                headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(&header)),
                "{name} checks origin header {header:?}, CloudFront sends {:?}",
                headers.iter().map(|(h, _)| h).collect::<Vec<_>>()
            );
            let secret = text(&env["NIAGA_ORIGIN_SECRET_ID"]);
            let readable = policies
                .iter()
                .filter(|p| text(&p["index"]) == name)
                .flat_map(|p| policy_statements(&p["values"]["policy"]))
                .any(|s| {
                    strings(&s["Action"])
                        .iter()
                        .any(|a| a == "secretsmanager:GetSecretValue")
                        && strings(&s["Resource"])
                            .iter()
                            .any(|r| r.contains(&format!(":secret:{secret}-")))
                });
            assert!(readable, "{name} may not read the origin secret {secret:?}");
        }
    }

    // Every behaviour forwards the viewer's address, and none forwards a viewer's copy of the origin header.
    let config =
        plan::configuration(plan, "aws_cloudfront_distribution", &text(&d["name"])).expect("its configuration");
    let origin_header_names: BTreeSet<String> = d["values"]["origin"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| o["custom_header"].as_array().cloned().unwrap_or_default())
        .map(|h| text(&h["name"]).to_lowercase())
        .collect();
    let mut behaviours: Vec<(String, &Value, &Value)> = vec![(
        "default".into(),
        &d["values"]["default_cache_behavior"][0],
        &config["expressions"]["default_cache_behavior"][0],
    )];
    for (i, b) in d["values"]["ordered_cache_behavior"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        behaviours.push((
            text(&b["path_pattern"]),
            b,
            &config["expressions"]["ordered_cache_behavior"][i],
        ));
    }
    for (path, planned_b, config_b) in behaviours {
        let id = &planned_b["origin_request_policy_id"];
        if let Some(id) = id.as_str() {
            // A managed policy forwards every viewer header, a forged origin header included, so it only does
            // where no origin header is relied on.
            assert!(
                api_disabled && MANAGED_WITH_VIEWER_ADDRESS.contains(&id),
                "{path}: origin request policy {id:?} is not known to forward CloudFront-Viewer-Address (or forwards \
                 a viewer's own origin header)"
            );
            continue;
        }
        let policy = config_b["origin_request_policy_id"]["references"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| resource_of(r.as_str()?))
            .find(|r| r.starts_with("aws_cloudfront_origin_request_policy."));
        let Some(policy) = policy else {
            panic!("{path}: origin request policy {id:?} is not known to forward CloudFront-Viewer-Address");
        };
        for p in instances(plan, &policy) {
            let hc = &p["values"]["headers_config"][0];
            let behaviour = text(&hc["header_behavior"]);
            let items: Vec<String> = strings(&hc["headers"][0]["items"])
                .iter()
                .map(|h| h.to_lowercase())
                .collect();
            assert!(
                ["whitelist", "allViewerAndWhitelistCloudFront"].contains(&behaviour.as_str())
                    && items.iter().any(|h| h == "cloudfront-viewer-address"),
                "{path}: {policy} does not forward CloudFront-Viewer-Address ({behaviour}, {items:?})"
            );
            // That CloudFront replaces a viewer's header of the origin header's name is not documented, so the
            // policy must not forward viewer headers beyond a list, and the list must not name it.
            assert!(
                behaviour == "whitelist" && !items.iter().any(|h| origin_header_names.contains(h)),
                "{path}: {policy} could forward a viewer's own copy of the origin header ({behaviour}, {items:?})"
            );
        }
    }
}

// --- 5. what Lambda itself does with the execution role --------------------------------------------------

/// Whether some statement of `policy` allows every one of `actions` on `resource` (exact, or a `*` suffix glob).
fn grants_on(policy: &Value, actions: &[&str], resource: &str) -> bool {
    policy_statements(policy).iter().any(|s| {
        s["Effect"] != "Deny"
            && actions
                .iter()
                .all(|want| strings(&s["Action"]).iter().any(|a| action_matches(a, want)))
            && strings(&s["Resource"]).iter().any(|r| match r.strip_suffix('*') {
                Some(prefix) => resource.starts_with(prefix),
                None => r == resource,
            })
    })
}

#[test]
fn every_role_lets_lambda_write_its_functions_logs_and_poll_its_workers_queue() {
    let plan = compute();
    let manifest = manifest();
    let policies = planned(plan, "aws_iam_role_policy");
    let groups: BTreeSet<String> = planned(plan, "aws_cloudwatch_log_group")
        .iter()
        .map(|g| text(&g["values"]["name"]))
        .collect();
    let mappings = planned(plan, "aws_lambda_event_source_mapping");
    let functions = planned(plan, "aws_lambda_function");
    assert_eq!(functions.len(), manifest.functions.len());
    for f in functions {
        let name = text(&f["index"]);
        let physical = text(&f["values"]["function_name"]);
        let policy = &policies
            .iter()
            .find(|p| text(&p["index"]) == name)
            .unwrap_or_else(|| panic!("{name} has no role policy"))["values"]["policy"];
        let group = format!("/aws/lambda/{physical}");
        assert!(groups.contains(&group), "{name}: no log group {group}");
        let stream = format!(
            "arn:aws:logs:us-east-1:{}:log-group:{group}:log-stream:2026/12/07/[$LATEST]0",
            plan::PLAN_ACCOUNT
        );
        assert!(
            grants_on(policy, &["logs:CreateLogStream", "logs:PutLogEvents"], &stream),
            "{name}: Lambda cannot write the function's logs to {group}"
        );
        if manifest.functions.iter().find(|m| m.name == name).map(|m| m.kind) == Some(Kind::Sqs) {
            let mapping = mappings
                .iter()
                .find(|m| text(&m["index"]) == name)
                .unwrap_or_else(|| panic!("{name} has no event-source mapping"));
            let queue = text(&mapping["values"]["event_source_arn"]);
            assert!(
                grants_on(
                    policy,
                    &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                    &queue
                ),
                "{name}: its event-source mapping cannot poll {queue}"
            );
        }
    }
}
