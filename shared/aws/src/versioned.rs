//! Versioned items on one DynamoDB table: small pieces of state that every Lambda instance reads and any of them
//! may replace, compare-and-set style. The ERP circuit breaker keeps its state here (and later a config cache).
//!
//! An item is an opaque `body` (typically JSON, which this module never parses) and a `version` that every
//! successful write increments. A writer reads the item, computes a new body from it, and writes it with
//! [`VersionedItems::put_if_version`], passing the version it read. DynamoDB evaluates the condition and applies
//! the write as one atomic step, so of any number of writers that start from the same version exactly one wins;
//! the others get `Ok(false)` and decide again from a fresh read (or give up: for a circuit breaker, another
//! instance's fresh state is as good as ours). Losing is the expected outcome of contention, not an error, which is
//! why it is a `bool` and not an error variant.
//!
//! Design decisions:
//!
//! - **Strongly consistent reads.** An eventually consistent read can return a version that has already been
//!   replaced, and the write that follows would lose for nothing. For a handful of small items the doubled read
//!   cost does not matter.
//! - **Whole-item puts, not updates.** A put writes exactly the attributes given, so an item never mixes the
//!   attributes of two writes. That includes `expires_at`: a write without it clears the previous one.
//! - **`expires_at` is housekeeping, not meaning.** It is the table's TTL attribute (epoch seconds). DynamoDB
//!   deletes expired items in the background, typically within a few days of expiry, and until then reads return
//!   them: [`VersionedItems::get`] does not hide them, because a read that hid an item a conditional write can still
//!   see would make `expected = None` lose until the deletion. A body whose meaning lapses (an open circuit) carries
//!   its own time.
//! - **Versions restart after a delete.** Once TTL or [`VersionedItems::delete`] removes an item, the next write
//!   with `expected = None` creates it again at version 1. A writer still holding a version read before the delete
//!   loses, except when it read version 1 and the item has been recreated at version 1 since. That needs a delete
//!   and a recreation between one writer's read and its write. Items in use are not deleted, and callers set
//!   `expires_at` well beyond an item's useful life, so the store does not pay for a guard against it.
//!
//! The table: string hash key `pk`, no sort key, attributes `body` (S), `version` (N) and optional `expires_at` (N),
//! TTL enabled on `expires_at`.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Why a versioned item could not be read or written. Messages name the table and key, never a body.
#[derive(Debug, thiserror::Error)]
pub enum VersionedError {
    /// DynamoDB could not be reached or refused the request (throttling, a missing table, bad credentials).
    #[error("versioned items unavailable: {0}")]
    Unavailable(String),
    /// The stored item lacks an attribute this module writes, or has it with the wrong type.
    #[error("versioned item is corrupt: {0}")]
    Corrupt(String),
}

/// A stored body and the version it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub body: String,
    pub version: u64,
}

/// Compare-and-set access to the items of one table.
#[derive(Debug, Clone)]
pub struct VersionedItems {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Set when DynamoDB stopped answering: calls fail at once for a while rather than each waiting out its budget.
    hold: crate::timeouts::Hold,
}

const PK: &str = "pk";
const BODY: &str = "body";
const VERSION: &str = "version";
const EXPIRES_AT: &str = "expires_at";

impl VersionedItems {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        VersionedItems {
            client: aws_sdk_dynamodb::Client::new(&crate::timeouts::Budget::ON_REQUEST_PATH.apply(sdk)),
            table: table.into(),
            hold: crate::timeouts::Hold::default(),
        }
    }

    /// The item under `pk`, if there is one. Strongly consistent read.
    pub async fn get(&self, pk: &str) -> Result<Option<Versioned>, VersionedError> {
        self.not_held()?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.unavailable("GetItem", pk, &e))?;
        out.item().map(|item| self.decode(pk, item)).transpose()
    }

    /// Writes `body` as version `expected.map_or(1, |v| v + 1)` only if the stored version is still `expected`
    /// (`None`: the item must not exist). `Ok(true)` if written, `Ok(false)` if someone else won (or the item was
    /// deleted, or already exists when `None` was expected). `expires_at` (epoch seconds) replaces any previous
    /// expiry; `None` clears it.
    pub async fn put_if_version(
        &self,
        pk: &str,
        body: &str,
        expected: Option<u64>,
        expires_at: Option<i64>,
    ) -> Result<bool, VersionedError> {
        self.not_held()?;
        let next = match expected {
            None => 1,
            Some(v) => v.checked_add(1).ok_or_else(|| {
                VersionedError::Corrupt(format!(
                    "item `{pk}` in `{}` is at version {v}, which cannot be incremented",
                    self.table
                ))
            })?,
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, AttributeValue::S(pk.to_string()))
            .item(BODY, AttributeValue::S(body.to_string()))
            .item(VERSION, AttributeValue::N(next.to_string()));
        if let Some(at) = expires_at {
            put = put.item(EXPIRES_AT, AttributeValue::N(at.to_string()));
        }
        put = match expected {
            // The key attribute exists on every stored item, so its absence means there is no item.
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            // On a missing item `version` is absent and the comparison is false: a deleted item loses too.
            Some(v) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                tracing::debug!(table = %self.table, pk, ?expected, "versioned write lost to another writer");
                Ok(false)
            }
            Err(e) => Err(self.unavailable("PutItem", pk, &e)),
        }
    }

    /// Removes the item under `pk`, whatever its version. Removing a missing item is not an error.
    pub async fn delete(&self, pk: &str) -> Result<(), VersionedError> {
        self.not_held()?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            .send()
            .await
            .map_err(|e| self.unavailable("DeleteItem", pk, &e))?;
        Ok(())
    }

    fn decode(&self, pk: &str, item: &HashMap<String, AttributeValue>) -> Result<Versioned, VersionedError> {
        let corrupt = |what: &str| VersionedError::Corrupt(format!("item `{pk}` in `{}` {what}", self.table));
        let body = match item.get(BODY) {
            Some(AttributeValue::S(s)) => s.clone(),
            Some(_) => return Err(corrupt("has a `body` that is not a string")),
            None => return Err(corrupt("has no `body`")),
        };
        let version = match item.get(VERSION) {
            Some(AttributeValue::N(n)) => n
                .parse::<u64>()
                .map_err(|_| corrupt("has a `version` that is not an unsigned 64-bit integer"))?,
            Some(_) => return Err(corrupt("has a `version` that is not a number")),
            None => return Err(corrupt("has no `version`")),
        };
        Ok(Versioned { body, version })
    }

    /// `Err` at once while DynamoDB is held as not answering.
    fn not_held(&self) -> Result<(), VersionedError> {
        self.hold.check().map_err(|left| {
            VersionedError::Unavailable(format!(
                "`{}` did not answer lately; not asked again for another {} ms",
                self.table,
                left.as_millis()
            ))
        })
    }

    fn unavailable<E>(
        &self,
        op: &str,
        pk: &str,
        e: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> VersionedError
    where
        E: std::error::Error + 'static,
    {
        self.hold.record(e);
        // The body is never part of the message. The SDK's chain adds the service's error code and message, or the
        // transport failure, which is what an operator needs to tell throttling from a missing table.
        VersionedError::Unavailable(format!(
            "{op} of `{pk}` in `{}` failed: {}",
            self.table,
            crate::sdk_error_text(e)
        ))
    }
}

/// The shared state of the ERP sync (its circuit breaker), without expiry.
impl supply_sync::VersionedState for VersionedItems {
    async fn get(&self, key: &str) -> anyhow::Result<Option<(String, u64)>> {
        Ok(VersionedItems::get(self, key).await?.map(|v| (v.body, v.version)))
    }

    async fn put_if_version(&self, key: &str, body: &str, expected: Option<u64>) -> anyhow::Result<bool> {
        Ok(VersionedItems::put_if_version(self, key, body, expected, None).await?)
    }
}
