//! Versioned items against moto: compare-and-set writes, their losers, concurrency, expiry and corrupt items.
//! Every test makes its own table, so they run in parallel.

use aws_sdk_dynamodb::types::AttributeValue;
use niaga_aws::versioned::{Versioned, VersionedError, VersionedItems};

async fn dynamo() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&testkit::aws_config().await)
}

/// A fresh table laid out as in production: string hash key `pk`, on demand.
async fn table() -> String {
    let name = format!("niaga-test-versioned-{}", testkit::unique_env());
    testkit::create_table(&name).await;
    name
}

async fn store() -> (VersionedItems, String) {
    let table = table().await;
    (VersionedItems::new(&testkit::aws_config().await, &table), table)
}

async fn raw_item(table: &str, pk: &str) -> std::collections::HashMap<String, AttributeValue> {
    dynamo()
        .await
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the item exists")
}

#[tokio::test]
async fn a_new_item_is_written_as_version_one_and_reads_back() {
    let (items, _) = store().await;
    assert_eq!(items.get("breaker:erp").await.unwrap(), None);
    assert!(items
        .put_if_version("breaker:erp", r#"{"state":"closed"}"#, None, None)
        .await
        .unwrap());
    assert_eq!(
        items.get("breaker:erp").await.unwrap(),
        Some(Versioned {
            body: r#"{"state":"closed"}"#.into(),
            version: 1
        })
    );
    assert_eq!(
        items.get("breaker:other").await.unwrap(),
        None,
        "other keys are untouched"
    );
}

#[tokio::test]
async fn each_write_from_the_current_version_increments_it() {
    let (items, _) = store().await;
    assert!(items.put_if_version("k", "a", None, None).await.unwrap());
    assert!(items.put_if_version("k", "b", Some(1), None).await.unwrap());
    assert!(items.put_if_version("k", "c", Some(2), None).await.unwrap());
    assert_eq!(
        items.get("k").await.unwrap(),
        Some(Versioned {
            body: "c".into(),
            version: 3
        })
    );
}

#[tokio::test]
async fn a_stale_expected_version_loses_and_leaves_the_winners_body() {
    let (items, _) = store().await;
    assert!(items.put_if_version("k", "original", None, None).await.unwrap());
    let read_by_both = items.get("k").await.unwrap().unwrap().version;
    assert!(items
        .put_if_version("k", "winner", Some(read_by_both), None)
        .await
        .unwrap());
    assert!(!items
        .put_if_version("k", "loser", Some(read_by_both), None)
        .await
        .unwrap());
    assert_eq!(
        items.get("k").await.unwrap(),
        Some(Versioned {
            body: "winner".into(),
            version: 2
        })
    );
}

#[tokio::test]
async fn of_twenty_concurrent_writers_from_the_same_version_exactly_one_wins() {
    let (items, _) = store().await;
    assert!(items.put_if_version("k", "start", None, None).await.unwrap());
    let writes = (0..20).map(|i| {
        let items = items.clone();
        async move {
            let body = format!("writer {i}");
            let won = items.put_if_version("k", &body, Some(1), None).await.unwrap();
            (body, won)
        }
    });
    let results = futures::future::join_all(writes).await;
    let winners: Vec<_> = results.iter().filter(|(_, won)| *won).map(|(b, _)| b.clone()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(
        items.get("k").await.unwrap(),
        Some(Versioned {
            body: winners[0].clone(),
            version: 2
        })
    );
}

#[tokio::test]
async fn expecting_no_item_loses_when_one_exists() {
    let (items, _) = store().await;
    assert!(items.put_if_version("k", "first", None, None).await.unwrap());
    assert!(!items.put_if_version("k", "second", None, None).await.unwrap());
    assert_eq!(items.get("k").await.unwrap().unwrap().body, "first");
}

#[tokio::test]
async fn expecting_a_version_of_a_missing_item_loses() {
    let (items, _) = store().await;
    assert!(!items.put_if_version("k", "body", Some(3), None).await.unwrap());
    assert_eq!(items.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn a_deleted_item_reads_as_absent_and_starts_again_at_version_one() {
    let (items, _) = store().await;
    assert!(items.put_if_version("k", "a", None, None).await.unwrap());
    assert!(items.put_if_version("k", "b", Some(1), None).await.unwrap());
    items.delete("k").await.unwrap();
    assert_eq!(items.get("k").await.unwrap(), None);
    items
        .delete("k")
        .await
        .expect("deleting a missing item is not an error");
    assert!(
        !items.put_if_version("k", "stale", Some(2), None).await.unwrap(),
        "a writer holding the deleted version loses"
    );
    assert!(items.put_if_version("k", "again", None, None).await.unwrap());
    assert_eq!(
        items.get("k").await.unwrap(),
        Some(Versioned {
            body: "again".into(),
            version: 1
        })
    );
}

#[tokio::test]
async fn expires_at_is_stored_as_the_ttl_attribute_and_a_write_without_it_clears_it() {
    let (items, table) = store().await;
    assert!(items.put_if_version("k", "a", None, Some(1_900_000_000)).await.unwrap());
    let item = raw_item(&table, "k").await;
    assert_eq!(item.get("expires_at"), Some(&AttributeValue::N("1900000000".into())));
    assert!(items.put_if_version("k", "b", Some(1), None).await.unwrap());
    let item = raw_item(&table, "k").await;
    assert_eq!(item.get("expires_at"), None);
    assert_eq!(item.get("version"), Some(&AttributeValue::N("2".into())));
}

#[tokio::test]
async fn an_item_without_a_version_is_corrupt() {
    let (items, table) = store().await;
    dynamo()
        .await
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("k".into()))
        .item("body", AttributeValue::S("hand-written".into()))
        .send()
        .await
        .unwrap();
    let err = items.get("k").await.unwrap_err();
    assert!(
        matches!(err, VersionedError::Corrupt(ref m) if m.contains("`k`") && m.contains("version")),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_table_is_unavailable_and_named() {
    let items = VersionedItems::new(&testkit::aws_config().await, "niaga-test-no-such-table");
    let err = items.get("k").await.unwrap_err();
    assert!(
        matches!(err, VersionedError::Unavailable(ref m) if m.contains("niaga-test-no-such-table")),
        "{err}"
    );
    let err = items.put_if_version("k", "secret-body", None, None).await.unwrap_err();
    assert!(
        matches!(err, VersionedError::Unavailable(ref m) if !m.contains("secret-body")),
        "{err}"
    );
}
