//! The notification log, the [`notifications::NotificationLog`] port: which (event, recipient) notifications were
//! sent, so redelivered messages send nothing twice. See migration 0005 for the delivery rule.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use notifications::Claim;
use tokio_postgres::types::Type;
use uuid::Uuid;

/// The `notification_log` table.
#[derive(Debug, Clone)]
pub struct PgNotificationLog {
    db: Db,
}

impl PgNotificationLog {
    pub fn new(db: Db) -> Self {
        PgNotificationLog { db }
    }
}

impl notifications::NotificationLog for PgNotificationLog {
    async fn claim(&self, event_id: Uuid, recipient: &str, kind: &str) -> anyhow::Result<Claim> {
        let client = self.db.write_client().await?;
        let row = client
            .query_typed_one(
                "INSERT INTO notification_log (event_id, recipient, kind, status) VALUES ($1, $2, $3, 'sending')
                 ON CONFLICT (event_id, recipient) DO UPDATE SET attempts = notification_log.attempts + 1
                 RETURNING status",
                &[(&event_id, Type::UUID), (&recipient, Type::TEXT), (&kind, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok(match row.get::<_, &str>(0) {
            "sent" => Claim::AlreadySent,
            _ => Claim::Send,
        })
    }

    async fn mark_sent(&self, event_id: Uuid, recipient: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE notification_log SET status = 'sent', sent_at = now() WHERE event_id = $1 AND recipient = $2",
                &[(&event_id, Type::UUID), (&recipient, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok(())
    }

    /// One statement for the whole chunk.
    async fn claim_many(&self, event_id: Uuid, recipients: &[String], kind: &str) -> anyhow::Result<Vec<String>> {
        let client = self.db.write_client().await?;
        let rows = client
            .query_typed(
                "INSERT INTO notification_log (event_id, recipient, kind, status)
                 SELECT $1, r, $3, 'sending' FROM unnest($2::text[]) AS r
                 ON CONFLICT (event_id, recipient) DO UPDATE SET attempts = notification_log.attempts + 1
                 RETURNING recipient, status",
                &[
                    (&event_id, Type::UUID),
                    (&recipients, Type::TEXT_ARRAY),
                    (&kind, Type::TEXT),
                ],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        let pending: std::collections::BTreeSet<String> = rows
            .iter()
            .filter(|r| r.get::<_, &str>(1) != "sent")
            .map(|r| r.get(0))
            .collect();
        Ok(recipients.iter().filter(|r| pending.contains(*r)).cloned().collect())
    }

    async fn mark_sent_many(&self, event_id: Uuid, recipients: &[String]) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE notification_log SET status = 'sent', sent_at = now() WHERE event_id = $1 AND recipient = ANY($2)",
                &[(&event_id, Type::UUID), (&recipients, Type::TEXT_ARRAY)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        Ok(())
    }
}
