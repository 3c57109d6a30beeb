//! A string that never prints: `Debug` and `Display` show `[redacted]`, and it does not implement `Serialize`.

use std::fmt;

/// A secret value (a signing key, a password). Read it with [`SecretString::expose`] at the one place that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in characters, for policy checks that must not reveal the value.
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A secret that can be replaced while in use (a rotated key): clones share it, and a replacement reaches them
/// all. Like [`SecretString`] it never prints.
#[derive(Clone)]
pub struct SharedSecret(std::sync::Arc<std::sync::RwLock<SecretString>>);

impl SharedSecret {
    pub fn new(value: SecretString) -> Self {
        SharedSecret(std::sync::Arc::new(std::sync::RwLock::new(value)))
    }

    /// The value now.
    pub fn get(&self) -> SecretString {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the value; true when it changed.
    pub fn replace(&self, value: SecretString) -> bool {
        let mut held = self.0.write().unwrap_or_else(|p| p.into_inner());
        if *held == value {
            return false;
        }
        *held = value;
        true
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_reveals_the_value() {
        let s = SecretString::new("hunter2-hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-hunter2");
    }

    #[test]
    fn a_replaced_shared_secret_reaches_every_clone_and_never_prints() {
        let a = SharedSecret::new(SecretString::new("first-key"));
        let b = a.clone();
        assert!(
            !a.replace(SecretString::new("first-key")),
            "the same value is no change"
        );
        assert!(a.replace(SecretString::new("second-key")));
        assert_eq!(b.get().expose(), "second-key");
        assert!(!format!("{b:?}").contains("second"));
    }
}
