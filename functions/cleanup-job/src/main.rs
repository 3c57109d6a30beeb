//! `cleanup-job` entry point: a scheduled Lambda function, or a one-shot job elsewhere.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("cleanup-job").await;
    let housekeeping = &store::maintenance::PgHousekeeping::new(deps.db.clone());
    let settings = &store::settings::PgSettings::new(deps.db.clone());
    lambda_glue::job::run(&platform::NIAGA, "cleanup-job", |_input| async move {
        maintenance::cleanup(housekeeping, settings, chrono::Utc::now()).await
    })
    .await
}
