//! `cleanup-job` against real PostgreSQL: only what is past retention goes, and a second run removes nothing.

use maintenance::Housekeeping;
use store::maintenance::PgHousekeeping;
use store::settings::PgSettings;
use testkit::{fresh_db, Template};

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn cleanup_removes_only_what_is_past_retention_and_is_safe_to_run_twice() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    let now = chrono::Utc::now();
    // Partitions three years back, each month holding an order with a line and a return, and an audit row.
    let old = (now - chrono::Duration::days(3 * 365)).date_naive();
    PgHousekeeping::new(db.db()).ensure_partitions(old, 1).await.unwrap();
    client
        .batch_execute(&format!(
            "UPDATE system_config SET value = '13' WHERE key = 'retention.orders_months';
             UPDATE system_config SET value = '2' WHERE key = 'retention.audit_months';
             INSERT INTO orders (id, placed_at, partner_id, status, total, payment_due_at, placed_by)
             VALUES ('00000000-0000-0000-0000-00000000000a', '{old} 12:00+07', 1, 'fulfilled', 1000, '{old} 13:00+07', 'test'),
                    ('00000000-0000-0000-0000-00000000000b', now(), 1, 'fulfilled', 1000, now(), 'test');
             INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, unit_cost)
             SELECT id, placed_at, 1, 'SHM-00001', (SELECT min(code) FROM warehouses), 1, 1000, 800 FROM orders;
             INSERT INTO order_returns (order_id, placed_at, sku, quantity, refund, erp_return_no, returned_at)
             SELECT id, placed_at, 'SHM-00001', 1, 1000, 'R-' || id, placed_at FROM orders;
             INSERT INTO audit_log (occurred_at, actor, action, subject) VALUES
                    ('{old} 12:00+07', 'test', 'old', 'x'), (now(), 'test', 'new', 'x');
             INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response, expires_at) VALUES
                    ('s', 'expired', 'h', 201, '{{}}', now() - interval '1 hour'),
                    ('s', 'live', 'h', 201, '{{}}', now() + interval '1 hour');
             INSERT INTO idempotency_claims (scope, key, expires_at) VALUES
                    ('s', 'expired', now() - interval '1 hour'), ('s', 'live', now() + interval '1 hour');
             INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, created_at, published_at) VALUES
                    ('order', 'a', 'order.placed', '{{}}', now() - interval '30 days', now() - interval '30 days'),
                    ('order', 'b', 'order.placed', '{{}}', now() - interval '1 day', now() - interval '1 day'),
                    ('order', 'c', 'order.placed', '{{}}', now() - interval '30 days', NULL);
             INSERT INTO notification_log (event_id, recipient, kind, status, created_at, sent_at) VALUES
                    (gen_random_uuid(), 'partner:1', 'blast', 'sent', now() - interval '200 days', now() - interval '200 days'),
                    (gen_random_uuid(), 'partner:1', 'blast', 'sent', now() - interval '10 days', now() - interval '10 days');"
        ))
        .await
        .unwrap();

    let report = maintenance::cleanup(&PgHousekeeping::new(db.db()), &PgSettings::new(db.db()), now)
        .await
        .unwrap();
    let dropped: Vec<String> = serde_json::from_value(report["dropped_partitions"].clone()).unwrap();
    let month = old.format("%Y%m").to_string();
    for table in ["order_lines", "orders", "audit_log"] {
        assert!(dropped.contains(&format!("{table}_{month}")), "{table} {report}");
    }
    assert_eq!(
        count(&client, "SELECT count(*) FROM orders").await,
        1,
        "the current order stays"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM order_lines").await, 1);
    assert_eq!(count(&client, "SELECT count(*) FROM order_returns").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM audit_log WHERE action = 'new'").await,
        1
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM audit_log WHERE action = 'old'").await,
        0
    );
    assert_eq!(count(&client, "SELECT count(*) FROM idempotency_keys").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM idempotency_keys WHERE key = 'live'").await,
        1
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM idempotency_claims WHERE key = 'live'").await,
        1,
        "an expired key's claim goes with it; a live one stays"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM idempotency_claims").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM outbox WHERE aggregate_id IN ('b', 'c')").await,
        2,
        "recent and unpublished outbox rows stay"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM outbox").await, 2);
    assert_eq!(count(&client, "SELECT count(*) FROM notification_log").await, 1);
    let kept_months: i64 = count(
        &client,
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'orders'::regclass",
    )
    .await;

    let again = maintenance::cleanup(&PgHousekeeping::new(db.db()), &PgSettings::new(db.db()), now)
        .await
        .unwrap();
    assert_eq!(again["dropped_partitions"], serde_json::json!([]));
    assert_eq!(
        again["purged"],
        serde_json::json!({"idempotency_keys": 0, "idempotency_claims": 0, "outbox": 0, "notification_log": 0})
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'orders'::regclass"
        )
        .await,
        kept_months
    );
}
