//! `catalog-api`: the public catalogue. `GET /products` (full-text search, filters, keyset pagination) and
//! `GET /products/{sku}`, both cacheable by the CDN (ETag, `s-maxage`, `stale-while-revalidate`) and served
//! from the reader pool.
//!
//! The handler decodes requests, calls the [`catalog::ProductCatalog`] port and maps results; it holds no SQL.
//! It must not depend on the AWS SDK directly.

use catalog::{CatalogError, Product, ProductCatalog, ProductQuery};
use kernel::Sku;
use lambda_http::{Body, Request};
use platform::http::{cached_json, query_pairs, segments, CachePolicy, HttpHandler, RequestCtx};
use platform::Problem;
use serde_json::{json, Value};

/// The catalogue handler over any catalogue implementation.
#[derive(Debug)]
pub struct CatalogApi<C> {
    catalog: C,
    /// Public reads per source address: a backstop behind the edge limit.
    limits: Option<platform::limits::RateLimits>,
}

impl<C: ProductCatalog> CatalogApi<C> {
    pub fn new(catalog: C) -> Self {
        CatalogApi { catalog, limits: None }
    }

    pub fn with_limits(mut self, limits: platform::limits::RateLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    async fn list(&self, req: &Request) -> Result<http::Response<Body>, Problem> {
        let pairs = query_pairs(req);
        let query = ProductQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| Problem::invalid_parameter(e.field, e.message))?;
        let page = self.catalog.search(&query).await.map_err(catalog_problem)?;
        let body = json!({
            "items": page.items.iter().map(product_json).collect::<Vec<_>>(),
            "limit": query.limit(),
            "next_cursor": page.next.map(|c| c.encode()),
        });
        Ok(cached_json(req, &body, CachePolicy::CATALOGUE))
    }

    async fn detail(&self, req: &Request, raw_sku: &str) -> Result<http::Response<Body>, Problem> {
        let sku = Sku::parse(raw_sku).map_err(|e| Problem::invalid_parameter("sku", e.to_string()))?;
        match self.catalog.by_sku(&sku).await.map_err(catalog_problem)? {
            Some(product) => Ok(cached_json(req, &product_json(&product), CachePolicy::CATALOGUE)),
            None => Err(Problem::not_found(format!("no product with SKU {sku}"))),
        }
    }
}

impl<C: ProductCatalog + 'static> HttpHandler for CatalogApi<C> {
    async fn handle(&self, req: Request, _ctx: &RequestCtx) -> Result<http::Response<Body>, Problem> {
        let segs = segments(&req);
        let path: Vec<&str> = segs.iter().map(String::as_str).collect();
        if let Some(limits) = &self.limits {
            limits
                .check(platform::limits::Class::PublicRead(platform::limits::source_ip(&req)))
                .await?;
        }
        match (req.method(), path.as_slice()) {
            (&http::Method::GET, ["products"]) => self.list(&req).await,
            (&http::Method::GET, ["products", sku]) => self.detail(&req, sku).await,
            (_, ["products"] | ["products", _]) => Err(Problem::method_not_allowed()),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

fn catalog_problem(e: CatalogError) -> Problem {
    match e {
        CatalogError::ForeignCursor => Problem::invalid_parameter("cursor", "does not belong to this query"),
        CatalogError::Unavailable(cause) => Problem::unavailable(1, anyhow::anyhow!(cause)),
    }
}

fn product_json(p: &Product) -> Value {
    json!({
        "sku": p.sku,
        "name": p.name,
        "description": p.description,
        "brand": p.brand,
        "category": p.category,
        "unit": p.unit,
        "list_price": { "amount": p.list_price.minor(), "currency": "IDR" },
        "updated_at": p.updated_at,
    })
}
