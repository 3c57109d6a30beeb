//! The dependency graph stays one-way: read from `cargo metadata`, so a new `[dependencies]` line that crosses a
//! boundary fails here rather than in review.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Crates holding business rules and use cases (no I/O of any kind), each with the only Niaga crates it may use.
/// Commercial and supply never see each other: orders wires them together through their ports. The application
/// crates (orders, supply-sync, maintenance, ...) own the ports their adapters implement.
const DOMAIN: &[(&str, &[&str])] = &[
    ("kernel", &[]),
    ("catalog", &["kernel"]),
    ("identity", &["kernel"]),
    ("commercial", &["kernel"]),
    ("supply", &["kernel"]),
    ("orders", &["kernel", "identity", "commercial", "supply"]),
    ("agents", &["kernel", "identity", "settings"]),
    ("reports", &["kernel"]),
    ("settings", &[]),
    (
        "supply-sync",
        &["kernel", "supply", "orders", "settings", "identity", "commercial"],
    ),
    ("maintenance", &["settings"]),
    ("notifications", &["kernel", "settings"]),
];

/// The adapters: only a function's `main.rs` names them, to wire them into the use cases.
const ADAPTERS: &[&str] = &["store", "niaga_aws", "erp"];
/// External crates that mean I/O or a runtime: never in a domain crate.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-postgres",
    "deadpool-postgres",
    "lambda_runtime",
    "lambda_http",
    "aws_lambda_events",
    "aws-config",
    "http",
    "axum",
    "reqwest",
    "hyper",
];

/// Normal (non-dev, non-build) dependencies of every workspace member, by package name.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(xtask::workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

fn functions() -> Vec<String> {
    xtask::manifest::Manifest::load_workspace()
        .unwrap()
        .functions
        .into_iter()
        .map(|f| f.name)
        .collect()
}

#[test]
fn domain_crates_depend_on_no_io_crate_and_only_on_the_domain_crates_they_are_allowed() {
    let g = graph();
    for (domain, allowed) in DOMAIN {
        let deps = &g[*domain];
        for dep in deps {
            assert!(
                !IO_CRATES.contains(&dep.as_str()) && !dep.starts_with("aws-sdk-"),
                "{domain} depends on {dep}"
            );
            if g.contains_key(dep) {
                assert!(
                    allowed.contains(&dep.as_str()),
                    "{domain} may use only {allowed:?} among Niaga crates, not {dep}"
                );
            }
        }
    }
}

#[test]
fn commercial_and_supply_never_depend_on_each_other() {
    let g = graph();
    assert!(!g["commercial"].contains("supply"));
    assert!(!g["supply"].contains("commercial"));
}

#[test]
fn adapters_stay_apart_and_below_the_platform() {
    let g = graph();
    for bad in ["niaga-aws", "platform", "lambda_runtime", "lambda_http", "http"] {
        assert!(!g["store"].contains(bad), "store depends on {bad}");
    }
    assert!(
        !g["store"].iter().any(|d| d.starts_with("aws-")),
        "store depends on the AWS SDK"
    );
    for bad in ["store", "platform", "tokio-postgres", "lambda_runtime", "lambda_http"] {
        assert!(!g["niaga-aws"].contains(bad), "niaga-aws depends on {bad}");
    }
    for bad in [
        "store",
        "platform",
        "niaga-aws",
        "erp",
        "tokio-postgres",
        "lambda_runtime",
        "lambda_http",
    ] {
        assert!(!g["midtrans"].contains(bad), "midtrans depends on {bad}");
    }
    // The ERP adapter implements supply-sync's port; it owns no port of its own and reaches no other adapter.
    for bad in [
        "store",
        "platform",
        "niaga-aws",
        "tokio-postgres",
        "lambda_runtime",
        "lambda_http",
    ] {
        assert!(!g["erp"].contains(bad), "erp depends on {bad}");
    }
    assert!(
        g["erp"].contains("supply-sync"),
        "erp implements the ERP port of supply-sync"
    );
}

#[test]
fn no_deployed_crate_depends_on_a_function_xtask_or_testkit() {
    let g = graph();
    let fns = functions();
    for (name, deps) in &g {
        // Developer tools under xtask/ drive functions (the local runtime, the export benchmark probe); nothing that
        // is deployed may.
        if name == "xtask" || name == "export-rss" {
            continue;
        }
        for dep in deps {
            assert!(
                dep != "xtask" && dep != "testkit" && dep != "fake-erp",
                "{name} depends on {dep}"
            );
            assert!(!fns.contains(dep), "{name} depends on the function crate {dep}");
        }
    }
}

#[test]
fn every_manifest_function_is_a_workspace_crate_and_every_function_crate_is_in_the_manifest() {
    let g = graph();
    let fns: BTreeSet<String> = functions().into_iter().collect();
    for f in &fns {
        assert!(g.contains_key(f), "manifest function {f} has no crate");
    }
    let dir = xtask::workspace_root().join("functions");
    let crates: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(crates, fns, "functions/ and niaga.json list the same functions");
}

#[test]
fn every_crate_says_what_it_owns_and_must_not_depend_on() {
    let root = xtask::workspace_root();
    for dir in ["shared", "functions"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let lib = path.join("src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap_or_else(|_| panic!("{} has a lib.rs", path.display()));
            assert!(text.starts_with("//!"), "{} starts with a //! doc", lib.display());
            let doc: String = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                doc.contains("must not") || doc.contains("Only ever"),
                "{} says what it must not depend on",
                lib.display()
            );
        }
    }
}

/// The Rust files of a crate's `src/`, recursively.
fn sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Where `text` names `krate` as a path (`krate::`), not as the tail of another name (`my_store::`).
fn names_crate(text: &str, krate: &str) -> Option<usize> {
    let needle = format!("{krate}::");
    text.match_indices(&needle).map(|(i, _)| i).find(|&i| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn only_a_functions_main_names_the_adapters_its_handler_reaches_them_through_ports() {
    let root = xtask::workspace_root();
    for f in functions() {
        for file in sources(&root.join("functions").join(&f).join("src")) {
            if file.file_name().is_some_and(|n| n == "main.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for adapter in ADAPTERS {
                if let Some(at) = names_crate(&text, adapter) {
                    let line = text[..at].lines().count().max(1);
                    panic!(
                        "{}:{line} names `{adapter}::`; only main.rs wires adapters, the handler uses the ports of a \
                         domain or application crate",
                        file.display()
                    );
                }
            }
        }
    }
}

#[test]
fn the_adapter_check_sees_a_path_and_ignores_a_longer_name() {
    assert!(names_crate("use store::orders::PgOrders;", "store").is_some());
    assert!(names_crate("x: &store::Db", "store").is_some());
    assert!(names_crate("//! rules in `erp::breaker`", "erp").is_some());
    assert!(names_crate("use restore::x; let a = my_store::y;", "store").is_none());
    assert!(names_crate("supply_sync::ErpClient", "erp").is_none());
}

/// Lambda glue any Rust Lambda project could use: it depends on no workspace crate, and its source (comments
/// included) names no Niaga crate and hard-codes none of Niaga's names; those come from the `Service` it is given.
#[test]
fn the_lambda_glue_depends_on_no_niaga_crate_and_names_nothing_of_niaga() {
    let g = graph();
    let workspace: BTreeSet<&String> = g.keys().collect();
    let niaga_deps: Vec<&String> = g["lambda-glue"].iter().filter(|d| workspace.contains(d)).collect();
    assert!(niaga_deps.is_empty(), "lambda-glue depends on {niaga_deps:?}");
    for (name, deps) in &g {
        if DOMAIN.iter().any(|(d, _)| d == name) || ["store", "erp", "midtrans"].contains(&name.as_str()) {
            assert!(!deps.contains("lambda-glue"), "{name} depends on the Lambda glue");
        }
    }
    let root = xtask::workspace_root().join("shared/lambda-glue");
    for file in sources(&root.join("src"))
        .into_iter()
        .chain(sources(&root.join("tests")))
    {
        let text = std::fs::read_to_string(&file).unwrap().to_lowercase();
        assert!(!text.contains("niaga"), "{} names Niaga", file.display());
    }
}
