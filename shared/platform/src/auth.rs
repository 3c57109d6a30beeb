//! Who is calling: the bearer token verified on every request, and the masquerade header resolved against the
//! agent's assignments. Handlers call [`Authenticator::actor`] and get an [`identity::Actor`] or a problem:
//! 401 for a missing or invalid token, 403 for a masquerade the caller may not make, 400 for a malformed header.

use identity::{AccessError, Actor, Assignments, Jwt, ResolveError, TokenError};
use lambda_glue::problem::Problem;
use lambda_http::Request;

/// The header a sales agent sends to act for one of their partners: the partner's id.
pub const ACT_FOR_HEADER: &str = "x-act-for-partner";

/// Verifies tokens with the function's key and resolves masquerade through `A`.
#[derive(Debug)]
pub struct Authenticator<A> {
    jwt: Jwt,
    assignments: A,
    /// The AI-agent role's own budget, applied to every request an agent token makes.
    limits: Option<std::sync::Arc<crate::limits::RateLimits>>,
}

impl<A: Assignments> Authenticator<A> {
    pub fn new(jwt: Jwt, assignments: A) -> Self {
        Authenticator {
            jwt,
            assignments,
            limits: None,
        }
    }

    /// Applies the AI-agent budget (`ratelimit.ai_agent_per_minute`) to agent tokens.
    pub fn with_limits(mut self, limits: std::sync::Arc<crate::limits::RateLimits>) -> Self {
        self.limits = Some(limits);
        self
    }

    pub fn jwt(&self) -> &Jwt {
        &self.jwt
    }

    /// The actor for this request.
    pub async fn actor(&self, req: &Request) -> Result<Actor, Problem> {
        let token = bearer(req)?;
        let claims = self
            .jwt
            .verify(token, chrono::Utc::now().timestamp())
            .map_err(token_problem)?;
        if let (Some(limits), identity::Role::AiAgent) = (&self.limits, claims.role) {
            limits.check(crate::limits::Class::Agent(claims.sub.clone())).await?;
        }
        let act_for = match req.headers().get(ACT_FOR_HEADER) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .filter(|id| *id > 0)
                    .ok_or_else(|| {
                        Problem::invalid_parameter(ACT_FOR_HEADER, "must be a partner id (a positive integer)")
                    })?,
            ),
        };
        identity::resolve_actor(&claims, act_for, &self.assignments)
            .await
            .map_err(|e| match e {
                ResolveError::Access(a) => access_problem(a),
                ResolveError::Unavailable(cause) => Problem::unavailable(1, cause),
            })
    }
}

impl<A: Assignments> Authenticator<A> {
    /// The actor for this request, if its role is one of `roles`; otherwise 403 saying `who_may`.
    pub async fn actor_in(&self, req: &Request, roles: &[identity::Role], who_may: &str) -> Result<Actor, Problem> {
        let actor = self.actor(req).await?;
        if !roles.contains(&actor.role) {
            return Err(Problem::forbidden(who_may.to_string()));
        }
        Ok(actor)
    }
}

fn bearer(req: &Request) -> Result<&str, Problem> {
    let value = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized("an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not a bearer token"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(Problem::unauthorized("the Authorization header is not a bearer token")),
    }
}

fn token_problem(e: TokenError) -> Problem {
    Problem::unauthorized(format!("the token is not valid: {e}"))
}

/// 403 for access rules.
pub fn access_problem(e: AccessError) -> Problem {
    Problem::forbidden(e.to_string())
}
