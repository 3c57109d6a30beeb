//! `cargo xtask redrive <queue> [--env <env>]`: moves every message in a queue's dead-letter queue back to the
//! queue, once whatever made it fail is fixed (an ERP document corrected, a bug deployed away).
//!
//! Locally (`--env local`, the default) it talks to the moto that `cargo xtask up` runs; for any other environment
//! it uses the ambient AWS credentials. Each message keeps its body, its attributes and, for FIFO queues, its
//! message group (a fresh deduplication id, so SQS does not drop it as a repeat). A message is deleted from the
//! dead-letter queue only after the queue accepted it, so an interrupted redrive loses nothing; it may send a
//! message twice, which the consumers' idempotency absorbs.

use crate::manifest::Manifest;
use crate::services::step;
use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::MessageSystemAttributeName;

pub async fn run(args: &[String]) -> Result<()> {
    let Some(name) = args.first().filter(|a| !a.starts_with("--")) else {
        bail!("usage: cargo xtask redrive <queue> [--env <env>]");
    };
    let env = args
        .iter()
        .position(|a| a == "--env")
        .and_then(|i| args.get(i + 1))
        .map_or(crate::LOCAL_ENV, String::as_str);
    let manifest = Manifest::load_workspace()?;
    let queue = manifest
        .queues
        .iter()
        .find(|q| &q.name == name)
        .with_context(|| format!("niaga.json has no queue `{name}`"))?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if env == crate::LOCAL_ENV {
        let port = std::env::var("NIAGA_MOTO_PORT").unwrap_or_else(|_| "5000".into());
        loader = loader
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(local_admin_credentials(&port));
    }
    let sqs = aws_sdk_sqs::Client::new(&loader.load().await);
    let url = |physical: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url()
                .queue_name(&physical)
                .send()
                .await
                .with_context(|| format!("finding queue {physical}"))?
                .queue_url
                .with_context(|| format!("no URL for {physical}"))
        }
    };
    let source = url(crate::queue_physical_name(env, &queue.name, queue.fifo)).await?;
    let dlq_name = format!(
        "niaga-{env}-{}-dlq{}",
        queue.name,
        if queue.fifo { ".fifo" } else { "" }
    );
    let dlq = url(dlq_name.clone()).await?;
    step(format!(
        "redriving {dlq_name} → {}",
        crate::queue_physical_name(env, &queue.name, queue.fifo)
    ));
    let mut moved = 0usize;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .context("receiving from the dead-letter queue")?;
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let mut send = sqs
                .send_message()
                .queue_url(&source)
                .message_body(m.body.clone().unwrap_or_default())
                .set_message_attributes(m.message_attributes.clone());
            if queue.fifo {
                let group = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned()
                    .unwrap_or_else(|| "redrive".into());
                send = send
                    .message_group_id(group)
                    .message_deduplication_id(uuid::Uuid::new_v4().to_string());
            }
            send.send().await.context("sending back to the queue")?;
            sqs.delete_message()
                .queue_url(&dlq)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .context("deleting from the dead-letter queue")?;
            moved += 1;
        }
        step(format!("{moved} moved so far"));
    }
    step(format!("redrive done: {moved} message(s) back on {}", queue.name));
    Ok(())
}

/// The local emulator's setup keys, written by the stack that started it (moto enforces IAM); moto's `test` keys
/// for an emulator that does not.
fn local_admin_credentials(port: &str) -> aws_sdk_sqs::config::Credentials {
    let keys: Option<crate::iam::Keys> = port
        .parse()
        .ok()
        .and_then(|p| std::fs::read_to_string(crate::services::admin_keys_file(p)).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    match keys {
        Some(k) => aws_sdk_sqs::config::Credentials::new(k.access_key_id, k.secret_access_key, None, None, "local"),
        None => aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "local"),
    }
}
