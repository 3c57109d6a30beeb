//! Databases in the local cluster: `niaga` for the running stack (migrated and seeded), and the templates the
//! tests clone (`niaga_tpl_empty`, `niaga_tpl_seeded`).

use crate::services::step;
use anyhow::{Context, Result};
use std::time::Instant;

/// A client of the local cluster, over TLS verified against the project CA (the cluster refuses plain TCP).
pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let ca = store::CaBundle::File(crate::pgtls::ca_path());
    let client = store::pool::connect_once(url, store::TlsMode::VerifyFull, Some(&ca))
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {url}: {e:#}"))?;
    // Setup work (dropping a run's databases, copying templates) is not a request: the role defaults `migrate` sets
    // for the functions do not apply to it.
    client
        .batch_execute("SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0")
        .await?;
    Ok(client)
}

/// Pool settings for the local cluster at `url`: `verify-full` against the project CA.
pub fn db_settings(url: &str) -> store::DbSettings {
    store::DbSettings::verified(url, store::CaBundle::File(crate::pgtls::ca_path()))
}

fn db_url(admin_url: &str, db: &str) -> String {
    let (base, _) = admin_url.rsplit_once('/').unwrap_or((admin_url, ""));
    format!("{base}/{db}")
}

async fn exists(admin: &tokio_postgres::Client, db: &str) -> Result<bool> {
    Ok(admin
        .query_typed_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[(&db, tokio_postgres::types::Type::TEXT)],
        )
        .await?
        .is_some())
}

/// Drops `db` if it exists, closing its connections first.
pub async fn drop_database(admin_url: &str, db: &str) -> Result<()> {
    let admin = connect(admin_url).await?;
    // Identifiers cannot be bound; `db` comes from this crate's constants.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .with_context(|| format!("dropping {db}"))?;
    Ok(())
}

/// Gives the role of `url` in its database the timeouts `migrate` gives the application role in AWS (statement,
/// lock, idle in transaction), so the functions run here under the same limits. Only in that database: the same
/// role runs the tooling elsewhere.
pub async fn set_role_timeouts(url: &str) -> Result<()> {
    let client = connect(url).await?;
    let db: String = client.query_one("SELECT current_database()", &[]).await?.get(0);
    store::migrate::set_role_timeouts(&client, &maintenance::RoleTimeouts::default(), Some(&db))
        .await
        .with_context(|| format!("setting the role's timeouts in {db}"))?;
    Ok(())
}

/// Creates `db` when missing, migrates it, and seeds it when `seed` is given.
pub async fn prepare(admin_url: &str, db: &str, seed: Option<store::seed::SeedSize>) -> Result<()> {
    let admin = connect(admin_url).await?;
    if !exists(&admin, db).await? {
        // Identifiers cannot be bound; `db` comes from this crate's constants.
        admin.batch_execute(&format!("CREATE DATABASE {db}")).await?;
    }
    let mut client = connect(&db_url(admin_url, db)).await?;
    let report = store::migrate::run(&mut client, store::migrate::MIGRATIONS)
        .await
        .with_context(|| format!("migrating {db}"))?;
    if !report.applied.is_empty() {
        step(format!("{db}: applied {}", report.applied.join(", ")));
    }
    if let Some(size) = seed {
        let t = Instant::now();
        let r = store::seed::run(&mut client, size)
            .await
            .with_context(|| format!("seeding {db}"))?;
        if r.products > 0 {
            step(format!(
                "{db}: seeded {} products, {} prices, {} partners, {} warehouses, {} stock rows in {:.1} s",
                r.products,
                r.prices,
                r.partners,
                r.warehouses,
                r.inventory,
                t.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(())
}

/// Recreates the test templates from scratch and drops databases left by earlier test runs.
pub async fn prepare_test_templates(admin_url: &str) -> Result<()> {
    let admin = connect(admin_url).await?;
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {0} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
            crate::services::PASSWORD_AUTH_ROLE
        ))
        .await?;
    let leftovers = admin
        .query_typed("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'", &[])
        .await?;
    for row in leftovers {
        let name: String = row.get(0);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    for tpl in [testkit::TEMPLATE_EMPTY, testkit::TEMPLATE_SEEDED] {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {tpl} WITH (FORCE)"))
            .await?;
    }
    prepare(admin_url, testkit::TEMPLATE_EMPTY, None).await?;
    prepare(
        admin_url,
        testkit::TEMPLATE_SEEDED,
        Some(store::seed::SeedSize {
            products: testkit::SEEDED_PRODUCTS,
            partners: testkit::SEEDED_PARTNERS,
        }),
    )
    .await?;
    Ok(())
}
