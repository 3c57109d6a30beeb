//! `catalog-api`: the public catalogue. `GET /products` (full-text search, filters, keyset pagination) and
//! `GET /products/{sku}`, both cacheable by the CDN (ETag, `s-maxage`, `stale-while-revalidate`) and served
//! from the reader pool.
//!
//! The handler decodes requests, calls the [`catalog::ProductCatalog`] port and maps results; it holds no SQL.
//! It must not depend on the AWS SDK directly.

use catalog::{CatalogError, Product, ProductCatalog, ProductQuery};
use kernel::Sku;
use lambda_glue::http::{cached_json, query_pairs, segments, CachePolicy, HttpHandler, RequestCtx};
use lambda_glue::Problem;
use lambda_http::{Body, Request};
use serde_json::Value;

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
        let body = ProductList {
            items: page.items.iter().map(ProductView::from).collect(),
            limit: query.limit(),
            next_cursor: page.next.map(|c| c.encode()),
        };
        Ok(cached_json(req, &to_json(&body)?, CachePolicy::CATALOGUE))
    }

    async fn detail(&self, req: &Request, raw_sku: &str) -> Result<http::Response<Body>, Problem> {
        let sku = Sku::parse(raw_sku).map_err(|e| Problem::invalid_parameter("sku", e.to_string()))?;
        match self.catalog.by_sku(&sku).await.map_err(catalog_problem)? {
            Some(product) => Ok(cached_json(
                req,
                &to_json(&ProductView::from(&product))?,
                CachePolicy::CATALOGUE,
            )),
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

fn to_json(v: &impl serde::Serialize) -> Result<Value, Problem> {
    serde_json::to_value(v).map_err(Problem::internal)
}

/// A product as `GET /products` and `GET /products/{sku}` answer it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ProductView {
    pub sku: Sku,
    pub name: String,
    pub description: String,
    pub brand: String,
    pub category: String,
    pub unit: String,
    /// The bronze-tier (list) price; tier prices need a partner's token (`POST /quotes`).
    pub list_price: Price,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
}

/// An amount and its currency.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Price {
    pub amount: kernel::Money,
    pub currency: kernel::Currency,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        ProductView {
            sku: p.sku.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            brand: p.brand.clone(),
            category: p.category.clone(),
            unit: p.unit.clone(),
            list_price: Price {
                amount: p.list_price,
                currency: kernel::Currency::Idr,
            },
            updated_at: p.updated_at.clone(),
        }
    }
}

/// One page of `GET /products`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ProductList {
    pub items: Vec<ProductView>,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The operations this function serves, for the OpenAPI document.
pub fn operations() -> Vec<platform::openapi::Operation> {
    use platform::openapi::Operation;
    use serde_json::json as schema;
    let filter = schema!({ "type": "string", "maxLength": 64 });
    vec![
        Operation::new("GET", "/products", "listProducts", "Search and list the catalogue")
            .tag("catalog-api")
            .describe(
                "Full-text search (`q`, websearch syntax) with filters and keyset pagination. Public and \
                 CDN-cacheable: `ETag`, `If-None-Match` → 304.",
            )
            .param_with(
                "query",
                "q",
                false,
                "Search text over name, brand and description.",
                schema!({ "type": "string", "maxLength": catalog::MAX_SEARCH_CHARS }),
            )
            .param_with("query", "category", false, "Only this category.", filter.clone())
            .param_with("query", "brand", false, "Only this brand.", filter)
            .paged(catalog::DEFAULT_LIMIT, catalog::MAX_LIMIT)
            .answers::<ProductList>(200, "A page of products."),
        Operation::new("GET", "/products/{sku}", "getProduct", "Read one product")
            .tag("catalog-api")
            .path_param::<Sku>("sku", "The product's SKU.")
            .answers::<ProductView>(200, "The product."),
    ]
}
