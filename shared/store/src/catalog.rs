//! [`catalog::ProductCatalog`] over PostgreSQL, reading from the reader pool.
//!
//! Search uses the `products.search` tsvector and its GIN index (`websearch_to_tsquery`, so users can type
//! quotes and `-excluded` words without breaking anything); results order by rank, then SKU. Listings without a
//! search text order by SKU. Both paginate by keyset: the cursor holds the last row's sort key, never an offset.

use crate::pool::{describe, Db};
use catalog::{CatalogError, Product, ProductCatalog, ProductPage, ProductQuery};
use kernel::{Cursor, Money, Sku};
use tokio_postgres::types::Type;

/// The Postgres catalogue.
#[derive(Debug, Clone)]
pub struct PgCatalog {
    db: Db,
}

impl PgCatalog {
    pub fn new(db: Db) -> Self {
        PgCatalog { db }
    }
}

const COLUMNS: &str = "p.sku, p.name, p.description, p.brand, p.category, p.unit, coalesce(pl.price, 0),
    to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> CatalogError {
    CatalogError::Unavailable(Box::new(e))
}

fn query_failed(e: tokio_postgres::Error) -> CatalogError {
    CatalogError::Unavailable(describe(&e).into())
}

fn row_to_product(row: &tokio_postgres::Row) -> Result<Product, CatalogError> {
    let sku: String = row.get(0);
    Ok(Product {
        sku: Sku::parse(&sku).map_err(unavailable)?,
        name: row.get(1),
        description: row.get(2),
        brand: row.get(3),
        category: row.get(4),
        unit: row.get(5),
        list_price: Money::from_minor(row.get(6)),
        updated_at: row.get(7),
    })
}

impl ProductCatalog for PgCatalog {
    #[tracing::instrument(skip(self, query), fields(search = query.search().is_some(), limit = query.limit()))]
    async fn search(&self, query: &ProductQuery) -> Result<ProductPage, CatalogError> {
        let client = self.db.reader().get().await.map_err(unavailable)?;
        let limit = i64::from(query.limit());
        let fetch = limit + 1;
        let category = query.category().map(str::to_string);
        let brand = query.brand().map(str::to_string);
        let rows = match query.search() {
            Some(text) => {
                // Cursor: "<rank>|<sku>". Rank is a float4; its text form round-trips exactly.
                let (after_rank, after_sku) = match query.after() {
                    Some(c) => {
                        let (r, s) = c.position().split_once('|').ok_or(CatalogError::ForeignCursor)?;
                        (
                            Some(r.parse::<f32>().map_err(|_| CatalogError::ForeignCursor)?),
                            Some(s.to_string()),
                        )
                    }
                    None => (None, None),
                };
                let sql = format!(
                    "WITH q AS (SELECT websearch_to_tsquery('simple', $1) AS tsq),
                     hits AS (
                        SELECT p.sku, ts_rank(p.search, q.tsq) AS rank
                        FROM products p, q
                        WHERE p.search @@ q.tsq AND p.is_active
                          AND ($2::text IS NULL OR lower(p.category) = $2)
                          AND ($3::text IS NULL OR lower(p.brand) = $3))
                     SELECT {COLUMNS}, h.rank
                     FROM hits h JOIN products p ON p.sku = h.sku
                     LEFT JOIN price_lists pl ON pl.sku = p.sku AND pl.tier = 'bronze'
                     WHERE $4::real IS NULL OR h.rank < $4 OR (h.rank = $4 AND h.sku > $5)
                     ORDER BY h.rank DESC, h.sku
                     LIMIT $6"
                );
                client
                    .query_typed(
                        &sql,
                        &[
                            (&text, Type::TEXT),
                            (&category, Type::TEXT),
                            (&brand, Type::TEXT),
                            (&after_rank, Type::FLOAT4),
                            (&after_sku, Type::TEXT),
                            (&fetch, Type::INT8),
                        ],
                    )
                    .await
                    .map_err(query_failed)?
            }
            None => {
                let after_sku = query.after().map(|c| c.position().to_string());
                if let Some(s) = &after_sku {
                    Sku::parse(s).map_err(|_| CatalogError::ForeignCursor)?;
                }
                let sql = format!(
                    "SELECT {COLUMNS}, 0::real
                     FROM products p
                     LEFT JOIN price_lists pl ON pl.sku = p.sku AND pl.tier = 'bronze'
                     WHERE p.is_active
                       AND ($1::text IS NULL OR lower(p.category) = $1)
                       AND ($2::text IS NULL OR lower(p.brand) = $2)
                       AND ($3::text IS NULL OR p.sku > $3)
                     ORDER BY p.sku
                     LIMIT $4"
                );
                client
                    .query_typed(
                        &sql,
                        &[
                            (&category, Type::TEXT),
                            (&brand, Type::TEXT),
                            (&after_sku, Type::TEXT),
                            (&fetch, Type::INT8),
                        ],
                    )
                    .await
                    .map_err(query_failed)?
            }
        };
        let has_more = rows.len() as i64 > limit;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut last_rank = 0f32;
        for row in rows.iter().take(limit as usize) {
            items.push(row_to_product(row)?);
            last_rank = row.get(8);
        }
        let next = match (has_more, items.last()) {
            (true, Some(last)) if query.search().is_some() => {
                Some(Cursor::from_position(&format!("{last_rank}|{}", last.sku)))
            }
            (true, Some(last)) => Some(Cursor::from_position(last.sku.as_str())),
            _ => None,
        };
        Ok(ProductPage { items, next })
    }

    #[tracing::instrument(skip(self), fields(sku = %sku))]
    async fn by_sku(&self, sku: &Sku) -> Result<Option<Product>, CatalogError> {
        let client = self.db.reader().get().await.map_err(unavailable)?;
        let sql = format!(
            "SELECT {COLUMNS} FROM products p
             LEFT JOIN price_lists pl ON pl.sku = p.sku AND pl.tier = 'bronze'
             WHERE p.sku = $1 AND p.is_active"
        );
        let row = client
            .query_typed_opt(&sql, &[(&sku.as_str(), Type::TEXT)])
            .await
            .map_err(query_failed)?;
        row.as_ref().map(row_to_product).transpose()
    }
}
