//! Identity domain: who a caller is and what a request may act as. This crate owns the roles and token claims,
//! HS256 JWT issue and verify, argon2id password hashing, the login grants, and the rule under which a sales
//! agent acts for (masquerades as) a partner.
//!
//! Every API Lambda verifies a token on every request, so verification is a pure function of the token, the key
//! and the clock: the partner's id, tier and geotag travel inside the token (seed 003: "attributes in the JWT")
//! and pricing and routing rules need no database query to know who is asking.
//!
//! This crate owns no I/O. It must not depend on the AWS SDK, Lambda crates, PostgreSQL or HTTP types, nor on any
//! other Niaga crate besides `kernel`. What needs a database comes in through two ports, [`Accounts`] and
//! [`Assignments`], which the store implements; the clock, random salts and token ids come in as arguments, so
//! every rule here can be pinned by a test.
//!
//! # Layout
//!
//! - [`claims`]: [`Role`], [`PartnerAttrs`], [`Subject`] and the verified [`Claims`], with the rule that only a
//!   partner token carries partner attributes.
//! - [`jwt`]: [`Jwt`], HS256 compact tokens: [`Jwt::issue`] and [`Jwt::verify`].
//! - [`password`]: argon2id PHC hashes with OWASP parameters, and a dummy verification for unknown logins.
//! - [`access`]: the [`Actor`] a request acts as, and [`resolve_actor`] for the masquerade header.
//! - [`login`]: the OAuth2-style token grant: [`Grant`] parsing and [`login()`].

pub mod access;
pub mod claims;
pub mod jwt;
pub mod login;
pub mod password;

#[cfg(test)]
mod testing;

pub use access::{resolve_actor, AccessError, Actor, Assignments, ResolveError};
pub use claims::{Claims, PartnerAttrs, Role, RoleError, Subject};
pub use jwt::{IssueError, Jwt, JwtConfig, KeyError, TokenError, MAX_TOKEN_BYTES, MIN_KEY_BYTES};
pub use login::{login, Account, Accounts, Grant, GrantError, IssuedToken, LoginError};
pub use password::{hash_password, verify_against_dummy, verify_password, PasswordError};
