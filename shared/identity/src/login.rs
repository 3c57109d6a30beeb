//! The token grant (OAuth2-style): people log in with a password, AI agents with client credentials, and both get
//! a short-lived bearer token.
//!
//! Every refusal looks the same from outside, one message and about the same time, so the grant cannot be used
//! to learn which logins exist, which are disabled, or which role an account has.

use crate::claims::{PartnerAttrs, Role, Subject};
use crate::jwt::{IssueError, Jwt};
use crate::password::{verify_against_dummy, verify_password};
use kernel::SecretString;
use std::fmt;
use std::future::Future;

/// Longest username or client id accepted, in characters.
pub const MAX_LOGIN_CHARS: usize = 128;
/// Longest password or client secret accepted, in characters; argon2 would hash more, but nobody types it.
pub const MAX_SECRET_CHARS: usize = 1024;

/// A parsed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Password {
        username: String,
        password: SecretString,
    },
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

/// A token request field that is missing or out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct GrantError {
    pub field: &'static str,
    pub message: String,
}

impl GrantError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        GrantError {
            field,
            message: message.into(),
        }
    }
}

impl Grant {
    /// From form or JSON fields: `grant_type` = `password` (`username`, `password`) | `client_credentials`
    /// (`client_id`, `client_secret`). Unknown fields (`scope`, say) are ignored, as OAuth2 asks; a known field sent
    /// twice is refused, since two values would leave it unclear which one was checked.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Grant, GrantError> {
        let mut grant_type = None;
        let mut username = None;
        let mut password = None;
        let mut client_id = None;
        let mut client_secret = None;
        for (name, value) in fields {
            let (field, slot) = match name {
                "grant_type" => ("grant_type", &mut grant_type),
                "username" => ("username", &mut username),
                "password" => ("password", &mut password),
                "client_id" => ("client_id", &mut client_id),
                "client_secret" => ("client_secret", &mut client_secret),
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(GrantError::new(field, "must be sent only once"));
            }
        }
        match grant_type {
            None | Some("") => Err(GrantError::new("grant_type", "is required")),
            Some("password") => Ok(Grant::Password {
                username: bounded("username", username, MAX_LOGIN_CHARS)?.to_string(),
                password: SecretString::new(bounded("password", password, MAX_SECRET_CHARS)?),
            }),
            Some("client_credentials") => Ok(Grant::ClientCredentials {
                client_id: bounded("client_id", client_id, MAX_LOGIN_CHARS)?.to_string(),
                client_secret: SecretString::new(bounded("client_secret", client_secret, MAX_SECRET_CHARS)?),
            }),
            Some(_) => Err(GrantError::new("grant_type", "must be password or client_credentials")),
        }
    }

    /// The login name this grant presents: the username or the client id.
    pub fn login_name(&self) -> &str {
        match self {
            Grant::Password { username, .. } => username,
            Grant::ClientCredentials { client_id, .. } => client_id,
        }
    }

    fn secret(&self) -> &SecretString {
        match self {
            Grant::Password { password, .. } => password,
            Grant::ClientCredentials { client_secret, .. } => client_secret,
        }
    }

    /// Passwords are for people; client credentials are for AI agents. Keeping them apart means a leaked agent
    /// secret cannot be replayed through the password form, nor a person's password through a machine client.
    fn allows(&self, role: Role) -> bool {
        match self {
            Grant::Password { .. } => matches!(role, Role::Admin | Role::SalesAgent | Role::Partner),
            Grant::ClientCredentials { .. } => role == Role::AiAgent,
        }
    }
}

/// A required field of 1 to `max` characters. Values are not trimmed: a password's spaces are part of it.
fn bounded<'a>(field: &'static str, value: Option<&'a str>, max: usize) -> Result<&'a str, GrantError> {
    match value {
        None | Some("") => Err(GrantError::new(field, "is required")),
        Some(v) if v.chars().count() > max => Err(GrantError::new(field, format!("must be at most {max} characters"))),
        Some(v) => Ok(v),
    }
}

/// An account as the store holds it.
#[derive(Clone)]
pub struct Account {
    pub sub: String,
    pub role: Role,
    /// argon2id PHC string of the password or client secret.
    pub secret_hash: String,
    pub partner: Option<PartnerAttrs>,
    pub active: bool,
}

impl fmt::Debug for Account {
    // By hand, so a logged account never carries a hash to crack offline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("sub", &self.sub)
            .field("role", &self.role)
            .field("secret_hash", &"[redacted]")
            .field("partner", &self.partner)
            .field("active", &self.active)
            .finish()
    }
}

/// Account lookup port (database adapter implements it).
pub trait Accounts: Send + Sync {
    /// MUST return the account whose login name (username for people, client_id for AI agents) is `login`, active
    /// or not.
    fn by_login(&self, login: &str) -> impl Future<Output = anyhow::Result<Option<Account>>> + Send;
}

/// A granted token, shaped for an OAuth2 token response.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    pub role: Role,
}

impl fmt::Debug for IssuedToken {
    // By hand: the access token is a bearer credential and has no place in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("role", &self.role)
            .finish()
    }
}

/// Why no token was granted.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account store unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Grants a token. The password grant is for admin, sales_agent and partner accounts only; client_credentials only
/// for ai_agent accounts.
///
/// Unknown login, wrong secret, inactive account, or grant/role mismatch are all
/// [`LoginError::InvalidCredentials`], and each spends one argon2id verification (an unknown login spends it on
/// [`verify_against_dummy`]), so neither the message nor the time says which it was. The verification is
/// CPU-bound and runs on the caller's thread: on Lambda one request owns the instance, so nothing else waits on it.
pub async fn login<A: Accounts>(
    accounts: &A,
    jwt: &Jwt,
    grant: &Grant,
    now_unix: i64,
    jti: &str,
) -> Result<IssuedToken, LoginError> {
    let secret = grant.secret().expose();
    let account = accounts
        .by_login(grant.login_name())
        .await
        .map_err(LoginError::Unavailable)?;
    let Some(account) = account else {
        verify_against_dummy(secret);
        return Err(LoginError::InvalidCredentials);
    };
    // Verified first and unconditionally, so an inactive account or a role mismatch costs the same time.
    let secret_ok = verify_password(secret, &account.secret_hash);
    if !secret_ok || !account.active || !grant.allows(account.role) {
        return Err(LoginError::InvalidCredentials);
    }
    let subject = Subject {
        sub: account.sub,
        role: account.role,
        partner: account.partner,
    };
    let access_token = jwt.issue(&subject, now_unix, jti)?;
    Ok(IssuedToken {
        access_token,
        token_type: "Bearer",
        expires_in: jwt.config().ttl_s,
        role: account.role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::JwtConfig;
    use crate::password::hash_password;
    use crate::testing::{assert_send, block_on};
    use kernel::{GeoPoint, Tier};
    use std::collections::HashMap;
    use std::future::ready;
    use std::sync::OnceLock;

    const NOW: i64 = 1_750_000_000;
    const PASSWORD: &str = "correct horse battery staple";

    /// One hash shared by every account, so the suite pays for argon2 once.
    fn phc() -> &'static str {
        static PHC: OnceLock<String> = OnceLock::new();
        PHC.get_or_init(|| hash_password(PASSWORD, &[9u8; 16]).unwrap())
    }

    struct FakeAccounts(HashMap<String, Account>);

    impl Accounts for FakeAccounts {
        fn by_login(&self, login: &str) -> impl Future<Output = anyhow::Result<Option<Account>>> + Send {
            ready(Ok(self.0.get(login).cloned()))
        }
    }

    struct BrokenAccounts;

    impl Accounts for BrokenAccounts {
        fn by_login(&self, _: &str) -> impl Future<Output = anyhow::Result<Option<Account>>> + Send {
            ready(Err(anyhow::anyhow!("connection refused")))
        }
    }

    fn partner() -> PartnerAttrs {
        PartnerAttrs {
            id: 42,
            tier: Tier::Platinum,
            geo: GeoPoint::new(-6_900_000, 107_600_000).unwrap(),
        }
    }

    fn account(sub: &str, role: Role, partner: Option<PartnerAttrs>, active: bool) -> Account {
        Account {
            sub: sub.into(),
            role,
            secret_hash: phc().to_string(),
            partner,
            active,
        }
    }

    fn accounts() -> FakeAccounts {
        FakeAccounts(HashMap::from([
            (
                "toko-maju".into(),
                account("partner-42", Role::Partner, Some(partner()), true),
            ),
            ("budi".into(), account("agent-1", Role::SalesAgent, None, true)),
            (
                "closed".into(),
                account("partner-9", Role::Partner, Some(partner()), false),
            ),
            ("bot-client".into(), account("bot-1", Role::AiAgent, None, true)),
        ]))
    }

    fn jwt() -> Jwt {
        Jwt::hs256(
            &SecretString::new("login-test-key-0123456789abcdefghij"),
            JwtConfig::niaga("test"),
        )
        .unwrap()
    }

    fn password(username: &str, password: &str) -> Grant {
        Grant::Password {
            username: username.into(),
            password: SecretString::new(password),
        }
    }

    fn client(client_id: &str, secret: &str) -> Grant {
        Grant::ClientCredentials {
            client_id: client_id.into(),
            client_secret: SecretString::new(secret),
        }
    }

    fn run(grant: &Grant) -> Result<IssuedToken, LoginError> {
        block_on(login(&accounts(), &jwt(), grant, NOW, "jti-1"))
    }

    #[test]
    fn the_right_password_yields_a_token_that_verifies_with_role_and_partner() {
        let issued = run(&password("toko-maju", PASSWORD)).unwrap();
        assert_eq!(
            (issued.token_type, issued.expires_in, issued.role),
            ("Bearer", 900, Role::Partner)
        );
        let claims = jwt().verify(&issued.access_token, NOW).unwrap();
        assert_eq!(claims.sub, "partner-42");
        assert_eq!(claims.role, Role::Partner);
        assert_eq!(claims.partner(), Some(partner()));
        assert_eq!(claims.jti, "jti-1");
    }

    #[test]
    fn an_ai_agent_logs_in_with_client_credentials() {
        let issued = run(&client("bot-client", PASSWORD)).unwrap();
        assert_eq!(issued.role, Role::AiAgent);
        assert_eq!(jwt().verify(&issued.access_token, NOW).unwrap().sub, "bot-1");
    }

    #[test]
    fn every_kind_of_refusal_is_the_same_invalid_credentials() {
        for grant in [
            password("toko-maju", "wrong password"),
            password("nobody", PASSWORD),
            password("closed", PASSWORD),
            password("bot-client", PASSWORD),
            client("toko-maju", PASSWORD),
            client("budi", PASSWORD),
        ] {
            let err = run(&grant).unwrap_err();
            assert!(matches!(err, LoginError::InvalidCredentials), "{grant:?}: {err:?}");
            assert_eq!(err.to_string(), "invalid credentials");
        }
    }

    #[test]
    fn an_unavailable_account_store_is_not_reported_as_bad_credentials() {
        let err = block_on(login(&BrokenAccounts, &jwt(), &password("budi", PASSWORD), NOW, "j")).unwrap_err();
        assert!(matches!(err, LoginError::Unavailable(_)));
    }

    #[test]
    fn a_partner_account_without_attributes_cannot_be_issued_a_token() {
        let store = FakeAccounts(HashMap::from([(
            "broken".into(),
            account("partner-1", Role::Partner, None, true),
        )]));
        let err = block_on(login(&store, &jwt(), &password("broken", PASSWORD), NOW, "j")).unwrap_err();
        assert!(matches!(err, LoginError::Issue(IssueError::MissingPartner)));
    }

    #[test]
    fn grants_parse_from_fields() {
        assert_eq!(
            Grant::from_fields([
                ("grant_type", "password"),
                ("username", "budi"),
                ("password", " pw "),
                ("scope", "ignored")
            ]),
            Ok(password("budi", " pw "))
        );
        assert_eq!(
            Grant::from_fields([
                ("client_secret", "s3cret"),
                ("client_id", "bot-client"),
                ("grant_type", "client_credentials")
            ]),
            Ok(client("bot-client", "s3cret"))
        );
    }

    #[test]
    fn grant_errors_name_the_field() {
        let field = |fields: &[(&str, &str)]| Grant::from_fields(fields.iter().copied()).unwrap_err().field;
        let long_name = "n".repeat(129);
        let long_secret = "s".repeat(1025);
        assert_eq!(field(&[]), "grant_type");
        assert_eq!(field(&[("grant_type", "authorization_code")]), "grant_type");
        assert_eq!(field(&[("grant_type", "password"), ("password", "pw")]), "username");
        assert_eq!(field(&[("grant_type", "password"), ("username", "budi")]), "password");
        assert_eq!(
            field(&[("grant_type", "password"), ("username", &long_name), ("password", "pw")]),
            "username"
        );
        assert_eq!(
            field(&[
                ("grant_type", "password"),
                ("username", "budi"),
                ("password", &long_secret)
            ]),
            "password"
        );
        assert_eq!(
            field(&[
                ("grant_type", "client_credentials"),
                ("client_id", ""),
                ("client_secret", "s")
            ]),
            "client_id"
        );
        assert_eq!(
            field(&[("grant_type", "client_credentials"), ("client_id", "bot")]),
            "client_secret"
        );
        assert_eq!(
            field(&[
                ("grant_type", "password"),
                ("username", "a"),
                ("username", "b"),
                ("password", "pw")
            ]),
            "username"
        );
        let err = Grant::from_fields([("grant_type", "password"), ("password", "pw")]).unwrap_err();
        assert_eq!(err.to_string(), "username is required");
    }

    #[test]
    fn the_longest_allowed_values_are_accepted() {
        let name = "é".repeat(128);
        let secret = "s".repeat(1024);
        let grant = Grant::from_fields([("grant_type", "password"), ("username", &name), ("password", &secret)]);
        assert_eq!(grant.unwrap().login_name(), name);
    }

    #[test]
    fn debug_output_reveals_no_secret_hash_or_token() {
        let acc = account("agent-1", Role::SalesAgent, None, true);
        let grant = password("budi", "hunter2-hunter2");
        let issued = IssuedToken {
            access_token: "eyJ.secret.token".into(),
            token_type: "Bearer",
            expires_in: 900,
            role: Role::Admin,
        };
        let shown = format!("{acc:?} {grant:?} {issued:?}");
        assert!(
            !shown.contains("argon2") && !shown.contains("hunter2") && !shown.contains("eyJ"),
            "{shown}"
        );
    }

    #[test]
    fn the_login_future_is_send() {
        fn check<A: Accounts>(accounts: &A, jwt: &Jwt, grant: &Grant) {
            assert_send(&login(accounts, jwt, grant, NOW, "j"));
        }
        check(&accounts(), &jwt(), &password("budi", PASSWORD));
    }
}
