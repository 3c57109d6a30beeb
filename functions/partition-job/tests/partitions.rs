//! `partition-job` against real PostgreSQL: the months ahead exist afterwards, and a second run creates nothing.

use serde_json::json;
use store::maintenance::PgHousekeeping;
use testkit::{fresh_db, Template};

#[tokio::test]
async fn partitions_are_created_ahead_and_a_second_run_creates_none() {
    let db = fresh_db(Template::Empty).await;
    // Two years out, so every month is new whatever month the template was migrated in.
    let now = chrono::Utc::now() + chrono::Duration::days(730);
    let first = partition_job::run(&PgHousekeeping::new(db.db()), &json!({"months_ahead": 2}), now)
        .await
        .unwrap();
    assert_eq!(first["created"], 9, "three months of three tables: {first}");
    let second = partition_job::run(&PgHousekeeping::new(db.db()), &json!({"months_ahead": 2}), now)
        .await
        .unwrap();
    assert_eq!(second["created"], 0);
    let month = maintenance::today_wib(now).format("%Y%m").to_string();
    let client = db.client().await;
    for table in ["orders", "order_lines", "audit_log"] {
        let name = format!("{table}_{month}");
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .await
            .unwrap()
            .get(0);
        assert!(exists, "{name}");
    }
    assert!(
        partition_job::run(&PgHousekeeping::new(db.db()), &json!({"months_ahead": 99}), now)
            .await
            .is_err()
    );
}
