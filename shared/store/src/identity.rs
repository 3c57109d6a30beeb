//! Identity's ports over PostgreSQL: account lookup for login, and sales-agent assignments for masquerade.

use crate::pool::{describe, Db};
use anyhow::anyhow;
use identity::{Account, Accounts, Assignments, PartnerAttrs, Role};
use kernel::GeoPoint;
use tokio_postgres::types::Type;

/// Accounts and assignments (writer pool: a revoked assignment or a disabled account takes effect at once).
#[derive(Debug, Clone)]
pub struct PgIdentity {
    db: Db,
}

impl PgIdentity {
    pub fn new(db: Db) -> Self {
        PgIdentity { db }
    }
}

fn partner_from(row: &tokio_postgres::Row, first: usize) -> anyhow::Result<Option<PartnerAttrs>> {
    let Some(id) = row.get::<_, Option<i64>>(first) else {
        return Ok(None);
    };
    let tier: String = row.get(first + 1);
    Ok(Some(PartnerAttrs {
        id,
        tier: tier.parse()?,
        geo: GeoPoint::new(row.get(first + 2), row.get(first + 3))?,
    }))
}

impl Accounts for PgIdentity {
    async fn by_login(&self, login: &str) -> anyhow::Result<Option<Account>> {
        let client = self.db.write_client().await?;
        let rows = client
            .query_typed(
                "SELECT a.sub, a.role, a.secret_hash, a.active, p.id, p.tier, p.lat_e6, p.lon_e6
                 FROM accounts a LEFT JOIN partners p ON p.id = a.partner_id WHERE a.login = $1",
                &[(&login, Type::TEXT)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(Account {
            sub: r.get(0),
            role: r.get::<_, String>(1).parse::<Role>()?,
            secret_hash: r.get(2),
            active: r.get(3),
            partner: partner_from(r, 4)?,
        }))
    }
}

impl Assignments for PgIdentity {
    async fn assigned_partner(&self, agent_sub: &str, partner_id: i64) -> anyhow::Result<Option<PartnerAttrs>> {
        let client = self.db.write_client().await?;
        let rows = client
            .query_typed(
                "SELECT p.id, p.tier, p.lat_e6, p.lon_e6 FROM agent_assignments aa
                 JOIN partners p ON p.id = aa.partner_id
                 JOIN accounts a ON a.sub = aa.agent_sub AND a.active
                 WHERE aa.agent_sub = $1 AND aa.partner_id = $2",
                &[(&agent_sub, Type::TEXT), (&partner_id, Type::INT8)],
            )
            .await
            .map_err(|e| anyhow!(describe(&e)))?;
        match rows.first() {
            Some(r) => partner_from(r, 0),
            None => Ok(None),
        }
    }
}
