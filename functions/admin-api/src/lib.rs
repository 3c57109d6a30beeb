//! `admin-api`: what only admins do.
//!
//! - `POST /admin/notification-blasts` (requires `Idempotency-Key`) stores a message for every partner, or every
//!   partner of one tier, with its `notification.blast_requested` outbox event in one transaction, and answers
//!   202; notifications-worker sends it in resumable chunks.
//! - `GET /admin/notification-blasts/{id}` shows its progress.
//! - `GET /admin/config` lists every business setting with its schema; `GET /admin/config/{key}` shows one with
//!   its version as the `ETag`; `PUT /admin/config/{key}` (`{"value": ...}`) changes it only with `If-Match` naming
//!   the current version (428 without, 412 when stale), only to a value its schema allows (422 naming the rule),
//!   writes the audit row in the same transaction, and writes the new settings through to the shared cache so every
//!   instance sees them within seconds; `GET /admin/config/{key}/history` lists the changes, newest first.
//! - `GET /admin/refunds-due` lists money that arrived for orders that had already closed (cancelled or expired),
//!   newest first in keyset pages (`limit` 1–100, default 20; `cursor`): what must be sent back.
//!
//! Every route needs the `admin` role. The handler decodes requests, calls the use cases (`settings::Settings`,
//! `notifications::Blasts`, `orders::Orders`) over the ports `main` wires in, and maps results to HTTP; it holds
//! no SQL and must not depend on the AWS SDK or name the adapters.

use identity::{Assignments, Role};
use kernel::{Cursor, Tier};
use lambda_glue::body::from_json;
use lambda_glue::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use notifications::{Blast, BlastRequest, BlastStore, Blasts, CreateBlastError, Queued, ShowBlastError};
use orders::{OrderError, OrderStore, Orders, RefundDueEntry};
use platform::auth::Authenticator;
use serde_json::Value;
use settings::{
    ChangeSetting, ChangeSettingError, ReadSettingError, Setting, Settings, SettingsPublisher, SettingsStore,
};

/// The admin handler over the settings, blasts and orders use cases.
#[derive(Debug)]
pub struct AdminApi<A, S, P, B, O> {
    settings: Settings<S, P>,
    blasts: Blasts<B>,
    orders: Orders<O>,
    auth: Authenticator<A>,
    relay: Option<platform::outbox::Relay>,
}

impl<A, S, P, B, O> AdminApi<A, S, P, B, O>
where
    A: Assignments + 'static,
    S: SettingsStore,
    P: SettingsPublisher,
    B: BlastStore,
    O: OrderStore,
{
    pub fn new(settings: Settings<S, P>, blasts: Blasts<B>, orders: Orders<O>, auth: Authenticator<A>) -> Self {
        AdminApi {
            settings,
            blasts,
            orders,
            auth,
            relay: None,
        }
    }

    /// Publishes each blast's outbox event right after the commit that wrote it.
    pub fn with_relay(mut self, relay: Option<platform::outbox::Relay>) -> Self {
        self.relay = relay;
        self
    }

    async fn admin(&self, req: &Request) -> Result<identity::Actor, Problem> {
        self.auth.actor_in(req, &[Role::Admin], "only admins may do this").await
    }

    async fn create_blast(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let key = platform::idempotency::idempotency_key(req)?;
        let body = json_body(req)?;
        let b: BlastRequest = from_json::<BlastBody>(&body)?.try_into()?;
        let queued = self
            .blasts
            .create(&b, &actor.subject, &key, &kernel::fingerprint(&body))
            .await;
        match queued {
            Ok(Queued::New(blast)) => {
                if let Some(r) = &self.relay {
                    r.after_commit(&blast.id.to_string()).await;
                }
                Ok(accepted(&blast, false))
            }
            Ok(Queued::Replayed(blast)) => Ok(accepted(&blast, true)),
            Err(CreateBlastError::KeyReused) => Err(Problem::key_reused()),
            Err(CreateBlastError::Unavailable(e)) => Err(Problem::unavailable(1, e)),
        }
    }

    async fn list_config(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        let all = self.settings.list().await.map_err(read_problem)?;
        Ok(private_json(
            200,
            &to_json(&SettingList {
                items: all.iter().map(SettingView::from).collect(),
            }),
        ))
    }

    async fn get_config(&self, req: &Request, key: &str) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        Ok(setting_response(&self.settings.get(key).await.map_err(read_problem)?))
    }

    async fn put_config(&self, req: &Request, key: &str) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let expected = if_match(req)?;
        let SettingChange { value } = from_json(&json_body(req)?)?;
        let acting_for = actor
            .masquerading
            .then(|| actor.partner.as_ref().map(|p| p.id.to_string()))
            .flatten();
        let changed = self
            .settings
            .change(&ChangeSetting {
                key,
                expected_version: expected,
                value: &value,
                changed_by: &actor.subject,
                acting_for: acting_for.as_deref(),
            })
            .await;
        match changed {
            Ok(s) => Ok(setting_response(&s)),
            Err(ChangeSettingError::NotFound) => Err(Problem::not_found("no such setting")),
            Err(ChangeSettingError::InvalidSchema(e)) => Err(Problem::internal(anyhow::anyhow!(e))),
            Err(ChangeSettingError::OutOfRange { broken, schema }) => {
                let mut p = Problem::client(
                    422,
                    "setting-out-of-range",
                    "Value breaks the setting's schema",
                    format!("`{key}{}` {broken}", broken.path()),
                )
                .field(&format!("value{}", broken.path()), broken.to_string())
                .with("rule", broken.rule());
                if let Some(m) = schema.minimum {
                    p = p.with("minimum", m);
                }
                if let Some(m) = schema.maximum {
                    p = p.with("maximum", m);
                }
                Err(p)
            }
            Err(ChangeSettingError::Stale { current }) => Err(Problem::client(
                412,
                "stale-version",
                "The setting changed since you read it",
                format!("`{key}` is at version {current}, not {expected}; read it again and decide"),
            )
            .field("If-Match", format!("the current version is {current}"))
            .with("current_version", current)),
            Err(ChangeSettingError::Unavailable(e)) => Err(Problem::unavailable(1, e)),
        }
    }

    async fn config_history(&self, req: &Request, key: &str) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        let (key, changes) = self.settings.history(key).await.map_err(read_problem)?;
        let doc = SettingHistory {
            key,
            items: changes
                .into_iter()
                .map(|c| ChangeView {
                    old_value: c.old_value,
                    new_value: c.new_value,
                    changed_by: c.changed_by,
                    acting_for: c.acting_for,
                    changed_at: c.changed_at,
                })
                .collect(),
        };
        Ok(private_json(200, &to_json(&doc)))
    }

    async fn refunds_due(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let mut limit = 20u32;
        let mut before = None;
        for (k, v) in lambda_glue::http::query_pairs(req) {
            match k.as_str() {
                "limit" => {
                    limit =
                        v.parse::<u32>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                            Problem::invalid_parameter("limit", "must be a whole number from 1 to 100")
                        })?
                }
                "cursor" => before = Some(decode_refund_cursor(&v)?),
                other => {
                    return Err(Problem::invalid_parameter(
                        other,
                        "is not a parameter of GET /admin/refunds-due",
                    ))
                }
            }
        }
        let page = self
            .orders
            .refunds_due(&actor, before, limit)
            .await
            .map_err(|e| match e {
                OrderError::Access(_) => Problem::forbidden("only admins may do this"),
                other => Problem::unavailable(1, other),
            })?;
        let doc = RefundDueList {
            items: page.items,
            limit,
            next_cursor: page.next.map(|id| Cursor::from_position(&id.to_string()).encode()),
        };
        Ok(private_json(200, &to_json(&doc)))
    }

    async fn get_blast(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        let id =
            uuid::Uuid::parse_str(id).map_err(|_| Problem::invalid_parameter("id", "must be a blast id (a UUID)"))?;
        let blast = self.blasts.get(id).await.map_err(|e| match e {
            ShowBlastError::NotFound => Problem::not_found("no such blast"),
            ShowBlastError::Unavailable(e) => Problem::unavailable(1, e),
        })?;
        Ok(private_json(200, &blast.summary()))
    }
}

fn read_problem(e: ReadSettingError) -> Problem {
    match e {
        ReadSettingError::NotFound => Problem::not_found("no such setting"),
        ReadSettingError::Unavailable(e) => Problem::unavailable(1, e),
    }
}

fn decode_refund_cursor(token: &str) -> Result<i64, Problem> {
    let bad = || Problem::invalid_parameter("cursor", "is not a cursor this API issued");
    let c = Cursor::decode(token).map_err(|_| bad())?;
    c.position().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(bad)
}

fn to_json(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// A setting: its value, its version (the `ETag` that `If-Match` names) and the schema its values must meet.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SettingView {
    pub key: String,
    pub value: Value,
    pub version: i32,
    pub schema: Value,
    pub updated_by: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Setting> for SettingView {
    fn from(s: &Setting) -> Self {
        SettingView {
            key: s.key.clone(),
            value: s.value.clone(),
            version: s.version,
            schema: s.schema.clone(),
            updated_by: s.updated_by.clone(),
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SettingList {
    pub items: Vec<SettingView>,
}

/// The last 100 changes of a setting, newest first.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SettingHistory {
    pub key: String,
    pub items: Vec<ChangeView>,
}

/// Who changed a setting, when, from what to what, and for which partner when acting for one.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ChangeView {
    pub old_value: Option<Value>,
    pub new_value: Value,
    pub changed_by: String,
    pub acting_for: Option<String>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

/// One page of `GET /admin/refunds-due`, newest first.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct RefundDueList {
    pub items: Vec<RefundDueEntry>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PUT /admin/config/{key}`'s body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingChange {
    /// Must meet the setting's schema.
    pub value: Value,
}

/// `POST /admin/notification-blasts`'s body: a message for every partner, or every partner of one tier. A refusal
/// names the member at fault.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastBody {
    /// Not blank; the spaces around it are dropped.
    #[schemars(length(min = 1, max = notifications::SUBJECT_MAX_CHARS))]
    pub subject: String,
    /// Not blank; the spaces around it are dropped.
    #[schemars(length(min = 1, max = notifications::BODY_MAX_CHARS))]
    pub body: String,
    /// Only partners of this tier; every partner when absent.
    pub tier: Option<Tier>,
}

/// A blast read with [`from_json`]: subject and body of 1 to their most characters (counted as sent), and not blank.
impl TryFrom<BlastBody> for BlastRequest {
    type Error = Problem;

    fn try_from(b: BlastBody) -> Result<Self, Problem> {
        let text = |field: &str, text: String, max: usize| {
            if !(1..=max).contains(&text.chars().count()) {
                return Err(Problem::invalid_body(field, format!("must be 1 to {max} characters")));
            }
            match text.trim() {
                "" => Err(Problem::invalid_body(field, "must not be blank")),
                trimmed => Ok(trimmed.to_string()),
            }
        };
        Ok(BlastRequest {
            subject: text("subject", b.subject, notifications::SUBJECT_MAX_CHARS)?,
            body: text("body", b.body, notifications::BODY_MAX_CHARS)?,
            tier: b.tier,
        })
    }
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    use notifications::BlastSummary;
    use platform::openapi::Operation;
    let key = serde_json::json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    vec![
        Operation::new(
            "GET",
            "/admin/config",
            "listSettings",
            "List the business settings (admins)",
        )
        .tag("admin-api")
        .bearer()
        .answers::<SettingList>(200, "Every setting.")
        .link("GetSetting", "getSetting", "key", "$response.body#/items/0/key")
        .link("SettingHistory", "settingHistory", "key", "$response.body#/items/0/key"),
        Operation::new("GET", "/admin/config/{key}", "getSetting", "Read one setting (admins)")
            .tag("admin-api")
            .bearer()
            .param_with(
                "path",
                "key",
                true,
                "The setting's key, such as `pricing.minimum_order`.",
                key.clone(),
            )
            .answers::<SettingView>(200, "The setting.")
            .with_header("ETag", "The setting's version, for If-Match."),
        Operation::new(
            "PUT",
            "/admin/config/{key}",
            "changeSetting",
            "Change a setting (admins)",
        )
        .tag("admin-api")
        .describe("Requires If-Match with the version read; the change is audited and purges the settings cache.")
        .bearer()
        .param_with("path", "key", true, "The setting's key.", key.clone())
        .param_with(
            "header",
            "If-Match",
            true,
            "The ETag of the version this change replaces, such as `\"3\"`.",
            serde_json::json!({ "type": "string" }),
        )
        .json_body::<SettingChange>()
        .answers::<SettingView>(200, "The setting after the change.")
        .with_header("ETag", "The new version."),
        Operation::new(
            "GET",
            "/admin/config/{key}/history",
            "settingHistory",
            "A setting's audit trail (admins)",
        )
        .tag("admin-api")
        .bearer()
        .param_with("path", "key", true, "The setting's key.", key)
        .answers::<SettingHistory>(200, "The changes, newest first."),
        Operation::new(
            "POST",
            "/admin/notification-blasts",
            "createBlast",
            "Notify every partner, or a tier (admins)",
        )
        .tag("admin-api")
        .bearer()
        .idempotency_key()
        .json_body::<BlastBody>()
        .answers::<BlastSummary>(202, "The blast, queued.")
        .with_header("Location", "The blast's URL.")
        .link("GetBlast", "getBlast", "id", "$response.body#/id"),
        Operation::new(
            "GET",
            "/admin/notification-blasts/{id}",
            "getBlast",
            "A blast's progress (admins)",
        )
        .tag("admin-api")
        .bearer()
        .param_with(
            "path",
            "id",
            true,
            "The blast's id.",
            serde_json::json!({ "type": "string", "format": "uuid" }),
        )
        .answers::<BlastSummary>(200, "The blast."),
        Operation::new(
            "GET",
            "/admin/refunds-due",
            "listRefundsDue",
            "Money to send back: payments for orders that had closed (admins)",
        )
        .tag("admin-api")
        .describe(
            "Each payment the gateway reported for an order already cancelled or expired, once per (order, \
             transaction), newest first.",
        )
        .bearer()
        .paged(20, 100)
        .answers::<RefundDueList>(200, "A page of refunds due."),
    ]
}

/// The setting with its version as a strong `ETag`.
fn setting_response(s: &Setting) -> http::Response<Body> {
    let mut r = private_json(200, &to_json(&SettingView::from(s)));
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", s.version)) {
        r.headers_mut().insert(http::header::ETAG, v);
    }
    r
}

/// `If-Match: "3"` (or `3`, or `W/"3"`) gives 3.
fn if_match(req: &Request) -> Result<i32, Problem> {
    let raw = req.headers().get(http::header::IF_MATCH).ok_or_else(|| {
        Problem::client(
            428,
            "precondition-required",
            "If-Match required",
            "send If-Match with the ETag from GET /admin/config/{key}, so a change never overwrites one you have not seen",
        )
        .field("If-Match", "header is required")
    })?;
    raw.to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| Problem::invalid_parameter("If-Match", "must be the ETag GET returned, such as \"3\""))
}

fn accepted(blast: &Blast, replayed: bool) -> http::Response<Body> {
    lambda_glue::http::created(
        202,
        &blast.summary(),
        &format!("/admin/notification-blasts/{}", blast.id),
        replayed,
    )
}

impl<A, S, P, B, O> HttpHandler for AdminApi<A, S, P, B, O>
where
    A: Assignments + 'static,
    S: SettingsStore + 'static,
    P: SettingsPublisher + 'static,
    B: BlastStore,
    O: OrderStore,
{
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        use http::Method as M;
        match (req.method(), path.as_slice()) {
            (&M::GET, ["admin", "config"]) => self.list_config(&req).await,
            (&M::GET, ["admin", "config", key]) => self.get_config(&req, key).await,
            (&M::PUT, ["admin", "config", key]) => self.put_config(&req, key).await,
            (&M::GET, ["admin", "config", key, "history"]) => self.config_history(&req, key).await,
            (_, ["admin", "config"] | ["admin", "config", _] | ["admin", "config", _, "history"]) => {
                Err(Problem::method_not_allowed())
            }
            (&M::POST, ["admin", "notification-blasts"]) => self.create_blast(&req).await,
            (&M::GET, ["admin", "notification-blasts", id]) => self.get_blast(&req, id).await,
            (_, ["admin", "notification-blasts"] | ["admin", "notification-blasts", _]) => {
                Err(Problem::method_not_allowed())
            }
            (&M::GET, ["admin", "refunds-due"]) => self.refunds_due(&req).await,
            (_, ["admin", "refunds-due"]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The member the problem names.
    fn field_of(p: Problem) -> String {
        assert_eq!(p.status, 400);
        p.errors[0].field.clone()
    }

    fn blast(v: &Value) -> Result<BlastRequest, Problem> {
        from_json::<BlastBody>(v).and_then(BlastRequest::try_from)
    }

    #[test]
    fn blasts_read_and_bad_ones_name_the_member() {
        let ok = blast(&json!({"subject": " Promo ", "body": "Diskon 10%", "tier": "gold"})).unwrap();
        assert_eq!(ok.tier, Some(Tier::Gold));
        assert_eq!(ok.subject, "Promo");
        assert_eq!(
            blast(&json!({"subject": "x", "body": "y", "tier": null})).unwrap().tier,
            None
        );
        let long = "x".repeat(notifications::SUBJECT_MAX_CHARS + 1);
        for (v, field) in [
            (json!({"body": "x"}), "subject"),
            (json!({"subject": "x"}), "body"),
            (json!({"subject": "x", "body": ""}), "body"),
            (json!({"subject": "   ", "body": "y"}), "subject"),
            (json!({"subject": long, "body": "y"}), "subject"),
            (json!({"subject": 5, "body": "y"}), "subject"),
            (json!({"subject": "x", "body": "y", "tier": "tin"}), "tier"),
            (json!({"subject": "x", "body": "y", "tier": {"gold": null}}), "tier"),
            (json!({"subject": "x", "body": "y", "to": "all"}), "to"),
            (json!(["a", "b"]), "body"),
        ] {
            assert_eq!(field_of(blast(&v).unwrap_err()), field, "{v}");
        }
    }

    #[test]
    fn a_setting_change_holds_a_value_and_nothing_else() {
        let change: SettingChange = from_json(&json!({"value": null})).unwrap();
        assert_eq!(change.value, Value::Null);
        for (v, field) in [
            (json!({}), "value"),
            (json!({"value": 1, "sql": "--"}), "sql"),
            (json!([1]), "body"),
        ] {
            assert_eq!(field_of(from_json::<SettingChange>(&v).unwrap_err()), field, "{v}");
        }
    }
}
