//! Migrations against a real PostgreSQL: applied once, in order, and an edited applied migration is refused.

use store::migrate::{run, MigrateError, Migration, MIGRATIONS};
use testkit::{fresh_db, Template};

#[tokio::test]
async fn a_blank_database_gets_every_migration_and_a_second_run_applies_nothing() {
    let db = fresh_db(Template::Blank).await;
    let mut client = db.client().await;
    let first = run(&mut client, MIGRATIONS).await.unwrap();
    assert_eq!(first.applied.len(), MIGRATIONS.len());
    let second = run(&mut client, MIGRATIONS).await.unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied, MIGRATIONS.len());
    let tables: i64 = client
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('products', 'orders', 'outbox', 'system_config', 'audit_log')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 5);
}

#[tokio::test]
async fn an_applied_migration_whose_text_changed_is_refused() {
    let db = fresh_db(Template::Empty).await;
    let mut client = db.client().await;
    let mut edited: Vec<Migration> = MIGRATIONS.to_vec();
    edited[0].sql = "CREATE TABLE sneaky (id int);";
    let err = run(&mut client, &edited).await.unwrap_err();
    assert!(matches!(err, MigrateError::Edited { version: 1, .. }), "{err}");
    assert!(err.to_string().contains("edited after it was applied"));
    let sneaky: Option<i32> = client
        .query_opt("SELECT 1 FROM pg_tables WHERE tablename = 'sneaky'", &[])
        .await
        .unwrap()
        .map(|r| r.get(0));
    assert_eq!(sneaky, None, "nothing of the edited migration ran");
}

#[tokio::test]
async fn a_database_ahead_of_the_binary_is_refused() {
    let db = fresh_db(Template::Empty).await;
    let mut client = db.client().await;
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')",
            &[],
        )
        .await
        .unwrap();
    let err = run(&mut client, MIGRATIONS).await.unwrap_err();
    assert!(matches!(err, MigrateError::Unknown { version: 999, .. }), "{err}");
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_behind_and_names_itself() {
    let db = fresh_db(Template::Empty).await;
    let mut client = db.client().await;
    let mut set: Vec<Migration> = MIGRATIONS.to_vec();
    set.push(Migration {
        version: 99,
        name: "9999_broken",
        sql: "CREATE TABLE half (id int); SELECT 1/0;",
    });
    let err = run(&mut client, &set).await.unwrap_err();
    assert!(
        err.to_string().contains("9999_broken") && err.to_string().contains("22012"),
        "{err}"
    );
    let half: Option<i32> = client
        .query_opt("SELECT 1 FROM pg_tables WHERE tablename = 'half'", &[])
        .await
        .unwrap()
        .map(|r| r.get(0));
    assert_eq!(half, None);
}

#[tokio::test]
async fn concurrent_migrators_apply_each_migration_once() {
    let db = fresh_db(Template::Blank).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = db.client().await;
            run(&mut c, MIGRATIONS).await.map(|r| r.applied.len())
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.unwrap().unwrap();
    }
    assert_eq!(applied, MIGRATIONS.len());
}

#[tokio::test]
async fn the_migrations_create_order_partitions_around_now() {
    let db = fresh_db(Template::Empty).await;
    let client = db.client().await;
    let month: String = client
        .query_one("SELECT to_char(now(), 'YYYYMM')", &[])
        .await
        .unwrap()
        .get(0);
    let found: Option<i32> = client
        .query_opt(
            "SELECT 1 FROM pg_tables WHERE tablename = $1",
            &[&format!("orders_{month}")],
        )
        .await
        .unwrap()
        .map(|r| r.get(0));
    assert_eq!(found, Some(1), "orders_{month} exists");
}

/// PostgreSQL's own documentation of `idle_in_transaction_session_timeout`: a session idle inside an open
/// transaction longer than this is terminated, and its locks are released.
#[tokio::test]
async fn a_session_left_idle_inside_a_transaction_is_ended_and_its_row_locks_released() {
    let db = fresh_db(Template::Seeded).await;
    let admin = db.client().await;
    let name: String = admin.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    let timeouts = maintenance::RoleTimeouts {
        statement_ms: 5_000,
        lock_ms: 400,
        idle_in_transaction_ms: 1_000,
    };
    store::migrate::set_role_timeouts(&admin, &timeouts, Some(&name))
        .await
        .unwrap();

    // Connections opened from now on start with the role's settings.
    let frozen = db.client().await;
    for (setting, want) in [
        ("statement_timeout", "5s"),
        ("lock_timeout", "400ms"),
        ("idle_in_transaction_session_timeout", "1s"),
    ] {
        let got: String = frozen.query_one(&format!("SHOW {setting}"), &[]).await.unwrap().get(0);
        assert_eq!(got, want, "{setting}");
    }
    frozen
        .batch_execute("BEGIN; SELECT 1 FROM partners WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();

    // A waiter gives up after the lock timeout rather than queueing behind the frozen session.
    let waiter = db.client().await;
    let err = waiter
        .batch_execute("SELECT 1 FROM partners WHERE id = 1 FOR UPDATE")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE));

    // Once the frozen session has idled past the limit, the server ends it and the row is free.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    waiter
        .batch_execute("SELECT 1 FROM partners WHERE id = 1 FOR UPDATE NOWAIT")
        .await
        .expect("the frozen session's lock is gone");
    assert!(
        frozen.batch_execute("SELECT 1").await.is_err(),
        "the frozen session was ended"
    );
}
