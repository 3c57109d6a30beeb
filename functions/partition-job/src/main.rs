//! `partition-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("partition-job").await;
    let housekeeping = &store::maintenance::PgHousekeeping::new(deps.db.clone());
    lambda_glue::job::run(&platform::NIAGA, "partition-job", |input| async move {
        partition_job::run(housekeeping, &input, chrono::Utc::now()).await
    })
    .await
}
