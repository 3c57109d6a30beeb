//! The smallest useful `lambda_runtime` function: it answers every event with the event itself.
//! Niaga's cold-start benchmark divides each function's cold start by this one's, measured in the same run,
//! and the local runtime's own tests use it as a function that cannot be wrong about anything but transport.
//! It must not depend on any Niaga crate.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
