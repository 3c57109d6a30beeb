//! `auth-api`: `POST /auth/token`, the token endpoint. People (admin, sales agents, partners) use the password
//! grant; AI agents use client credentials. The answer is a short-lived HS256 JWT carrying the role and, for
//! partners, the partner id, tier and geotag.
//!
//! The body may be a form (`application/x-www-form-urlencoded`, as OAuth2 clients send it) or JSON. Every failed
//! login is the same 401, whatever the reason, so the endpoint does not reveal which logins exist.
//!
//! The handler decodes and maps; the rules live in the `identity` crate. It must not depend on the AWS SDK or hold
//! SQL.

use identity::{Accounts, Grant, Jwt, LoginError};
use lambda_glue::http::{
    body_bytes, form_pairs, media_type, parse_json, private_json, segments, HttpHandler, RequestCtx,
};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use serde_json::Value;

#[derive(Debug)]
pub struct AuthApi<A> {
    accounts: A,
    jwt: Jwt,
    /// Login attempts per account and per source address.
    limits: Option<platform::limits::RateLimits>,
}

impl<A: Accounts + 'static> AuthApi<A> {
    pub fn new(accounts: A, jwt: Jwt) -> Self {
        AuthApi {
            accounts,
            jwt,
            limits: None,
        }
    }

    pub fn with_limits(mut self, limits: platform::limits::RateLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    async fn token(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let fields: Vec<(String, String)> = match media_type(req).as_deref() {
            Some("application/x-www-form-urlencoded") => form_pairs(body_bytes(req))?,
            None | Some("application/json") => match parse_json(body_bytes(req))? {
                Value::Object(m) => m
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k, s)),
                        _ => Err(Problem::invalid_body(&k, "must be a string")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(Problem::invalid_body("body", "must be a JSON object")),
            },
            Some(_) => {
                return Err(Problem::unsupported_media_type(
                    "application/x-www-form-urlencoded or application/json",
                ))
            }
        };
        let grant = Grant::from_fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| Problem::invalid_body(e.field, e.message))?;
        if let Some(limits) = &self.limits {
            use platform::limits::Class;
            limits
                .check(Class::LoginSource(platform::limits::source_ip(req)))
                .await?;
            limits
                .check(Class::LoginAccount(grant.login_name().to_string()))
                .await?;
        }
        let jti = uuid::Uuid::new_v4().to_string();
        match identity::login(&self.accounts, &self.jwt, &grant, chrono::Utc::now().timestamp(), &jti).await {
            Ok(t) => Ok(private_json(
                200,
                &serde_json::to_value(TokenView {
                    access_token: t.access_token,
                    token_type: t.token_type.to_string(),
                    expires_in: t.expires_in,
                    role: t.role.as_str().to_string(),
                })
                .map_err(Problem::internal)?,
            )),
            Err(LoginError::InvalidCredentials) => Err(Problem::client(
                401,
                "invalid-credentials",
                "Invalid credentials",
                "the login or secret is wrong, or the account may not use this grant",
            )),
            Err(LoginError::Unavailable(cause)) => Err(Problem::unavailable(1, cause)),
            Err(LoginError::Issue(e)) => Err(Problem::internal(e)),
        }
    }
}

impl<A: Accounts + 'static> HttpHandler for AuthApi<A> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (req.method(), path.as_slice()) {
            (&http::Method::POST, ["auth", "token"]) => self.token(&req).await,
            (_, ["auth", "token"]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

/// A token, as OAuth2 clients expect it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TokenView {
    /// An HS256 JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// `admin`, `sales_agent`, `partner` or `ai_agent`.
    pub role: String,
}

/// `POST /auth/token`'s body, as a form or as JSON; every member is a string.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// People: admins, sales agents and partners.
    Password { username: String, password: String },
    /// AI agents.
    ClientCredentials { client_id: String, client_secret: String },
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    vec![
        platform::openapi::Operation::new("POST", "/auth/token", "issueToken", "Log in and get an access token")
            .tag("auth-api")
            .describe("Every failed login is the same 401, whatever the reason. Logins are rate-limited per account and per source address.")
            .form_body::<TokenRequest>()
            .json_body::<TokenRequest>()
            .answers::<TokenView>(200, "A token for 15 minutes."),
    ]
}
