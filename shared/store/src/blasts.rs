//! Notification blasts in Postgres, the [`notifications::BlastStore`] port: the blast with its checkpoint, and the
//! partners it goes to. Migration 0010 states the checkpoint rule; the notification log
//! ([`crate::notifications`]) keeps each partner's copy unique.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use kernel::Tier;
use notifications::{Blast, CreatedBlast, NewBlast, REQUESTED_EVENT};
use tokio_postgres::types::Type;
use uuid::Uuid;

const COLUMNS: &str = "id, subject, body, tier, total_recipients, sent, last_partner_id, chunks_done, status,
    requested_by, created_at, finished_at, fingerprint";

fn blast(r: &tokio_postgres::Row) -> Blast {
    let n = |i: usize| usize::try_from(r.get::<_, i32>(i)).unwrap_or(0);
    Blast {
        id: r.get(0),
        subject: r.get(1),
        body: r.get(2),
        tier: r.get(3),
        total_recipients: n(4),
        sent: n(5),
        last_partner_id: r.get(6),
        chunks_done: n(7),
        status: r.get(8),
        requested_by: r.get(9),
        created_at: r.get(10),
        finished_at: r.get(11),
    }
}

fn db_err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

/// The blasts table (writer pool).
#[derive(Debug, Clone)]
pub struct PgBlasts {
    db: Db,
}

impl PgBlasts {
    pub fn new(db: Db) -> Self {
        PgBlasts { db }
    }
}

impl notifications::BlastStore for PgBlasts {
    async fn create(&self, b: &NewBlast<'_>) -> anyhow::Result<CreatedBlast> {
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let tier = b.tier.map(Tier::as_str);
        let inserted = tx
            .query_typed(
                "INSERT INTO notification_blasts (id, subject, body, tier, total_recipients, requested_by,
                                                  idempotency_key, fingerprint)
                 SELECT $1, $2, $3, $4, (SELECT count(*) FROM partners WHERE $4::text IS NULL OR tier = $4), $5, $6, $7
                 ON CONFLICT (requested_by, idempotency_key) DO NOTHING
                 RETURNING id",
                &[
                    (&b.id, Type::UUID),
                    (&b.subject, Type::TEXT),
                    (&b.body, Type::TEXT),
                    (&tier, Type::TEXT),
                    (&b.requested_by, Type::TEXT),
                    (&b.key.as_str(), Type::TEXT),
                    (&b.fingerprint, Type::TEXT),
                ],
            )
            .await
            .map_err(db_err)?;
        if inserted.is_empty() {
            let row = tx
                .query_typed_one(
                    &format!(
                        "SELECT {COLUMNS} FROM notification_blasts WHERE requested_by = $1 AND idempotency_key = $2"
                    ),
                    &[(&b.requested_by, Type::TEXT), (&b.key.as_str(), Type::TEXT)],
                )
                .await
                .map_err(db_err)?;
            let same = row.get::<_, &str>(12) == b.fingerprint;
            return Ok(if same {
                CreatedBlast::Replayed(blast(&row))
            } else {
                CreatedBlast::KeyReused
            });
        }
        let id = b.id.to_string();
        let payload = serde_json::json!({ "blast_id": id });
        crate::outbox::append(&tx, "blast", &id, REQUESTED_EVENT, &payload).await?;
        let row = tx
            .query_typed_one(
                &format!("SELECT {COLUMNS} FROM notification_blasts WHERE id = $1"),
                &[(&b.id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(CreatedBlast::New(blast(&row)))
    }

    async fn get(&self, id: Uuid) -> anyhow::Result<Option<Blast>> {
        let client = self.db.write_client().await?;
        let row = client
            .query_typed_opt(
                &format!("SELECT {COLUMNS} FROM notification_blasts WHERE id = $1"),
                &[(&id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(blast))
    }

    async fn recipients(&self, b: &Blast, limit: u32) -> anyhow::Result<Vec<(i64, String)>> {
        let client = self.db.read_client().await?;
        let rows = client
            .query_typed(
                "SELECT id, code FROM partners WHERE id > $1 AND ($2::text IS NULL OR tier = $2) ORDER BY id LIMIT $3",
                &[
                    (&b.last_partner_id, Type::INT8),
                    (&b.tier, Type::TEXT),
                    (&i64::from(limit), Type::INT8),
                ],
            )
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn advance(&self, id: Uuid, from: i64, to: i64, sent: usize) -> anyhow::Result<bool> {
        let client = self.db.write_client().await?;
        let sent = i32::try_from(sent)?;
        let n = client
            .execute_typed(
                "UPDATE notification_blasts SET last_partner_id = $3, sent = sent + $4, chunks_done = chunks_done + 1,
                        status = 'sending', started_at = coalesce(started_at, now())
                 WHERE id = $1 AND last_partner_id = $2",
                &[
                    (&id, Type::UUID),
                    (&from, Type::INT8),
                    (&to, Type::INT8),
                    (&sent, Type::INT4),
                ],
            )
            .await
            .map_err(db_err)?;
        Ok(n == 1)
    }

    async fn finish(&self, id: Uuid) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE notification_blasts SET status = 'done', finished_at = coalesce(finished_at, now()) WHERE id = $1",
                &[(&id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
