//! `monthly-profit-job` entry point: a scheduled Lambda function, or a one-shot (and shardable) Cloud Run job.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let deps = platform::init::<()>("monthly-profit-job").await;
    let profit = &reports::ProfitReports::new(store::profit::PgProfit::new(deps.db.clone()));
    lambda_glue::job::run_sharded(&platform::NIAGA, "monthly-profit-job", |input, shard| async move {
        monthly_profit_job::run(profit, &input, shard, chrono::Utc::now()).await
    })
    .await
}
