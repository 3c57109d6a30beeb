//! Typed configuration from the environment, read once at cold start.
//!
//! A missing or malformed variable stops the cold start with a [`ConfigError`] naming the variable and saying
//! what was expected. A function's own settings implement [`FromEnv`].

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

/// Where variables come from: the process environment, or a map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env { overrides: None }
    }

    /// A fixed set of variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            overrides: Some(pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        }
    }

    fn raw(&self, name: &str) -> Option<String> {
        match &self.overrides {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| ConfigError {
            variable: name.into(),
            problem: "is required but not set".into(),
        })
    }

    /// A variable that may be absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// A variable parsed with `FromStr`, or `default` when absent.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e| ConfigError {
                variable: name.into(),
                problem: format!("is invalid (`{v}`): {e}"),
            }),
        }
    }

    /// An integer within `range`, or `default` when absent.
    pub fn int_in(&self, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, ConfigError> {
        let v = self.parse_or(name, default)?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError {
                variable: name.into(),
                problem: format!("must be between {} and {}, got {v}", range.start(), range.end()),
            })
        }
    }
}

/// Implemented by each function's own configuration struct.
pub trait FromEnv: Sized {
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
}

/// No function-specific settings.
impl FromEnv for () {
    fn from_env(_: &Env) -> Result<Self, ConfigError> {
        Ok(())
    }
}
