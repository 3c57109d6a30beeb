//! `cleanup-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("cleanup-job").await;
    let db = &deps.db;
    platform::job::run("cleanup-job", |_input| async move {
        cleanup_job::run(db, chrono::Utc::now()).await
    })
    .await
}
