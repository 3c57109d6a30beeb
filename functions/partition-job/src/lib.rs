//! `partition-job`: creates the monthly partitions of `orders`, `order_lines` and `audit_log` ahead of time, so
//! no write ever finds its month missing.
//!
//! Input (the schedule's constant input, or the one-shot argument): `{"months_ahead": 3}`; default
//! [`DEFAULT_MONTHS_AHEAD`]. It covers the current month (in WIB) and the next `months_ahead`; existing partitions
//! are left alone, so running it twice creates nothing the second time. The use case is
//! [`maintenance::ensure_partitions`]; this crate reads the input. It must not hold SQL, depend on the AWS SDK, or
//! name the `store` adapter outside `main.rs`.

use serde_json::Value;

/// Months created beyond the current one when the input does not say.
pub const DEFAULT_MONTHS_AHEAD: i32 = 3;

/// Reads `months_ahead` (0 to 24) from the input.
pub fn months_ahead(input: &Value) -> anyhow::Result<i32> {
    match input.get("months_ahead") {
        None | Some(Value::Null) => Ok(DEFAULT_MONTHS_AHEAD),
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=24).contains(n))
            .map(|n| n as i32)
            .ok_or_else(|| anyhow::anyhow!("`months_ahead` must be a whole number from 0 to 24, not {v}")),
    }
}

/// Creates what is missing for the input and reports it.
pub async fn run(
    housekeeping: &impl maintenance::Housekeeping,
    input: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    maintenance::ensure_partitions(housekeeping, months_ahead(input)?, now).await
}
