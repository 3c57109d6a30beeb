//! Password (and AI-agent client secret) hashing: argon2id in PHC string form.
//!
//! The caller supplies the salt because this crate has no random number generator (and so no hidden I/O).
//! Verification accepts only argon2id, version 19, with parameters no heavier than [`MAX_M_KIB`], [`MAX_T`] and
//! [`MAX_P`]: a stored hash names its own cost, and a corrupted or planted row must not be able to make a Lambda
//! allocate gigabytes or spin for minutes.

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

/// OWASP's argon2id memory cost: 19 MiB, in KiB.
pub const M_KIB: u32 = 19 * 1024;
/// OWASP's argon2id iteration count.
pub const T: u32 = 2;
/// OWASP's argon2id parallelism.
pub const P: u32 = 1;

/// Heaviest memory cost a stored hash may name (64 MiB); raise it here before raising [`M_KIB`].
pub const MAX_M_KIB: u32 = 64 * 1024;
/// Highest iteration count a stored hash may name.
pub const MAX_T: u32 = 10;
/// Highest parallelism a stored hash may name.
pub const MAX_P: u32 = 4;

/// A valid argon2id hash, with this module's parameters, of a password nobody knows. Verifying against it costs
/// what a real verification costs, so an unknown login takes as long to refuse as a wrong password.
const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bmlhZ2EtZHVtbXktc2FsdA$sgQTwR1kUS81aLvpi9pURXZTeJbx2AEdG3xSIcUXjb0";

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

fn owasp_argon2id() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_KIB, T, P, None).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// OWASP-recommended argon2id parameters: m = 19 MiB, t = 2, p = 1. `salt` must be fresh random bytes from the
/// caller (this crate has no RNG); the result is a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let hash = owasp_argon2id()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// True only when `phc` is a valid argon2id PHC string that matches. A malformed hash is `false`, not a panic.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    // The generic verifier would honour whatever algorithm the string names; argon2i and argon2d are weaker
    // against side channels or trade-off attacks, and nothing in Niaga writes them, so they are refused.
    if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13.into()) {
        return false;
    }
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_M_KIB || params.t_cost() > MAX_T || params.p_cost() > MAX_P {
        return false;
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Spends the same work as a real verification, for unknown users, so timing does not reveal which logins exist.
pub fn verify_against_dummy(password: &str) {
    // black_box keeps the optimiser from discarding a result nobody reads, and with it the work.
    std::hint::black_box(verify_password(std::hint::black_box(password), DUMMY_PHC));
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_password("correct horse battery staple", &SALT).unwrap();
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapler", &phc));
    }

    #[test]
    fn the_hash_uses_argon2id_with_owasp_parameters() {
        let phc = hash_password("pw", &[7u8; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn a_malformed_hash_is_false_not_a_panic() {
        for phc in [
            "",
            "$",
            "plaintext-password",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$!!!",
            "$2b$12$KIXQJ4d4zOvb2Zf8aWm7.uQ3q1V9z6m5bYx1sC3yG0qgS0bq6H9lW",
        ] {
            assert!(!verify_password("pw", phc), "{phc}");
        }
    }

    #[test]
    fn argon2i_and_argon2d_hashes_are_refused_even_when_they_match() {
        let params = Params::new(M_KIB, T, P, None).unwrap();
        let salt = SaltString::encode_b64(&SALT).unwrap();
        for alg in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let phc = Argon2::new(alg, Version::V0x13, params.clone())
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string();
            assert!(phc.starts_with(&format!("${}$", alg.ident())), "{phc}");
            assert!(!verify_password("pw", &phc), "{phc}");
        }
    }

    #[test]
    fn a_hash_naming_an_excessive_cost_is_refused_without_running_it() {
        let phc = "$argon2id$v=19$m=4194304,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_password("pw", phc));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let real = hash_password("pw", &SALT).unwrap();
        let prefix = |s: &str| s.rsplitn(3, '$').nth(2).map(str::to_string);
        assert_eq!(prefix(DUMMY_PHC), prefix(&real));
        let dummy = PasswordHash::new(DUMMY_PHC).unwrap();
        assert_eq!(dummy.hash.map(|h| h.len()), Some(32));
        assert!(!verify_password("pw", DUMMY_PHC));
        verify_against_dummy("pw");
    }
}
