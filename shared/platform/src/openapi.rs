//! The API's OpenAPI 3.1 description, generated from code.
//!
//! Each HTTP function's crate declares its operations with [`Operation`] next to its handler, naming the Rust types
//! its handler reads and writes; their JSON Schemas (2020-12, the dialect OpenAPI 3.1 uses) are derived from those
//! types with `schemars`, so the document cannot describe a field the code does not have. [`document`] assembles the
//! operations of every function into one document: `cargo xtask gen` writes it to `openapi.json`, and the local
//! gateway serves it at `/openapi.json` with a browsable page at `/docs`.
//!
//! Every operation answers its errors as `application/problem+json` ([`ProblemDocument`]), documented once as the
//! `default` response, beside API Gateway's own `{"message": ...}` answers (an unknown route, a crashed function).
//!
//! Owns no I/O; it must not depend on a particular function.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, with no token.
    Public,
    /// A bearer token from `POST /auth/token`.
    Bearer,
}

#[derive(Debug, Clone)]
enum ParamSchema {
    Of(SchemaFn),
    /// Bounds the parser enforces, written from its constants.
    Literal(Value),
}

#[derive(Debug, Clone)]
struct Param {
    name: &'static str,
    location: &'static str,
    required: bool,
    description: String,
    schema: ParamSchema,
}

#[derive(Debug, Clone)]
struct Content {
    media_type: &'static str,
    schema: SchemaFn,
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    description: &'static str,
    content: Option<Content>,
    headers: Vec<(&'static str, &'static str)>,
    /// OpenAPI links: name, target operation id, the target's parameter, and the runtime expression for it.
    links: Vec<(&'static str, &'static str, &'static str, &'static str)>,
}

/// One route of the API: what it takes and what it answers on success.
#[derive(Debug, Clone)]
pub struct Operation {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    tag: &'static str,
    access: Access,
    params: Vec<Param>,
    body: Vec<Content>,
    answers: Vec<Answer>,
}

impl Operation {
    /// An operation on `method` (`GET`, `POST`, `PUT`, …) and `path` as the manifest routes it (`/orders/{id}`).
    pub fn new(method: &'static str, path: &'static str, id: &'static str, summary: &'static str) -> Self {
        Operation {
            method,
            path,
            id,
            summary,
            description: None,
            tag: "",
            access: Access::Public,
            params: Vec::new(),
            body: Vec::new(),
            answers: Vec::new(),
        }
    }

    pub fn method(&self) -> &'static str {
        self.method
    }

    pub fn path(&self) -> &'static str {
        self.path
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// The group it is listed under (the function's name).
    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    pub fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    /// Requires a bearer token.
    pub fn bearer(mut self) -> Self {
        self.access = Access::Bearer;
        self
    }

    /// A `{name}` segment of the path.
    pub fn path_param<T: JsonSchema>(self, name: &'static str, description: &'static str) -> Self {
        self.param::<T>(name, "path", true, description)
    }

    /// An optional query parameter.
    pub fn query<T: JsonSchema>(self, name: &'static str, description: &'static str) -> Self {
        self.param::<T>(name, "query", false, description)
    }

    /// A request header.
    pub fn header<T: JsonSchema>(self, name: &'static str, required: bool, description: &'static str) -> Self {
        self.param::<T>(name, "header", required, description)
    }

    fn param<T: JsonSchema>(
        mut self,
        name: &'static str,
        location: &'static str,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.params.push(Param {
            name,
            location,
            required,
            description: description.to_string(),
            schema: ParamSchema::Of(schema_of::<T>),
        });
        self
    }

    /// A parameter whose bounds come from the parser's constants: `location` is `path`, `query` or `header`.
    pub fn param_with(
        mut self,
        location: &'static str,
        name: &'static str,
        required: bool,
        description: impl Into<String>,
        schema: Value,
    ) -> Self {
        self.params.push(Param {
            name,
            location,
            required: required || location == "path",
            description: description.into(),
            schema: ParamSchema::Literal(schema),
        });
        self
    }

    /// The `Idempotency-Key` header a creating `POST` requires ([`crate::idempotency::idempotency_key`]).
    pub fn idempotency_key(self) -> Self {
        self.param_with(
            "header",
            "Idempotency-Key",
            true,
            "Makes the request safe to retry: a retry with the same key and body gets the first answer.",
            json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" }),
        )
    }

    /// The `X-Act-For-Partner` header of a sales agent acting for an assigned partner ([`crate::auth`]).
    pub fn acting_for(self) -> Self {
        self.param_with(
            "header",
            "X-Act-For-Partner",
            false,
            "A sales agent acts for this assigned partner; both identities are audited.",
            json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX }),
        )
    }

    /// Keyset paging: `limit` (1 to `max`, `default` when absent; a larger value is refused, not clamped) and the
    /// opaque `cursor` of the previous page.
    pub fn paged(self, default: u32, max: u32) -> Self {
        self.param_with(
            "query",
            "limit",
            false,
            format!("Page size: {default} when absent; above {max} is refused, not clamped."),
            json!({ "type": "integer", "minimum": 1, "maximum": max }),
        )
        .param_with(
            "query",
            "cursor",
            false,
            "The `next_cursor` of the previous page.",
            json!({ "type": "string" }),
        )
    }

    /// A JSON request body of type `T`.
    pub fn json_body<T: JsonSchema>(self) -> Self {
        self.body_as::<T>("application/json")
    }

    /// The same body as an HTML form (`application/x-www-form-urlencoded`), as OAuth2 clients send it.
    pub fn form_body<T: JsonSchema>(self) -> Self {
        self.body_as::<T>("application/x-www-form-urlencoded")
    }

    fn body_as<T: JsonSchema>(mut self, media_type: &'static str) -> Self {
        self.body.push(Content {
            media_type,
            schema: schema_of::<T>,
        });
        self
    }

    /// A successful answer with a JSON body of type `T`.
    pub fn answers<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content: Some(Content {
                media_type: "application/json",
                schema: schema_of::<T>,
            }),
            headers: Vec::new(),
            links: Vec::new(),
        });
        self
    }

    /// A successful answer with no body.
    pub fn answers_empty(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            content: None,
            headers: Vec::new(),
            links: Vec::new(),
        });
        self
    }

    /// A header the last answer always carries.
    pub fn with_header(mut self, name: &'static str, description: &'static str) -> Self {
        if let Some(a) = self.answers.last_mut() {
            a.headers.push((name, description));
        }
        self
    }

    /// The last answer leads to operation `target`, whose parameter `param` takes `expression` (for example
    /// `$response.body#/id`): clients, and stateful fuzzers, learn how the API's resources connect.
    pub fn link(
        mut self,
        name: &'static str,
        target: &'static str,
        param: &'static str,
        expression: &'static str,
    ) -> Self {
        if let Some(a) = self.answers.last_mut() {
            a.links.push((name, target, param, expression));
        }
        self
    }

    fn render(&self, g: &mut SchemaGenerator) -> Value {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(self.id));
        op.insert("summary".into(), json!(self.summary));
        if let Some(d) = self.description {
            op.insert("description".into(), json!(d));
        }
        if !self.tag.is_empty() {
            op.insert("tags".into(), json!([self.tag]));
        }
        op.insert(
            "security".into(),
            match self.access {
                Access::Public => json!([]),
                Access::Bearer => json!([{ "bearer": [] }]),
            },
        );
        if !self.params.is_empty() {
            let params: Vec<Value> = self
                .params
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "in": p.location,
                        "required": p.required,
                        "description": p.description,
                        "schema": match &p.schema {
                            ParamSchema::Of(f) => f(g).to_value(),
                            ParamSchema::Literal(v) => v.clone(),
                        },
                    })
                })
                .collect();
            op.insert("parameters".into(), Value::Array(params));
        }
        if !self.body.is_empty() {
            let content: Map<String, Value> = self
                .body
                .iter()
                .map(|c| (c.media_type.to_string(), json!({ "schema": (c.schema)(g) })))
                .collect();
            op.insert("requestBody".into(), json!({ "required": true, "content": content }));
        }
        let mut responses = Map::new();
        for a in &self.answers {
            let mut r = Map::new();
            r.insert("description".into(), json!(a.description));
            if let Some(c) = &a.content {
                r.insert("content".into(), json!({ c.media_type: { "schema": (c.schema)(g) } }));
            }
            if !a.headers.is_empty() {
                let headers: Map<String, Value> = a
                    .headers
                    .iter()
                    .map(|(n, d)| {
                        (
                            n.to_string(),
                            json!({ "description": d, "schema": { "type": "string" } }),
                        )
                    })
                    .collect();
                r.insert("headers".into(), Value::Object(headers));
            }
            if !a.links.is_empty() {
                let links: Map<String, Value> = a
                    .links
                    .iter()
                    .map(|(name, target, param, expr)| {
                        (
                            name.to_string(),
                            json!({ "operationId": target, "parameters": { *param: expr } }),
                        )
                    })
                    .collect();
                r.insert("links".into(), Value::Object(links));
            }
            responses.insert(a.status.to_string(), Value::Object(r));
        }
        responses.insert("default".into(), json!({ "$ref": "#/components/responses/Problem" }));
        op.insert("responses".into(), Value::Object(responses));
        Value::Object(op)
    }
}

/// The body of every error answer (RFC 9457), as every HTTP function writes it. Problems may carry further members
/// (`minimum`, `short_by`, `skus`, …) named in their `detail`.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct ProblemDocument {
    /// `urn:niaga:problem:<kind>`.
    #[schemars(regex(pattern = r"^urn:niaga:problem:[a-z0-9-]+$"))]
    pub r#type: String,
    pub title: String,
    #[schemars(range(min = 400, max = 599))]
    pub status: u16,
    /// The id to quote when asking about this answer; the log has the cause under it.
    pub request_id: String,
    /// What went wrong, for people. 5xx answers carry none.
    pub detail: Option<String>,
    /// One entry per bad member of the request, named as it was sent (`lines[3].quantity`).
    pub errors: Option<Vec<lambda_glue::problem::FieldError>>,
}

/// API Gateway's own answers: an unknown route, a body over its limit, a function that crashed.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct GatewayMessage {
    pub message: String,
}

/// What the document says about the API as a whole.
#[derive(Debug, Clone)]
pub struct Info {
    pub title: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    /// Base URLs to list as servers, for example the local gateway.
    pub servers: Vec<(String, String)>,
}

/// The OpenAPI 3.1 document of `operations`, in the order given. Fails when two operations share a method and
/// path or an operation id.
pub fn document(info: &Info, operations: &[Operation]) -> Result<Value, String> {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = Contract::Deserialize;
        })
        .into_generator();
    let mut paths: Map<String, Value> = Map::new();
    let mut ids = std::collections::BTreeSet::new();
    for op in operations {
        if !ids.insert(op.id) {
            return Err(format!("two operations are called `{}`", op.id));
        }
        let item = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or("a path item is not an object")?;
        let method = op.method.to_ascii_lowercase();
        if item.contains_key(&method) {
            return Err(format!("{} {} is described twice", op.method, op.path));
        }
        item.insert(method, op.render(&mut g));
    }
    let problem = g.subschema_for::<ProblemDocument>();
    let gateway = g.subschema_for::<GatewayMessage>();
    let schemas = g.take_definitions(true);
    let servers: Vec<Value> = info
        .servers
        .iter()
        .map(|(url, d)| json!({ "url": url, "description": d }))
        .collect();
    Ok(json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": { "title": info.title, "version": info.version, "description": info.description },
        "servers": servers,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Problem": {
                    "description": "An error: a problem document from Niaga, or API Gateway's own message.",
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before retrying; sent with 429 and 503.",
                            "schema": { "type": "string" },
                        },
                    },
                    "content": {
                        "application/problem+json": { "schema": problem },
                        "application/json": { "schema": gateway },
                    },
                },
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from POST /auth/token (HS256, 15 minutes).",
                },
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Cart {
        lines: Vec<kernel::Sku>,
    }

    fn info() -> Info {
        Info {
            title: "t",
            version: "1",
            description: "d",
            servers: vec![],
        }
    }

    #[test]
    fn a_document_references_the_schemas_of_the_types_it_names() {
        let ops = [Operation::new("POST", "/carts", "createCart", "Create a cart")
            .bearer()
            .json_body::<Cart>()
            .answers::<Cart>(201, "Created")];
        let doc = document(&info(), &ops).unwrap();
        let op = &doc["paths"]["/carts"]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Cart"
        );
        assert_eq!(op["responses"]["default"]["$ref"], "#/components/responses/Problem");
        assert_eq!(op["security"], json!([{ "bearer": [] }]));
        let cart = &doc["components"]["schemas"]["Cart"];
        assert_eq!(cart["properties"]["lines"]["items"]["$ref"], "#/components/schemas/Sku");
        assert_eq!(doc["components"]["schemas"]["Sku"]["type"], "string");
        assert!(doc["components"]["schemas"]["ProblemDocument"].is_object());
    }

    #[test]
    fn the_same_route_or_id_twice_is_refused() {
        let a = Operation::new("GET", "/a", "getA", "A");
        let b = Operation::new("GET", "/a", "getA2", "A again");
        assert!(document(&info(), &[a.clone(), b])
            .unwrap_err()
            .contains("described twice"));
        let c = Operation::new("GET", "/c", "getA", "C");
        assert!(document(&info(), &[a, c]).unwrap_err().contains("getA"));
    }
}
