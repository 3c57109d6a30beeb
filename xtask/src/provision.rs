//! The manifest's queues and tables in one environment, as `terraform/persistence` creates them, for the stages
//! that run without a terraform apply: the fault scenarios, the benchmarks and the end-to-end tests. Each queue gets
//! its dead-letter queue after `max_receive_count` receives and its visibility timeout; each table its hash key;
//! [`bus_and_bucket`] adds the event bus and the exports bucket.
//! What exists already is kept, so two stages sharing an environment can both provision it.

use crate::manifest::{Manifest, Queue};
use anyhow::{Context, Result};

/// `niaga-<env>-<queue>-dlq`, `.fifo` for FIFO queues, as terraform/persistence names it.
pub fn dlq_physical_name(env: &str, q: &Queue) -> String {
    format!("niaga-{env}-{}-dlq{}", q.name, if q.fifo { ".fifo" } else { "" })
}

/// Every queue of the manifest in `env`, each with its dead-letter queue.
pub async fn queues(sdk: &aws_config::SdkConfig, manifest: &Manifest, env: &str) -> Result<()> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    for q in &manifest.queues {
        let mut dlq = sqs.create_queue().queue_name(dlq_physical_name(env, q));
        if q.fifo {
            dlq = dlq.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let dlq_url = dlq
            .send()
            .await
            .with_context(|| format!("creating the dead-letter queue of {}", q.name))?
            .queue_url
            .context("a queue URL")?;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .context("the dead-letter queue's ARN")?;
        let mut create = sqs
            .create_queue()
            .queue_name(crate::queue_physical_name(env, &q.name, q.fifo))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                q.visibility_timeout_s.to_string(),
            )
            .attributes(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count })
                    .to_string(),
            );
        if q.fifo {
            create = create.attributes(QueueAttributeName::FifoQueue, "true");
        }
        create
            .send()
            .await
            .with_context(|| format!("creating queue {}", q.name))?;
    }
    Ok(())
}

/// Every DynamoDB table of the manifest in `env` (the breaker's state, the rate limits, the settings cache).
pub async fn tables(sdk: &aws_config::SdkConfig, manifest: &Manifest, env: &str) -> Result<()> {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    for t in &manifest.tables {
        let created = ddb
            .create_table()
            .table_name(crate::table_physical_name(env, &t.name))
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&t.hash_key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(&t.hash_key)
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("creating table {}", t.name))),
        }
    }
    Ok(())
}

/// The environment's event bus (`niaga-<env>`) and exports bucket (`niaga-<env>-exports`), named as
/// terraform/persistence names them; returns the bucket's name.
pub async fn bus_and_bucket(sdk: &aws_config::SdkConfig, env: &str) -> Result<String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let bus = niaga_aws::events::bus_physical_name(env);
    match events.create_event_bus().name(&bus).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("creating event bus {bus}"))),
    }
    let bucket = format!("niaga-{env}-exports");
    // Path-style, as the functions address moto's S3 (`niaga_aws::files`).
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    match s3.create_bucket().bucket(&bucket).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("creating bucket {bucket}"))),
    }
    Ok(bucket)
}
