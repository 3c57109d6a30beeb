//! How long an AWS call may take. The SDK sets no connect, attempt or operation timeout of its own beyond its HTTP
//! client's, so a service that hangs (accepts the connection and never answers) would hold a request until the
//! function's deadline. Every client here is built with a [`Budget`]:
//!
//! - [`Budget::STANDARD`] for every client by default (secrets, queues, the event bus);
//! - [`Budget::ON_REQUEST_PATH`] for what a request waits on and can answer without: rate limits and the shared
//!   settings cache on DynamoDB. A human-facing route fails open within it, an agent's budget fails closed;
//! - [`Budget::TRANSFER`] for report files on S3, whose size is not bounded by a request.
//!
//! An operation's retries all fit inside its operation timeout. A client that saw its service time out or refuse
//! the connection stops asking for a [`Hold::PERIOD`] ([`Hold`]), so a hanging service costs each instance one
//! budget per period instead of one per call.

use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connect, per-attempt and whole-operation timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl Budget {
    pub const STANDARD: Budget = Budget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(5),
    };
    pub const ON_REQUEST_PATH: Budget = Budget {
        connect: Duration::from_millis(300),
        attempt: Duration::from_millis(500),
        operation: Duration::from_millis(1_000),
    };
    pub const TRANSFER: Budget = Budget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(60),
    };

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// `sdk` with this budget instead of its own.
    pub fn apply(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        sdk.clone().into_builder().timeout_config(self.timeout_config()).build()
    }
}

/// Remembers that a service stopped answering. Cheap to clone; clones share what they remember.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    until: Arc<Mutex<Option<Instant>>>,
}

impl Hold {
    /// How long calls fail at once after a timeout or a failed connection; the first call after it asks again.
    pub const PERIOD: Duration = Duration::from_secs(5);

    /// `Err(left)` while calls should fail at once.
    pub fn check(&self) -> Result<(), Duration> {
        let until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(t) if t > Instant::now() => Err(t - Instant::now()),
            _ => Ok(()),
        }
    }

    /// Starts the hold when `e` says the service did not answer (a timeout, or no connection); an answer, even an
    /// error one, proves it is there.
    pub fn record<E, R>(&self, e: &SdkError<E, R>) {
        if matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) {
            *self.until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + Self::PERIOD);
        }
    }
}
