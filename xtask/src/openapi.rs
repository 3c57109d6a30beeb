//! `openapi.json`: the API's OpenAPI 3.1 document, assembled from the operations each HTTP function declares next
//! to its handler (`<function>::operations()`, built on `platform::openapi`), whose schemas are derived from the
//! Rust types the handlers read and write.
//!
//! The document must describe exactly the manifest's routes, each under the function the manifest routes it to and
//! public exactly when the manifest's route is: [`render`] refuses a route without an operation, an operation
//! without a route, and a disagreement about who may call it. `cargo xtask gen` writes it
//! beside `template.yaml`, a drift test keeps the file equal to what the code renders, and the local gateway
//! serves it at `/openapi.json` with a browsable page at `/docs`.

use crate::manifest::Manifest;
use anyhow::{bail, Result};
use platform::openapi::{Access, Info, Operation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Each HTTP function's operations, by function name.
pub fn operations() -> Vec<(&'static str, Vec<Operation>)> {
    vec![
        ("health-api", health_api::operations()),
        ("catalog-api", catalog_api::operations()),
        ("auth-api", auth_api::operations()),
        ("orders-api", orders_api::operations()),
        ("payments-api", payments_api::operations()),
        ("agent-jobs-api", agent_jobs_api::operations()),
        ("admin-api", admin_api::operations()),
        ("reports-api", reports_api::operations()),
    ]
}

/// The document for `manifest`'s routes, listing `servers`.
pub fn render_with_servers(manifest: &Manifest, servers: Vec<(String, String)>) -> Result<Value> {
    let declared = operations();
    let mut by_route: BTreeMap<String, (&str, Access)> = BTreeMap::new();
    for (function, ops) in &declared {
        for op in ops {
            let key = format!("{} {}", op.method(), op.path());
            if by_route.insert(key, (function, op.access())).is_some() {
                bail!("{} {} is declared twice", op.method(), op.path());
            }
        }
    }
    let routed: BTreeMap<String, (&str, bool)> = manifest
        .routes()
        .map(|(f, r)| (r.key(), (f.name.as_str(), r.public)))
        .collect();
    let mut problems = Vec::new();
    for (route, (function, public)) in &routed {
        match by_route.get(route) {
            None => problems.push(format!(
                "{route} ({function}) has no operation in its crate's operations()"
            )),
            Some((f, _)) if f != function => {
                problems.push(format!("{route} is routed to {function} but documented by {f}"))
            }
            Some((_, access)) if *public != (*access == Access::Public) => problems.push(format!(
                "{route} is {} in niaga.json but documented as {access:?}",
                if *public { "public" } else { "behind a token" }
            )),
            Some(_) => {}
        }
    }
    for (route, (function, _)) in &by_route {
        if !routed.contains_key(route) {
            problems.push(format!(
                "{route} is documented by {function} but niaga.json routes no such route"
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the OpenAPI operations and niaga.json disagree:\n  {}",
            problems.join("\n  ")
        );
    }
    let all: Vec<Operation> = declared.into_iter().flat_map(|(_, ops)| ops).collect();
    let info = Info {
        title: "Niaga API",
        version: env!("CARGO_PKG_VERSION"),
        description: "Niaga's HTTP API: the public catalogue, logins, quotes and orders for partners and the sales \
                      agents acting for them, payment notifications, AI agents' bulk jobs, and administration. \
                      Errors are application/problem+json naming the bad field; creating POSTs take an \
                      Idempotency-Key; money is integer rupiah.",
        servers,
    };
    platform::openapi::document(&info, &all).map_err(anyhow::Error::msg)
}

/// The checked-in document: the local gateway as its server.
pub fn render(manifest: &Manifest) -> Result<Value> {
    render_with_servers(
        manifest,
        vec![(
            "http://127.0.0.1:3000".into(),
            "the local gateway (`cargo xtask up`)".into(),
        )],
    )
}

/// The document as `openapi.json` holds it.
pub fn to_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

pub fn path() -> PathBuf {
    crate::workspace_root().join("openapi.json")
}

/// The browsable page the gateway serves at `/docs`: it reads `/openapi.json` and renders every operation, its
/// parameters, body and answers. Self-contained, so it works with no network.
pub const DOCS_PAGE: &str = include_str!("openapi_docs.html");
