//! The Secrets Manager cache against moto: one fetch while fresh, a refetch after the TTL or on demand.

use niaga_aws::{SecretsCache, SecretsError};
use std::time::Duration;

async fn rotate(id: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(&testkit::aws_config().await);
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_fresh_secret_is_served_from_memory_until_refreshed() {
    let id = testkit::put_secret("niaga/test/cache", "v1").await;
    let cache = SecretsCache::new(&testkit::aws_config().await, Duration::from_secs(300));
    assert_eq!(cache.get(&id).await.unwrap().expose(), "v1");
    rotate(&id, "v2").await;
    assert_eq!(
        cache.get(&id).await.unwrap().expose(),
        "v1",
        "served from the cache within its TTL"
    );
    assert_eq!(cache.refresh(&id).await.unwrap().expose(), "v2");
    assert_eq!(cache.get(&id).await.unwrap().expose(), "v2");
}

#[tokio::test]
async fn an_expired_entry_is_refetched() {
    let id = testkit::put_secret("niaga/test/ttl", "v1").await;
    let cache = SecretsCache::new(&testkit::aws_config().await, Duration::from_millis(50));
    assert_eq!(cache.get(&id).await.unwrap().expose(), "v1");
    rotate(&id, "v2").await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(cache.get(&id).await.unwrap().expose(), "v2");
}

#[tokio::test]
async fn a_missing_secret_is_not_found_by_name() {
    let cache = SecretsCache::new(&testkit::aws_config().await, Duration::from_secs(1));
    let err = cache.get("niaga/test/does-not-exist").await.unwrap_err();
    assert!(
        matches!(err, SecretsError::NotFound(ref id) if id == "niaga/test/does-not-exist"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_json_is_reported_without_its_value() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Shape {
        port: u16,
    }
    let id = testkit::put_secret("niaga/test/malformed", r#"{"port": "hunter2-secret"}"#).await;
    let cache = SecretsCache::new(&testkit::aws_config().await, Duration::from_secs(1));
    let err = cache.get_json::<Shape>(&id).await.unwrap_err().to_string();
    assert!(err.contains("malformed") && !err.contains("hunter2"), "{err}");
}
