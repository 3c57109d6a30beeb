//! Drift between `niaga.json` and the two descriptions deployed from it.
//!
//! - `template.yaml` must be exactly what `cargo xtask gen` renders, and its routes, schedules and queue
//!   consumers (read back from the file, not from the renderer) must be the manifest's.
//! - `terraform/compute` is planned offline, from a scratch copy with a local backend and a dead emulator
//!   endpoint (the layer reads no data sources, so planning makes no AWS call), and the route keys,
//!   functions, schedule targets and queue consumers in the plan must be the manifest's. A route spelled
//!   out by hand in terraform, or one missing from it, fails here.
//!
//! terraform is required: without it these tests fail with a message, they never skip.

mod common;

use common::plan::{self, in_layer, manifest, planned, run, scratch_layer, strings, terraform, text, PLAN_ENV};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::OnceLock;
use xtask::manifest::Kind;
use xtask::sam;

fn template_on_disk() -> String {
    let path = sam::template_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `cargo xtask gen` to create it",
            path.display()
        )
    })
}

/// Fails with both sides and what only one of them has.
fn assert_same<K: Ord + Debug, V: PartialEq + Debug>(what: &str, manifest: &BTreeMap<K, V>, found: &BTreeMap<K, V>) {
    if manifest == found {
        return;
    }
    let mut lines = Vec::new();
    for (k, v) in manifest {
        match found.get(k) {
            None => lines.push(format!("  missing: {k:?} => {v:?}")),
            Some(f) if f != v => lines.push(format!("  differs: {k:?}: manifest {v:?}, found {f:?}")),
            _ => {}
        }
    }
    for (k, v) in found {
        if !manifest.contains_key(k) {
            lines.push(format!("  not in the manifest: {k:?} => {v:?}"));
        }
    }
    panic!("{what} drifted from niaga.json:\n{}", lines.join("\n"));
}

// --- openapi.json ----------------------------------------------------------------------------------

#[test]
fn openapi_json_is_exactly_what_cargo_xtask_gen_renders_from_the_functions_operations() {
    let rendered = xtask::openapi::to_text(&xtask::openapi::render(&manifest()).expect("the document renders"));
    let on_disk = std::fs::read_to_string(xtask::openapi::path()).expect("openapi.json is checked in");
    assert!(
        on_disk == rendered,
        "openapi.json is not what the functions' operations() render: run `cargo xtask gen` and commit the result"
    );
}

#[test]
fn the_openapi_document_has_one_operation_per_manifest_route_and_every_error_is_a_problem() {
    let doc = xtask::openapi::render(&manifest()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            assert_eq!(
                op["responses"]["default"]["$ref"], "#/components/responses/Problem",
                "{method} {path}"
            );
            let success = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with('2'))
                .count();
            assert!(success > 0, "{method} {path} documents no success");
        }
    }
    let routed: std::collections::BTreeSet<String> = manifest().routes().map(|(_, r)| r.key()).collect();
    assert_eq!(documented, routed);
}

#[test]
fn an_undocumented_route_or_an_operation_without_a_route_is_refused() {
    let mut m = manifest();
    let f = m.functions.iter_mut().find(|f| f.name == "orders-api").unwrap();
    let route = f.routes.pop().unwrap();
    let err = format!("{:#}", xtask::openapi::render(&m).unwrap_err());
    assert!(err.contains(&route.key()), "{err}");
    assert!(err.contains("no such route"), "{err}");
    let f = m.functions.iter_mut().find(|f| f.name == "health-api").unwrap();
    f.routes.push(xtask::manifest::Route {
        method: "DELETE".into(),
        path: "/health".into(),
        ..f.routes[0].clone()
    });
    let err = format!("{:#}", xtask::openapi::render(&m).unwrap_err());
    assert!(err.contains("DELETE /health (health-api) has no operation"), "{err}");
}

// --- template.yaml ---------------------------------------------------------------------------------

#[test]
fn template_yaml_is_exactly_what_cargo_xtask_gen_renders_from_the_manifest() {
    let on_disk = template_on_disk();
    let rendered = sam::render(&manifest());
    if on_disk == rendered {
        return;
    }
    let (n, disk, generated) = on_disk
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(rendered.lines().map(Some).chain(std::iter::repeat(None)))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| (n + 1, a.unwrap_or("<end of file>"), b.unwrap_or("<end of file>")))
        .unwrap_or((0, "", ""));
    panic!(
        "template.yaml is not what niaga.json generates: run `cargo xtask gen` and commit the result.\n\
         first difference at line {n}:\n  on disk:   {disk}\n  generated: {generated}"
    );
}

#[test]
fn template_routes_are_served_by_the_functions_the_manifest_names() {
    let expected: BTreeMap<String, String> = manifest().routes().map(|(f, r)| (r.key(), f.name.clone())).collect();
    let found = sam::routes_in_template(&template_on_disk()).expect("template.yaml should parse");
    assert_same("template.yaml routes (route key => function)", &expected, &found);
}

#[test]
fn template_schedules_invoke_the_manifest_targets_with_the_manifest_input() {
    let manifest = manifest();
    let mut expected: BTreeMap<String, BTreeMap<String, sam::ScheduledCall>> = BTreeMap::new();
    for s in &manifest.schedules {
        let input = s.input.as_ref().map(|v| v.to_string());
        let targets = expected.entry(sam::schedule_event_id(&s.name)).or_default();
        for t in &s.targets {
            targets.insert(
                t.clone(),
                sam::ScheduledCall {
                    expression: s.expression.clone(),
                    input: input.clone(),
                },
            );
        }
    }
    let found = sam::schedules_in_template(&template_on_disk()).expect("template.yaml should parse");
    assert_same("template.yaml schedules (event => function => call)", &expected, &found);
}

#[test]
fn template_queues_are_consumed_by_the_manifest_sqs_functions() {
    let manifest = manifest();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in manifest.functions.iter().filter(|f| f.kind == Kind::Sqs) {
        let queue = f
            .queue
            .clone()
            .expect("the manifest loader checks sqs functions name a queue");
        expected.entry(queue).or_default().insert(f.name.clone());
    }
    let found = sam::queue_consumers_in_template(&template_on_disk()).expect("template.yaml should parse");
    assert_same("template.yaml queue consumers (queue => functions)", &expected, &found);
}

// --- terraform ---------------------------------------------------------------------------------------

/// `terraform show -json` of a plan of `terraform/compute`, made once for all the tests below.
fn compute_plan() -> &'static Value {
    static PLAN: OnceLock<Result<Value, String>> = OnceLock::new();
    match PLAN.get_or_init(|| plan::plan("compute", &plan::compute_vars(serde_json::json!({})))) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    }
}

/// A plan of `terraform/compute` for `env`, reading `var_files` (e.g. terraform/env/prod.compute.tfvars) and then
/// `extra` over the made-up inputs.
fn plan_compute_with(env: &str, mut extra: Value, var_files: &[PathBuf]) -> Result<Value, String> {
    extra["env"] = env.into();
    plan::plan_with_files("compute", &plan::compute_vars(extra), var_files)
}

#[test]
fn terraform_compute_serves_exactly_the_manifest_route_keys() {
    let expected: BTreeMap<String, usize> = manifest().routes().map(|(_, r)| (r.key(), 1)).collect();
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for route in planned(compute_plan(), "aws_apigatewayv2_route") {
        *found.entry(text(&route["values"]["route_key"])).or_default() += 1;
    }
    assert_same(
        "terraform/compute route keys (route key => how many routes)",
        &expected,
        &found,
    );
}

#[test]
fn terraform_compute_deploys_one_lambda_per_manifest_function_with_its_memory_and_timeout() {
    let manifest = manifest();
    let expected: BTreeMap<String, (u64, u64)> = manifest
        .functions
        .iter()
        .map(|f| {
            (
                format!("niaga-{PLAN_ENV}-{}", f.name),
                (u64::from(f.memory_mb), u64::from(f.timeout_s)),
            )
        })
        .collect();
    let found: BTreeMap<String, (u64, u64)> = planned(compute_plan(), "aws_lambda_function")
        .iter()
        .map(|f| {
            let v = &f["values"];
            (
                text(&v["function_name"]),
                (
                    v["memory_size"].as_u64().unwrap_or(0),
                    v["timeout"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect();
    assert_same(
        "terraform/compute functions (name => (memory, timeout))",
        &expected,
        &found,
    );
}

/// What AWS says each endpoint presents: RDS Proxy an ACM certificate chained to Amazon Root CA 1 (`rds-proxy`),
/// the read replica's own endpoint a certificate from an RDS CA, whose roots are in the global bundle (`rds`).
/// Production's configuration must verify both `verify-full`, each against its own authority.
#[test]
fn terraform_prod_verifies_the_proxy_and_the_replica_each_against_its_own_ca() {
    let proxy = "postgres://niaga-prod.proxy-c0ffee.ap-southeast-3.rds.amazonaws.com:5432/niaga";
    let replica = "postgres://niaga-prod-replica.c0ffee.ap-southeast-3.rds.amazonaws.com:5432/niaga";
    let prod_vars = xtask::workspace_root().join("terraform/env/prod.compute.tfvars");
    let plan = plan_compute_with(
        "prod",
        serde_json::json!({ "database_url": proxy, "database_reader_url": replica }),
        &[prod_vars],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let functions = planned(&plan, "aws_lambda_function");
    assert_eq!(functions.len(), manifest().functions.len());
    for f in &functions {
        let name = text(&f["values"]["function_name"]);
        let env = &f["values"]["environment"][0]["variables"];
        let var = |k: &str| env[k].as_str().unwrap_or_default().to_string();
        assert_eq!(var("DATABASE_URL"), proxy, "{name}");
        assert_eq!(var("DATABASE_READER_URL"), replica, "{name}");
        assert_eq!(var("DATABASE_TLS"), "verify-full", "{name}");
        assert_eq!(var("DATABASE_CA"), "rds-proxy", "{name}");
        assert_eq!(var("DATABASE_READER_CA"), "rds", "{name}");
    }
}

#[test]
fn terraform_compute_schedules_invoke_the_manifest_targets_with_the_manifest_input() {
    let manifest = manifest();
    let mut expected: BTreeMap<(String, String), Option<Value>> = BTreeMap::new();
    for s in &manifest.schedules {
        for t in &s.targets {
            expected.insert((format!("niaga-{PLAN_ENV}-{}", s.name), t.clone()), s.input.clone());
        }
    }
    let found: BTreeMap<(String, String), Option<Value>> = planned(compute_plan(), "aws_cloudwatch_event_target")
        .iter()
        .map(|t| {
            let v = &t["values"];
            let input = v["input"]
                .as_str()
                .map(|s| serde_json::from_str(s).expect("a target input is JSON"));
            ((text(&v["rule"]), text(&v["target_id"])), input)
        })
        .collect();
    assert_same(
        "terraform/compute schedule targets ((rule, function) => input)",
        &expected,
        &found,
    );
}

#[test]
fn terraform_compute_maps_each_queue_to_its_manifest_consumer() {
    let manifest = manifest();
    let expected: BTreeMap<String, String> = manifest
        .functions
        .iter()
        .filter(|f| f.kind == Kind::Sqs)
        .filter_map(|f| {
            let q = manifest.queues.iter().find(|q| Some(&q.name) == f.queue.as_ref())?;
            Some((xtask::queue_physical_name(PLAN_ENV, &q.name, q.fifo), f.name.clone()))
        })
        .collect();
    let found: BTreeMap<String, String> = planned(compute_plan(), "aws_lambda_event_source_mapping")
        .iter()
        .map(|m| {
            let queue = text(&m["values"]["event_source_arn"])
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string();
            (queue, text(&m["index"]))
        })
        .collect();
    assert_same(
        "terraform/compute queue consumers (queue => function)",
        &expected,
        &found,
    );
}

#[test]
fn terraform_persistence_is_a_valid_configuration() {
    let (scratch, layer) = scratch_layer("persistence").unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = run(
        in_layer(&scratch, &layer).args(["validate", "-no-color"]),
        "terraform validate (terraform/persistence)",
    ) {
        panic!("{e}");
    }
}

#[test]
fn the_provider_mirror_is_niaga_tf_plugin_dir_as_the_wrapper_reads_it() {
    use xtask::terraform::{plugin_dir_from, DEFAULT_PLUGIN_DIR};
    assert_eq!(
        plugin_dir_from(Some("/srv/mirror".into())),
        std::path::PathBuf::from("/srv/mirror")
    );
    for unset in [None, Some(std::ffi::OsString::new())] {
        assert_eq!(plugin_dir_from(unset), std::path::PathBuf::from(DEFAULT_PLUGIN_DIR));
    }
    // terraform/tf says the same.
    let wrapper = std::fs::read_to_string(xtask::workspace_root().join("terraform/tf")).expect("terraform/tf");
    let line = format!("plugin_dir=\"${{NIAGA_TF_PLUGIN_DIR:-{DEFAULT_PLUGIN_DIR}}}\"");
    assert!(
        wrapper.contains(&line),
        "terraform/tf does not read the mirror as `{line}`"
    );
}

#[test]
fn terraform_files_are_formatted() {
    let dir = xtask::workspace_root().join("terraform");
    let out = run(
        terraform().arg("fmt").arg("-check").arg("-recursive").arg(&dir),
        "terraform fmt -check",
    );
    if let Err(e) = out {
        panic!("{e}\nrun `terraform fmt -recursive terraform` to fix the files listed above");
    }
}

fn plan_observability() -> Result<Value, String> {
    let vars = serde_json::json!({
        "env": PLAN_ENV, "region": "us-east-1", "aws_endpoint": "http://127.0.0.1:9", "account_id": plan::PLAN_ACCOUNT,
    });
    plan::plan("observability", &vars)
}

#[test]
fn terraform_observability_alarms_on_every_function_and_queue_within_five_minutes() {
    let manifest = manifest();
    let plan = plan_observability().unwrap_or_else(|e| panic!("{e}"));
    let alarms = planned(&plan, "aws_cloudwatch_metric_alarm");
    let names: BTreeSet<String> = alarms.iter().map(|a| text(&a["values"]["alarm_name"])).collect();
    let want = |name: String| assert!(names.contains(&name), "no alarm {name} in {names:?}");
    for f in &manifest.functions {
        want(format!("niaga-{PLAN_ENV}-{}-error-rate", f.name));
        if f.kind == xtask::manifest::Kind::Http {
            want(format!("niaga-{PLAN_ENV}-{}-p99", f.name));
        }
    }
    for q in &manifest.queues {
        let name = xtask::queue_physical_name(PLAN_ENV, &q.name, q.fifo);
        want(format!("{name}-oldest-message"));
        let dlq = xtask::queue_physical_name(PLAN_ENV, &format!("{}-dlq", q.name), q.fifo);
        want(format!("{dlq}-depth"));
    }
    for business in [
        "erp-sync-error-rate",
        "erp-breaker-open",
        "credit-rejection-spike",
        "refund-due",
    ] {
        want(format!("niaga-{PLAN_ENV}-{business}"));
    }
    for a in &alarms {
        let v = &a["values"];
        let periods: Vec<i64> = std::iter::once(&v["period"])
            .chain(
                v["metric_query"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|q| &q["metric"][0]["period"]),
            )
            .filter_map(Value::as_i64)
            .collect();
        assert!(
            !periods.is_empty() && periods.iter().all(|p| *p == 60),
            "{}: periods {periods:?}",
            v["alarm_name"]
        );
        let minutes = v["evaluation_periods"].as_i64().unwrap();
        assert!(minutes <= 5, "{} looks back {minutes} minutes", v["alarm_name"]);
        // The topic's ARN is known only after apply, so read what the configuration points the actions at.
        let config = plan["configuration"]["root_module"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == a["type"] && r["name"] == a["name"])
            .expect("the alarm's configuration");
        let refs: Vec<String> = config["expressions"]["alarm_actions"]["references"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        assert!(
            refs.iter().any(|r| r == "aws_sns_topic.alarms.arn"),
            "{} notifies the topic: {refs:?}",
            v["alarm_name"]
        );
    }
    assert_eq!(planned(&plan, "aws_cloudwatch_dashboard").len(), 1);
}

#[test]
fn terraform_network_is_a_valid_configuration() {
    let (scratch, layer) = scratch_layer("network").unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = run(
        in_layer(&scratch, &layer).args(["validate", "-no-color"]),
        "terraform validate (terraform/network)",
    ) {
        panic!("{e}");
    }
}

/// Every statement of every function's inline policy in the compute plan.
fn planned_statements() -> Vec<(String, Value)> {
    planned(compute_plan(), "aws_iam_role_policy")
        .iter()
        .flat_map(|p| {
            // The resource's index is the function's manifest name (the role's own id is known only after apply).
            let role = text(&p["index"]);
            let doc: Value = serde_json::from_str(
                p["values"]["policy"]
                    .as_str()
                    .expect("the policy is known at plan time"),
            )
            .expect("the policy is JSON");
            doc["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |s| (role.clone(), s))
        })
        .collect()
}

#[test]
fn every_function_policy_names_its_actions_and_resources_without_wildcards() {
    let statements = planned_statements();
    assert!(
        statements.len() >= manifest().functions.len(),
        "one policy per function at least"
    );
    for (role, s) in &statements {
        for action in strings(&s["Action"]) {
            assert!(!action.contains('*'), "{role}: action {action} is a wildcard");
        }
        for resource in strings(&s["Resource"]) {
            assert_ne!(
                resource, "*",
                "{role}: a statement ({}) covers every resource",
                s["Sid"]
            );
            // A trailing `:*` (log streams of one group) or `/*` (objects under one prefix) is the narrowest form
            // those services offer; a wildcard anywhere else widens a name.
            let stem = resource.trim_end_matches(":*").trim_end_matches("/exports/*");
            assert!(!stem.contains('*'), "{role}: resource {resource} has a wildcard");
        }
        assert_eq!(s["Effect"], "Allow", "{role}");
    }
}

#[test]
fn each_function_reaches_only_the_queues_tables_secrets_and_bucket_its_manifest_entry_names() {
    let manifest = manifest();
    let statements = planned_statements();
    for f in &manifest.functions {
        let mine: Vec<&Value> = statements
            .iter()
            .filter(|(r, _)| *r == f.name)
            .map(|(_, s)| s)
            .collect();
        let resources: Vec<String> = mine.iter().flat_map(|s| strings(&s["Resource"])).collect();
        for secret in manifest.secrets.iter().map(|s| &s.name) {
            let granted = resources
                .iter()
                .any(|r| r.contains(&format!("niaga/{PLAN_ENV}/{secret}-")));
            assert_eq!(granted, f.secrets.contains(secret), "{}: secret {secret}", f.name);
        }
        for table in manifest.tables.iter().map(|t| &t.name) {
            let granted = resources
                .iter()
                .any(|r| r.ends_with(&format!("table/niaga-{PLAN_ENV}-{table}")));
            assert_eq!(granted, f.tables.contains(table), "{}: table {table}", f.name);
        }
        let consumes = mine
            .iter()
            .any(|s| strings(&s["Action"]).iter().any(|a| a == "sqs:ReceiveMessage"));
        assert_eq!(
            consumes,
            f.kind == xtask::manifest::Kind::Sqs,
            "{}: receives from a queue",
            f.name
        );
        let sends = mine
            .iter()
            .any(|s| strings(&s["Action"]).iter().any(|a| a == "sqs:SendMessage"));
        assert_eq!(sends, f.outbox, "{}: sends to queues", f.name);
        let announces = mine
            .iter()
            .any(|s| strings(&s["Action"]).iter().any(|a| a == "events:PutEvents"));
        assert_eq!(announces, f.announces, "{}: puts events", f.name);
        let s3 = resources.iter().any(|r| r.contains(":s3:::"));
        assert_eq!(s3, f.exports.is_some(), "{}: the exports bucket", f.name);
    }
}
