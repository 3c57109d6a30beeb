//! HS256 JSON Web Tokens, written directly on HMAC-SHA256 and base64url.
//!
//! One algorithm, one key, one header: a general JWT library would accept whatever the token's header names, and
//! algorithm confusion (`alg: none`, an HMAC keyed with a public key) is the classic way such tokens are forged.
//! Here the header must say exactly `HS256`, and everything else is refused before the signature is even checked.

use crate::claims::{check_partner_rule, Claims, PartnerRuleBroken, Role, Subject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use kernel::{GeoPoint, SecretString, Tier};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Shortest signing key accepted. HS256 keys shorter than the hash output (32 bytes) weaken the MAC (RFC 7518 §3.2).
pub const MIN_KEY_BYTES: usize = 32;

/// Longest token accepted. Niaga's tokens are a few hundred bytes; the cap bounds the work an attacker can demand
/// before the signature is checked.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The only header this crate writes.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Longest algorithm name echoed back in [`TokenError::UnsupportedAlgorithm`]; it comes from the caller.
const MAX_ECHOED_ALG: usize = 16;

/// Who issues and who accepts tokens, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    /// Token lifetime in seconds.
    pub ttl_s: i64,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_s: i64,
}

impl JwtConfig {
    /// Niaga's settings for one environment: short-lived tokens (15 minutes) because there is no revocation list,
    /// and 30 s of leeway for clock skew between Lambda hosts.
    pub fn niaga(env: &str) -> Self {
        JwtConfig {
            issuer: format!("niaga-{env}"),
            audience: "niaga-api".to_string(),
            ttl_s: 900,
            leeway_s: 30,
        }
    }
}

/// Why a signing key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key must be at least {min} bytes")]
    TooShort { min: usize },
}

/// Why a token could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("the subject must not be empty")]
    EmptySubject,
    #[error("a partner token must carry the partner's id, tier and geotag")]
    MissingPartner,
    #[error("only a partner token may carry partner attributes")]
    UnexpectedPartner,
    #[error("the token's expiry is out of range")]
    ExpiryOutOfRange,
    #[error("the token would be longer than {max} bytes", max = MAX_TOKEN_BYTES)]
    TooLarge,
    #[error("the claims could not be encoded")]
    Encode,
}

/// Why a token was refused. Every message is safe to return to the caller: none carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("unsupported token algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token's claims are invalid: {0}")]
    InvalidClaims(String),
}

/// An HS256 signer and verifier. It signs with the current key and accepts tokens signed with the current key or,
/// after a rotation, the previous one, so tokens issued just before a key changes live out their lifetime. Clones
/// share their keys: [`Jwt::rotate`] on one changes them for all.
#[derive(Clone)]
pub struct Jwt {
    keys: std::sync::Arc<std::sync::RwLock<Keys>>,
    config: JwtConfig,
}

/// The keyed MAC states; cloned per token so the raw keys are not kept around as bytes.
#[derive(Clone)]
struct Keys {
    current: HmacSha256,
    previous: Option<HmacSha256>,
}

fn mac_for(key: &SecretString) -> Result<HmacSha256, KeyError> {
    let bytes = key.expose().as_bytes();
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort { min: MIN_KEY_BYTES });
    }
    // HMAC accepts keys of any length, so this cannot fail; mapped rather than unwrapped all the same.
    HmacSha256::new_from_slice(bytes).map_err(|_| KeyError::TooShort { min: MIN_KEY_BYTES })
}

impl fmt::Debug for Jwt {
    // Written by hand so the key can never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("alg", &"HS256")
            .field("key", &"[redacted]")
            .field("config", &self.config)
            .finish()
    }
}

impl Jwt {
    /// `key` is the signing key from Secrets Manager (the platform already refuses keys < 32 chars; this refuses
    /// keys < 32 bytes as well, so no caller can bypass the check).
    pub fn hs256(key: &SecretString, config: JwtConfig) -> Result<Jwt, KeyError> {
        Ok(Jwt {
            keys: std::sync::Arc::new(std::sync::RwLock::new(Keys {
                current: mac_for(key)?,
                previous: None,
            })),
            config,
        })
    }

    /// Replaces the keys (in every clone): signs with `current` from now on, and accepts `previous` as well until
    /// the next rotation. Both are checked before anything changes, so a bad key leaves the old ones in place.
    pub fn rotate(&self, current: &SecretString, previous: Option<&SecretString>) -> Result<(), KeyError> {
        let keys = Keys {
            current: mac_for(current)?,
            previous: previous.map(mac_for).transpose()?,
        };
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    fn keys(&self) -> Keys {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Signs claims for `subject`: iat = nbf = now_unix, exp = now_unix + ttl_s. Header exactly
    /// `{"alg":"HS256","typ":"JWT"}`.
    pub fn issue(&self, subject: &Subject, now_unix: i64, jti: &str) -> Result<String, IssueError> {
        if subject.sub.is_empty() {
            return Err(IssueError::EmptySubject);
        }
        let has_partner = subject.partner.is_some();
        check_partner_rule(subject.role, has_partner, has_partner).map_err(|broken| match broken {
            PartnerRuleBroken::Missing => IssueError::MissingPartner,
            PartnerRuleBroken::Unexpected => IssueError::UnexpectedPartner,
        })?;
        let exp = now_unix
            .checked_add(self.config.ttl_s)
            .ok_or(IssueError::ExpiryOutOfRange)?;
        let claims = Claims {
            sub: subject.sub.clone(),
            role: subject.role,
            partner_id: subject.partner.map(|p| p.id),
            tier: subject.partner.map(|p| p.tier),
            geo: subject.partner.map(|p| p.geo),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            iat: now_unix,
            nbf: now_unix,
            exp,
            jti: jti.to_string(),
        };
        let payload = serde_json::to_vec(&claims).map_err(|_| IssueError::Encode)?;

        let mut token = URL_SAFE_NO_PAD.encode(HEADER_JSON);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature = self.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        // A token this crate would refuse to verify is not worth handing out.
        if token.len() > MAX_TOKEN_BYTES {
            return Err(IssueError::TooLarge);
        }
        Ok(token)
    }

    /// Verifies a compact JWS. Order: shape (3 base64url parts, JSON header) → header `alg` must be exactly
    /// `HS256` (no `crit`) → constant-time signature check over `header.payload` → claims JSON → exp → nbf →
    /// iss → aud → role/partner consistency.
    ///
    /// Nothing in the payload is looked at before the signature holds, so a forged token learns nothing about
    /// which claim checks exist.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = decode_part(header_b64)?;
        let payload = decode_part(payload_b64)?;
        let signature = decode_part(signature_b64)?;

        check_header(&header)?;

        // The signing input is the first two parts exactly as sent, not a re-encoding of them.
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        let keys = self.keys();
        // subtle compares in constant time for equal lengths; a length mismatch reveals only the (public) length.
        // Both keys are always tried, so the time taken does not say which one signed.
        let current = mac(&keys.current, signing_input).as_slice().ct_eq(signature.as_slice());
        let previous = keys.previous.as_ref().map_or(subtle::Choice::from(0), |k| {
            mac(k, signing_input).as_slice().ct_eq(signature.as_slice())
        });
        if !bool::from(current | previous) {
            return Err(TokenError::BadSignature);
        }

        let wire = parse_claims(&payload)?;

        let leeway = self.config.leeway_s;
        // Saturating: a signed token is trusted data, but an i64::MAX expiry must not overflow into a panic.
        if now_unix > wire.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if now_unix.saturating_add(leeway) < wire.nbf {
            return Err(TokenError::NotYetValid);
        }
        if wire.iss != self.config.issuer {
            return Err(TokenError::WrongIssuer);
        }
        let aud_ok = match &wire.aud {
            Audience::One(aud) => *aud == self.config.audience,
            Audience::Many(auds) => auds.contains(&self.config.audience),
        };
        if !aud_ok {
            return Err(TokenError::WrongAudience);
        }

        let claims = Claims {
            sub: wire.sub,
            role: wire.role,
            partner_id: wire.partner_id,
            tier: wire.tier,
            geo: wire.geo,
            iss: wire.iss,
            aud: self.config.audience.clone(),
            iat: wire.iat,
            nbf: wire.nbf,
            exp: wire.exp,
            jti: wire.jti,
        };
        check_consistency(&claims)?;
        Ok(claims)
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        mac(&self.keys().current, input)
    }
}

fn mac(key: &HmacSha256, input: &[u8]) -> Vec<u8> {
    let mut mac = key.clone();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// Decodes one part. `URL_SAFE_NO_PAD` refuses padding and non-zero trailing bits, so each token has exactly one
/// spelling and a signature cannot be varied without changing its bytes.
fn decode_part(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)
}

/// The header fields this crate judges; others (`typ`, `kid`) are ignored, since there is one key and one
/// algorithm. Derived deserialisation refuses a duplicated `alg`, so two parsers cannot read two algorithms.
#[derive(Deserialize)]
struct Header {
    #[serde(default, deserialize_with = "present")]
    alg: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    crit: Option<Value>,
}

/// Marks a header field present even when its value is `null`: `"crit": null` is still a `crit`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// True when the JSON text is an object. Derived structs also accept arrays, which no JOSE header or claim set is.
fn is_json_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn check_header(bytes: &[u8]) -> Result<(), TokenError> {
    if !is_json_object(bytes) {
        return Err(TokenError::Malformed);
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|_| TokenError::Malformed)?;
    match header.alg {
        None => return Err(TokenError::UnsupportedAlgorithm("<missing>".into())),
        // Case-sensitive on purpose: "hs256" is not a registered algorithm name.
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => return Err(TokenError::UnsupportedAlgorithm(echo_safe(&alg))),
        Some(_) => return Err(TokenError::UnsupportedAlgorithm("<not a string>".into())),
    }
    // `crit` lists extensions the verifier must understand (RFC 7515 §4.1.11); this verifier understands none.
    if header.crit.is_some() {
        return Err(TokenError::UnsupportedAlgorithm("<crit>".into()));
    }
    Ok(())
}

/// A short, printable rendering of a caller-supplied algorithm name, fit for an error body.
fn echo_safe(alg: &str) -> String {
    let clean: String = alg
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'))
        .take(MAX_ECHOED_ALG)
        .collect();
    if clean.is_empty() {
        "<unprintable>".into()
    } else {
        clean
    }
}

/// The claims as they arrive, before `aud` is narrowed to this service's audience.
#[derive(Deserialize)]
struct WireClaims {
    sub: String,
    role: Role,
    #[serde(default)]
    partner_id: Option<i64>,
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    geo: Option<GeoPoint>,
    iss: String,
    aud: Audience,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// RFC 7519 allows `aud` to be one string or an array of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

fn parse_claims(bytes: &[u8]) -> Result<WireClaims, TokenError> {
    // Fixed wording: serde's messages would echo payload fragments, which belong in no response body.
    let invalid = || TokenError::InvalidClaims("not a JSON object with the expected claims".into());
    if !is_json_object(bytes) {
        return Err(invalid());
    }
    serde_json::from_slice(bytes).map_err(|_| invalid())
}

fn check_consistency(claims: &Claims) -> Result<(), TokenError> {
    if claims.sub.is_empty() {
        return Err(TokenError::InvalidClaims("sub must not be empty".into()));
    }
    let any = claims.partner_id.is_some() || claims.tier.is_some() || claims.geo.is_some();
    check_partner_rule(claims.role, any, claims.partner().is_some()).map_err(|broken| match broken {
        PartnerRuleBroken::Missing => {
            TokenError::InvalidClaims("a partner token must carry partner_id, tier and geo".into())
        }
        PartnerRuleBroken::Unexpected => {
            TokenError::InvalidClaims("only a partner token carries partner attributes".into())
        }
    })?;
    // GeoPoint's derived Deserialize does not range-check, so a geotag from the wire is re-validated here.
    if let Some(geo) = claims.geo {
        GeoPoint::new(geo.lat_e6(), geo.lon_e6())
            .map_err(|_| TokenError::InvalidClaims("geo is out of range".into()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::PartnerAttrs;
    use proptest::prelude::*;

    const KEY: &str = "k3y-for-tests-only-0123456789abcdef";
    const OTHER_KEY: &str = "another-key-of-enough-length-0123456789";
    const NOW: i64 = 1_750_000_000;

    fn jwt_with(key: &str) -> Jwt {
        Jwt::hs256(&SecretString::new(key), JwtConfig::niaga("test")).unwrap()
    }

    fn jwt() -> Jwt {
        jwt_with(KEY)
    }

    fn partner() -> PartnerAttrs {
        PartnerAttrs {
            id: 42,
            tier: Tier::Gold,
            geo: GeoPoint::new(-6_200_000, 106_816_666).unwrap(),
        }
    }

    fn partner_subject() -> Subject {
        Subject {
            sub: "partner-42".into(),
            role: Role::Partner,
            partner: Some(partner()),
        }
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with any header and payload, correctly HMAC-SHA256-signed with `key`, so only the check under
    /// test can refuse it.
    fn forge(key: &str, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let mut mac = HmacSha256::new_from_slice(key.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(mac.finalize().into_bytes()))
    }

    #[test]
    fn after_a_rotation_new_tokens_use_the_new_key_and_old_ones_live_until_the_next_rotation() {
        let jwt = jwt();
        let shared = jwt.clone();
        let old = jwt.issue(&partner_subject(), NOW, "a").unwrap();

        jwt.rotate(&SecretString::new(OTHER_KEY), Some(&SecretString::new(KEY)))
            .unwrap();
        let new = shared.issue(&partner_subject(), NOW, "b").unwrap();
        assert!(
            jwt_with(OTHER_KEY).verify(&new, NOW).is_ok(),
            "clones sign with the new key"
        );
        assert_eq!(jwt_with(KEY).verify(&new, NOW).unwrap_err(), TokenError::BadSignature);
        assert!(
            shared.verify(&old, NOW).is_ok(),
            "a token of the previous key is still good"
        );
        assert!(shared.verify(&new, NOW).is_ok());

        let third = "a-third-key-long-enough-0123456789abcdef";
        jwt.rotate(&SecretString::new(third), Some(&SecretString::new(OTHER_KEY)))
            .unwrap();
        assert_eq!(shared.verify(&old, NOW).unwrap_err(), TokenError::BadSignature);
        assert!(shared.verify(&new, NOW).is_ok());
    }

    #[test]
    fn a_short_key_in_a_rotation_changes_nothing() {
        let jwt = jwt();
        let old = jwt.issue(&partner_subject(), NOW, "a").unwrap();
        assert!(jwt.rotate(&SecretString::new("short"), None).is_err());
        assert!(jwt.verify(&old, NOW).is_ok());
        assert!(jwt_with(KEY)
            .verify(&jwt.issue(&partner_subject(), NOW, "b").unwrap(), NOW)
            .is_ok());
    }

    /// Valid claims JSON for the test config, with overrides applied.
    fn payload_with(overrides: serde_json::Value) -> String {
        let mut base = serde_json::json!({
            "sub": "admin-1", "role": "admin", "iss": "niaga-test", "aud": "niaga-api",
            "iat": NOW, "nbf": NOW, "exp": NOW + 900, "jti": "j-1"
        });
        let (Some(obj), Some(extra)) = (base.as_object_mut(), overrides.as_object()) else {
            panic!("objects expected");
        };
        for (k, v) in extra {
            if v.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), v.clone());
            }
        }
        base.to_string()
    }

    #[test]
    fn an_issued_token_verifies_to_the_same_subject() {
        let jwt = jwt();
        let token = jwt.issue(&partner_subject(), NOW, "jti-1").unwrap();
        let claims = jwt.verify(&token, NOW + 10).unwrap();
        assert_eq!(claims.sub, "partner-42");
        assert_eq!(claims.role, Role::Partner);
        assert_eq!(claims.partner(), Some(partner()));
        assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + 900));
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("niaga-test", "niaga-api"));
        assert_eq!(claims.jti, "jti-1");
    }

    #[test]
    fn the_header_is_exactly_hs256_jwt() {
        let token = jwt().issue(&partner_subject(), NOW, "j").unwrap();
        let header = token.split('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(header).unwrap(), HEADER_JSON.as_bytes());
    }

    #[test]
    fn a_non_partner_token_round_trips_without_partner_attributes() {
        let jwt = jwt();
        let subject = Subject {
            sub: "agent-1".into(),
            role: Role::SalesAgent,
            partner: None,
        };
        let claims = jwt.verify(&jwt.issue(&subject, NOW, "j").unwrap(), NOW).unwrap();
        assert_eq!(claims.role, Role::SalesAgent);
        assert_eq!((claims.partner_id, claims.tier, claims.geo), (None, None, None));
    }

    #[test]
    fn an_alg_none_token_is_refused() {
        let token = format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(payload_with(serde_json::json!({})))
        );
        assert_eq!(
            jwt().verify(&token, NOW),
            Err(TokenError::UnsupportedAlgorithm("none".into()))
        );
    }

    #[test]
    fn an_hs512_or_rs256_header_is_refused_even_with_a_valid_hs256_signature() {
        for alg in ["HS512", "RS256", "hs256", "HS256 "] {
            let token = forge(
                KEY,
                &format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
                &payload_with(serde_json::json!({})),
            );
            assert!(
                matches!(jwt().verify(&token, NOW), Err(TokenError::UnsupportedAlgorithm(_))),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_header_without_alg_or_with_crit_is_refused() {
        let payload = payload_with(serde_json::json!({}));
        for header in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":null}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
            r#"{"alg":"HS256","crit":null}"#,
        ] {
            let token = forge(KEY, header, &payload);
            assert!(
                matches!(jwt().verify(&token, NOW), Err(TokenError::UnsupportedAlgorithm(_))),
                "{header}"
            );
        }
    }

    #[test]
    fn a_header_naming_alg_twice_is_malformed() {
        let token = forge(
            KEY,
            r#"{"alg":"none","alg":"HS256"}"#,
            &payload_with(serde_json::json!({})),
        );
        assert_eq!(jwt().verify(&token, NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn a_correctly_forged_hs256_token_is_accepted_which_keeps_the_other_tests_honest() {
        let token = forge(KEY, r#"{"alg":"HS256"}"#, &payload_with(serde_json::json!({})));
        assert_eq!(jwt().verify(&token, NOW).unwrap().role, Role::Admin);
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let token = jwt_with(OTHER_KEY).issue(&partner_subject(), NOW, "j").unwrap();
        assert_eq!(jwt().verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_tampered_payload_with_the_original_signature_is_refused() {
        let token = jwt().issue(&partner_subject(), NOW, "j").unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
        assert_eq!(jwt().verify(&tampered, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_truncated_or_altered_signature_is_refused() {
        let token = jwt().issue(&partner_subject(), NOW, "j").unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let short = format!("{input}.{}", &sig[..sig.len() - 2]);
        assert!(jwt().verify(&short, NOW).is_err());
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{input}.{}", b64(bytes));
        assert_eq!(jwt().verify(&flipped, NOW), Err(TokenError::BadSignature));
        let empty = format!("{input}.");
        assert_eq!(jwt().verify(&empty, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn an_expired_token_is_refused_beyond_the_leeway_and_accepted_within_it() {
        let jwt = jwt();
        let token = jwt.issue(&partner_subject(), NOW, "j").unwrap();
        let exp = NOW + 900;
        assert!(jwt.verify(&token, exp).is_ok());
        assert!(jwt.verify(&token, exp + 30).is_ok());
        assert_eq!(jwt.verify(&token, exp + 31), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_whose_nbf_is_in_the_future_is_refused_beyond_the_leeway() {
        let jwt = jwt();
        let token = jwt.issue(&partner_subject(), NOW, "j").unwrap();
        assert!(jwt.verify(&token, NOW - 30).is_ok());
        assert_eq!(jwt.verify(&token, NOW - 31), Err(TokenError::NotYetValid));
    }

    #[test]
    fn a_token_for_another_issuer_or_audience_is_refused() {
        let jwt = jwt();
        let prod = Jwt::hs256(&SecretString::new(KEY), JwtConfig::niaga("prod")).unwrap();
        let token = prod.issue(&partner_subject(), NOW, "j").unwrap();
        assert_eq!(jwt.verify(&token, NOW), Err(TokenError::WrongIssuer));

        let mut other_aud = JwtConfig::niaga("test");
        other_aud.audience = "niaga-admin".into();
        let token = Jwt::hs256(&SecretString::new(KEY), other_aud)
            .unwrap()
            .issue(&partner_subject(), NOW, "j")
            .unwrap();
        assert_eq!(jwt.verify(&token, NOW), Err(TokenError::WrongAudience));
    }

    #[test]
    fn an_audience_array_is_accepted_only_when_it_names_this_audience() {
        let jwt = jwt();
        let ok = forge(
            KEY,
            HEADER_JSON,
            &payload_with(serde_json::json!({"aud": ["other", "niaga-api"]})),
        );
        assert_eq!(jwt.verify(&ok, NOW).unwrap().aud, "niaga-api");
        let not = forge(KEY, HEADER_JSON, &payload_with(serde_json::json!({"aud": ["other"]})));
        assert_eq!(jwt.verify(&not, NOW), Err(TokenError::WrongAudience));
    }

    #[test]
    fn a_partner_token_without_partner_attributes_is_refused() {
        let token = forge(
            KEY,
            HEADER_JSON,
            &payload_with(serde_json::json!({"role": "partner", "partner_id": 42, "tier": "gold"})),
        );
        assert!(matches!(jwt().verify(&token, NOW), Err(TokenError::InvalidClaims(_))));
    }

    #[test]
    fn an_admin_token_carrying_partner_attributes_is_refused() {
        let token = forge(KEY, HEADER_JSON, &payload_with(serde_json::json!({"tier": "platinum"})));
        assert!(matches!(jwt().verify(&token, NOW), Err(TokenError::InvalidClaims(_))));
    }

    #[test]
    fn an_out_of_range_geotag_or_unknown_role_or_missing_claim_is_refused() {
        let jwt = jwt();
        for overrides in [
            serde_json::json!({"role": "partner", "partner_id": 1, "tier": "gold",
                               "geo": {"lat_e6": 91_000_000, "lon_e6": 0}}),
            serde_json::json!({"role": "root"}),
            serde_json::json!({"exp": null}),
            serde_json::json!({"exp": 1.5}),
            serde_json::json!({"sub": ""}),
        ] {
            let token = forge(KEY, HEADER_JSON, &payload_with(overrides.clone()));
            assert!(
                matches!(jwt.verify(&token, NOW), Err(TokenError::InvalidClaims(_))),
                "{overrides}"
            );
        }
        let array = forge(KEY, HEADER_JSON, r#"["admin-1","admin"]"#);
        assert!(matches!(jwt.verify(&array, NOW), Err(TokenError::InvalidClaims(_))));
    }

    #[test]
    fn malformed_inputs_are_refused_as_malformed() {
        let jwt = jwt();
        let good = jwt.issue(&partner_subject(), NOW, "j").unwrap();
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let too_long = format!("{good}.{}", "A".repeat(10 * 1024));
        let cases = [
            String::new(),
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}!.{p}.{s}"),
            format!("{h}.{p}=.{s}"),
            format!("{h}.{p}.{s}=="),
            format!("{}.{p}.{s}", b64("not json")),
            format!("{}.{p}.{s}", b64(r#"["HS256"]"#)),
            "...".to_string(),
            "a.b.c".to_string(),
            too_long,
            format!("{h}.{}{p}.{s}", "A".repeat(10 * 1024)),
        ];
        for case in cases {
            assert_eq!(jwt.verify(&case, NOW), Err(TokenError::Malformed), "{:.60}", case);
        }
    }

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused() {
        let short = SecretString::new("x".repeat(31));
        assert_eq!(
            Jwt::hs256(&short, JwtConfig::niaga("test")).unwrap_err(),
            KeyError::TooShort { min: 32 }
        );
        assert!(Jwt::hs256(&SecretString::new("x".repeat(32)), JwtConfig::niaga("test")).is_ok());
    }

    #[test]
    fn the_debug_form_of_jwt_does_not_contain_the_key() {
        let shown = format!("{:?} {:#?}", jwt(), jwt());
        assert!(!shown.contains(KEY) && !shown.contains("k3y"), "{shown}");
        assert!(shown.contains("niaga-test"));
    }

    #[test]
    fn issuing_refuses_subjects_that_break_the_partner_rule() {
        let jwt = jwt();
        let mut s = partner_subject();
        s.partner = None;
        assert_eq!(jwt.issue(&s, NOW, "j"), Err(IssueError::MissingPartner));
        let s = Subject {
            sub: "admin".into(),
            role: Role::Admin,
            partner: Some(partner()),
        };
        assert_eq!(jwt.issue(&s, NOW, "j"), Err(IssueError::UnexpectedPartner));
        let s = Subject {
            sub: String::new(),
            role: Role::Admin,
            partner: None,
        };
        assert_eq!(jwt.issue(&s, NOW, "j"), Err(IssueError::EmptySubject));
        assert_eq!(
            jwt.issue(&partner_subject(), i64::MAX, "j"),
            Err(IssueError::ExpiryOutOfRange)
        );
    }

    #[test]
    fn niaga_config_has_the_house_settings() {
        let c = JwtConfig::niaga("prod");
        assert_eq!(
            (c.issuer.as_str(), c.audience.as_str(), c.ttl_s, c.leeway_s),
            ("niaga-prod", "niaga-api", 900, 30)
        );
    }

    #[test]
    fn an_echoed_algorithm_name_is_short_and_printable() {
        let echoed = echo_safe("\u{1b}[31m<script>alert-and-a-very-long-algorithm-name");
        assert!(echoed.len() <= MAX_ECHOED_ALG, "{echoed}");
        assert!(
            echoed.chars().all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c)),
            "{echoed}"
        );
        assert_eq!(echo_safe("\u{1b}<>"), "<unprintable>");
    }

    proptest! {
        #[test]
        fn verify_never_panics_on_arbitrary_strings(token in ".{0,400}", now in any::<i64>()) {
            let _ = jwt().verify(&token, now);
        }

        #[test]
        fn verify_never_panics_on_arbitrary_three_part_tokens(
            h in "[A-Za-z0-9_-]{0,60}", p in "[A-Za-z0-9_-]{0,300}", s in "[A-Za-z0-9_-]{0,60}", now in any::<i64>()
        ) {
            let _ = jwt().verify(&format!("{h}.{p}.{s}"), now);
        }

        #[test]
        fn verify_never_panics_on_signed_tokens_with_arbitrary_payload_bytes(
            payload in proptest::collection::vec(any::<u8>(), 0..300), now in any::<i64>()
        ) {
            let input = format!("{}.{}", b64(HEADER_JSON), b64(&payload));
            let token = format!("{input}.{}", b64(jwt().sign(input.as_bytes())));
            prop_assert!(jwt().verify(&token, now).is_err());
        }

        #[test]
        fn verify_never_panics_on_signed_tokens_with_extreme_times(
            iat in any::<i64>(), nbf in any::<i64>(), exp in any::<i64>(), now in any::<i64>()
        ) {
            let token = forge(KEY, HEADER_JSON, &payload_with(serde_json::json!({"iat": iat, "nbf": nbf, "exp": exp})));
            let _ = jwt().verify(&token, now);
        }
    }
}
