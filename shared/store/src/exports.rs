//! Report exports in Postgres ([`reports::ExportStore`]): the request (created with its outbox event), its
//! progress, and the profit report's rows streamed in partner order so a writer holds one row at a time. Migration
//! 0012.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use chrono::NaiveDate;
use futures_util::TryStreamExt;
use reports::exports::REQUESTED_EVENT;
use reports::{CreatedExport, Export, ExportStore, NewExport, PartnerMonth, ProfitRow};
use tokio_postgres::types::Type;
use uuid::Uuid;

const COLUMNS: &str =
    "id, month, status, rows, csv_key, xlsx_key, error, requested_by, created_at, finished_at, fingerprint";

fn export(r: &tokio_postgres::Row) -> Export {
    Export {
        id: r.get(0),
        month: r.get(1),
        status: r.get(2),
        rows: r.get(3),
        csv_key: r.get(4),
        xlsx_key: r.get(5),
        error: r.get(6),
        requested_by: r.get(7),
        created_at: r.get(8),
        finished_at: r.get(9),
    }
}

fn db_err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow!(describe(&e))
}

/// The exports table (writer pool) and the report it reads.
#[derive(Debug, Clone)]
pub struct PgExports {
    db: Db,
}

impl PgExports {
    pub fn new(db: Db) -> Self {
        PgExports { db }
    }

    async fn set(&self, id: Uuid, sql: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client.execute_typed(sql, &[(&id, Type::UUID)]).await.map_err(db_err)?;
        Ok(())
    }
}

impl ExportStore for PgExports {
    /// Stores a profit export of `month` with its outbox event, or finds the export the key already made.
    async fn create(&self, new: &NewExport<'_>) -> anyhow::Result<CreatedExport> {
        let NewExport {
            id,
            month,
            requested_by,
            key,
            fingerprint,
        } = *new;
        let mut client = self.db.write_client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let inserted = tx
            .query_typed(
                "INSERT INTO exports (id, kind, month, requested_by, idempotency_key, fingerprint)
                 VALUES ($1, 'profit', $2, $3, $4, $5)
                 ON CONFLICT (requested_by, idempotency_key) DO NOTHING RETURNING id",
                &[
                    (&id, Type::UUID),
                    (&month, Type::DATE),
                    (&requested_by, Type::TEXT),
                    (&key.as_str(), Type::TEXT),
                    (&fingerprint, Type::TEXT),
                ],
            )
            .await
            .map_err(db_err)?;
        if inserted.is_empty() {
            let row = tx
                .query_typed_one(
                    &format!("SELECT {COLUMNS} FROM exports WHERE requested_by = $1 AND idempotency_key = $2"),
                    &[(&requested_by, Type::TEXT), (&key.as_str(), Type::TEXT)],
                )
                .await
                .map_err(db_err)?;
            let same = row.get::<_, &str>(10) == fingerprint;
            return Ok(if same {
                CreatedExport::Replayed(export(&row))
            } else {
                CreatedExport::KeyReused
            });
        }
        let aggregate = id.to_string();
        let payload = serde_json::json!({ "export_id": aggregate, "kind": "profit", "month": month });
        crate::outbox::append(&tx, "export", &aggregate, REQUESTED_EVENT, &payload).await?;
        let row = tx
            .query_typed_one(
                &format!("SELECT {COLUMNS} FROM exports WHERE id = $1"),
                &[(&id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(CreatedExport::New(export(&row)))
    }

    async fn get(&self, id: Uuid) -> anyhow::Result<Option<Export>> {
        let client = self.db.write_client().await?;
        let row = client
            .query_typed_opt(
                &format!("SELECT {COLUMNS} FROM exports WHERE id = $1"),
                &[(&id, Type::UUID)],
            )
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(export))
    }

    /// Marks the export running (again, after a crash).
    async fn start(&self, id: Uuid) -> anyhow::Result<()> {
        self.set(
            id,
            "UPDATE exports SET status = 'running' WHERE id = $1 AND status <> 'done'",
        )
        .await
    }

    /// Records the finished files.
    async fn finish(&self, id: Uuid, rows: i32, csv_key: &str, xlsx_key: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE exports SET status = 'done', rows = $2, csv_key = $3, xlsx_key = $4, error = NULL,
                        finished_at = now() WHERE id = $1",
                &[
                    (&id, Type::UUID),
                    (&rows, Type::INT4),
                    (&csv_key, Type::TEXT),
                    (&xlsx_key, Type::TEXT),
                ],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Records why an export cannot be made.
    async fn fail(&self, id: Uuid, error: &str) -> anyhow::Result<()> {
        let client = self.db.write_client().await?;
        client
            .execute_typed(
                "UPDATE exports SET status = 'failed', error = $2, finished_at = now() WHERE id = $1",
                &[(&id, Type::UUID), (&error, Type::TEXT)],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Hands each row of `month`'s profit report, in partner order, to `each`; the rows are streamed from the
    /// server, never collected. Returns the number of rows.
    async fn for_each_profit_row<F>(&self, month: NaiveDate, mut each: F) -> anyhow::Result<u64>
    where
        F: FnMut(ProfitRow) -> anyhow::Result<()> + Send,
    {
        let client = self.db.read_client().await?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&month];
        let stream = client
            .query_raw(
                "SELECT r.partner_id, p.code, p.name, p.tier, r.orders, r.revenue, r.cost_of_goods, r.gross_margin,
                        r.returns, r.dpp, r.ppn
                 FROM profit_reports r JOIN partners p ON p.id = r.partner_id
                 WHERE r.month = $1 ORDER BY r.partner_id",
                params,
            )
            .await
            .map_err(db_err)?;
        futures_util::pin_mut!(stream);
        let mut n = 0;
        while let Some(r) = stream.try_next().await.map_err(db_err)? {
            each(ProfitRow {
                partner_code: r.get(1),
                partner_name: r.get(2),
                tier: r.get(3),
                month: PartnerMonth {
                    partner_id: r.get(0),
                    orders: i64::from(r.get::<_, i32>(4)),
                    revenue: r.get(5),
                    cost_of_goods: r.get(6),
                    gross_margin: r.get(7),
                    returns: r.get(8),
                    dpp: r.get(9),
                    ppn: r.get(10),
                },
            })?;
            n += 1;
        }
        Ok(n)
    }
}
