//! `admin-api`: what only admins do.
//!
//! - `POST /admin/notification-blasts` (requires `Idempotency-Key`) stores a message for every partner, or every
//!   partner of one tier, with its `notification.blast_requested` outbox event in one transaction, and answers
//!   202; notifications-worker sends it in resumable chunks.
//! - `GET /admin/notification-blasts/{id}` shows its progress.
//!
//! Every route needs the `admin` role. The handler decodes requests and maps results to HTTP; it holds no SQL
//! and must not depend on the AWS SDK.

use identity::{Assignments, Role};
use kernel::Tier;
use lambda_http::{Body, Request};
use platform::auth::Authenticator;
use platform::http::{json_body, private_json, segments, HttpHandler, RequestCtx};
use platform::Problem;
use serde_json::Value;
use store::blasts::{Blast, CreatedBlast, NewBlast, PgBlasts};

/// The admin handler.
#[derive(Debug)]
pub struct AdminApi<A> {
    blasts: PgBlasts,
    auth: Authenticator<A>,
    relay: Option<platform::outbox::Relay>,
}

/// A blast request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastRequest {
    pub subject: String,
    pub body: String,
    pub tier: Option<Tier>,
}

/// `{"subject": "...", "body": "...", "tier": "gold"}` (tier optional). Errors name the member.
pub fn parse_blast(v: &Value) -> Result<BlastRequest, Problem> {
    let obj = v
        .as_object()
        .ok_or_else(|| Problem::invalid_body("body", "must be a JSON object with `subject` and `body`"))?;
    if let Some(unknown) = obj.keys().find(|k| !matches!(k.as_str(), "subject" | "body" | "tier")) {
        return Err(Problem::invalid_body(unknown, "is not a member of a blast"));
    }
    let text = |k: &str, max: usize| -> Result<String, Problem> {
        let s = obj
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .ok_or_else(|| Problem::invalid_body(k, "is required and must be a string"))?;
        if s.is_empty() || s.chars().count() > max {
            return Err(Problem::invalid_body(k, format!("must be 1 to {max} characters")));
        }
        Ok(s.to_string())
    };
    let tier = match obj.get("tier") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(
            t.parse()
                .map_err(|e: kernel::TierError| Problem::invalid_body("tier", e.to_string()))?,
        ),
        Some(_) => return Err(Problem::invalid_body("tier", "must be a tier name")),
    };
    Ok(BlastRequest {
        subject: text("subject", 200)?,
        body: text("body", 4000)?,
        tier,
    })
}

impl<A: Assignments + 'static> AdminApi<A> {
    pub fn new(blasts: PgBlasts, auth: Authenticator<A>) -> Self {
        AdminApi {
            blasts,
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
        let actor = self.auth.actor(req).await?;
        if actor.role != Role::Admin {
            return Err(Problem::forbidden("only admins may do this"));
        }
        Ok(actor)
    }

    async fn create_blast(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let actor = self.admin(req).await?;
        let key = platform::http::idempotency_key(req)?;
        let body = json_body(req)?;
        let b = parse_blast(&body)?;
        let created = self
            .blasts
            .create(&NewBlast {
                id: uuid::Uuid::new_v4(),
                subject: &b.subject,
                body: &b.body,
                tier: b.tier,
                requested_by: &actor.subject,
                key: &key,
                fingerprint: &kernel::fingerprint(&body),
            })
            .await
            .map_err(|e| Problem::unavailable(1, e))?;
        match created {
            CreatedBlast::New(blast) => {
                if let Some(r) = &self.relay {
                    r.after_commit(&blast.id.to_string()).await;
                }
                Ok(accepted(&blast, false))
            }
            CreatedBlast::Replayed(blast) => Ok(accepted(&blast, true)),
            CreatedBlast::KeyReused => Err(Problem::key_reused()),
        }
    }

    async fn get_blast(&self, req: &Request, id: &str) -> Result<http::Response<Body>, Problem> {
        self.admin(req).await?;
        let id =
            uuid::Uuid::parse_str(id).map_err(|_| Problem::invalid_parameter("id", "must be a blast id (a UUID)"))?;
        let blast = self.blasts.get(id).await.map_err(|e| Problem::unavailable(1, e))?;
        let blast = blast.ok_or_else(|| Problem::not_found("no such blast"))?;
        Ok(private_json(200, &blast.summary()))
    }
}

fn accepted(blast: &Blast, replayed: bool) -> http::Response<Body> {
    platform::http::created(
        202,
        &blast.summary(),
        &format!("/admin/notification-blasts/{}", blast.id),
        replayed,
    )
}

impl<A: Assignments + 'static> HttpHandler for AdminApi<A> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        use http::Method as M;
        match (req.method(), path.as_slice()) {
            (&M::POST, ["admin", "notification-blasts"]) => self.create_blast(&req).await,
            (&M::GET, ["admin", "notification-blasts", id]) => self.get_blast(&req, id).await,
            (_, ["admin", "notification-blasts"] | ["admin", "notification-blasts", _]) => {
                Err(Problem::method_not_allowed())
            }
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blasts_parse_and_bad_ones_name_the_member() {
        let ok = parse_blast(&json!({"subject": "Promo", "body": "Diskon 10%", "tier": "gold"})).unwrap();
        assert_eq!(ok.tier, Some(Tier::Gold));
        for (v, field) in [
            (json!({"body": "x"}), "subject"),
            (json!({"subject": "x", "body": ""}), "body"),
            (json!({"subject": "x", "body": "y", "tier": "tin"}), "tier"),
            (json!({"subject": "x", "body": "y", "to": "all"}), "to"),
        ] {
            let r = parse_blast(&v).unwrap_err().into_response("r");
            let Body::Text(t) = r.body() else { panic!() };
            let p: Value = serde_json::from_str(t).unwrap();
            assert_eq!(p["errors"][0]["field"], field, "{v}");
        }
    }
}
