//! The `Idempotency-Key` header of a creating `POST`, read into the kernel's [`kernel::IdempotencyKey`].

use http::Request;
use lambda_glue::problem::Problem;

/// The header that makes a creating `POST` safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's `Idempotency-Key`: a 400 naming the header when it is missing or malformed.
pub fn idempotency_key<B>(req: &Request<B>) -> Result<kernel::IdempotencyKey, Problem> {
    let raw = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| Problem::invalid_parameter("Idempotency-Key", "header is required for this request"))?;
    raw.to_str()
        .ok()
        .and_then(|k| kernel::IdempotencyKey::parse(k).ok())
        .ok_or_else(|| Problem::invalid_parameter("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
}
