//! The Postgres catalogue against the seeded template: full-text search through the GIN index, filters, and
//! keyset pagination that never repeats or skips a product.

use catalog::{CatalogError, ProductCatalog, ProductQuery};
use kernel::Sku;
use std::collections::BTreeSet;
use store::catalog::PgCatalog;
use testkit::{fresh_db, Template};

fn q(pairs: &[(&str, &str)]) -> ProductQuery {
    ProductQuery::parse(pairs.iter().copied()).unwrap()
}

#[tokio::test]
async fn search_finds_products_by_words_in_name_and_description() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    let page = catalog
        .search(&q(&[("q", "shampoo argan"), ("limit", "100")]))
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    for p in &page.items {
        let text = format!("{} {}", p.name, p.description).to_lowercase();
        assert!(text.contains("shampoo") && text.contains("argan"), "{}", p.name);
    }
}

#[tokio::test]
async fn search_uses_the_full_text_index_not_a_scan() {
    let db = fresh_db(Template::Seeded).await;
    let client = db.client().await;
    client.batch_execute("SET enable_seqscan = off").await.unwrap();
    let plan: Vec<String> = client
        .query(
            "EXPLAIN SELECT sku FROM products WHERE search @@ websearch_to_tsquery('simple', 'argan')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.iter().any(|l| l.contains("products_search_idx")), "{plan:#?}");
}

#[tokio::test]
async fn pages_cover_every_match_exactly_once_with_and_without_search() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    for base in [vec![("q", "serum")], vec![("category", "serum")], vec![]] {
        let mut seen = BTreeSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut pairs = base.clone();
            pairs.push(("limit", "7"));
            if let Some(c) = &cursor {
                pairs.push(("cursor", c.as_str()));
            }
            let page = catalog.search(&q(&pairs)).await.unwrap();
            assert!(page.items.len() <= 7);
            for p in &page.items {
                assert!(seen.insert(p.sku.clone()), "{} repeated", p.sku);
            }
            pages += 1;
            match page.next {
                Some(c) => cursor = Some(c.encode()),
                None => break,
            }
            assert!(pages < 200, "pagination does not end");
        }
        let all = catalog
            .search(&q(&base.iter().copied().chain([("limit", "100")]).collect::<Vec<_>>()))
            .await
            .unwrap();
        assert!(!seen.is_empty());
        if all.next.is_none() {
            assert_eq!(seen.len(), all.items.len(), "{base:?}");
        }
        if base.is_empty() {
            assert_eq!(seen.len(), testkit::SEEDED_PRODUCTS);
        }
    }
}

#[tokio::test]
async fn filters_narrow_results_case_insensitively() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    let page = catalog
        .search(&q(&[("brand", "KIRANA"), ("category", "Shampoo"), ("limit", "100")]))
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    assert!(page
        .items
        .iter()
        .all(|p| p.brand == "Kirana" && p.category == "shampoo"));
}

#[tokio::test]
async fn a_cursor_from_another_kind_of_query_is_refused() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    let page = catalog.search(&q(&[("limit", "2")])).await.unwrap();
    let plain_cursor = page.next.unwrap().encode();
    let err = catalog
        .search(&q(&[("q", "serum"), ("cursor", &plain_cursor)]))
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::ForeignCursor));
}

#[tokio::test]
async fn sql_metacharacters_in_search_are_just_text() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    for text in ["'; DROP TABLE products; --", "\" OR 1=1 --", "a & | ! (", "%_\\"] {
        catalog.search(&q(&[("q", text)])).await.unwrap();
    }
    assert!(
        catalog
            .by_sku(&Sku::parse("SHM-00001").unwrap())
            .await
            .unwrap()
            .is_some(),
        "products still there"
    );
}

#[tokio::test]
async fn an_unknown_or_inactive_sku_is_none() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    assert!(catalog
        .by_sku(&Sku::parse("ZZZ-99999").unwrap())
        .await
        .unwrap()
        .is_none());
    db.client()
        .await
        .execute("UPDATE products SET is_active = false WHERE sku = 'SHM-00001'", &[])
        .await
        .unwrap();
    assert!(catalog
        .by_sku(&Sku::parse("SHM-00001").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_list_price_is_the_bronze_tier_price() {
    let db = fresh_db(Template::Seeded).await;
    let catalog = PgCatalog::new(db.db());
    let p = catalog
        .by_sku(&Sku::parse("SHM-00001").unwrap())
        .await
        .unwrap()
        .unwrap();
    let bronze: i64 = db
        .client()
        .await
        .query_one(
            "SELECT price FROM price_lists WHERE sku = 'SHM-00001' AND tier = 'bronze'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(p.list_price.minor(), bronze);
    assert!(bronze > 0);
}
