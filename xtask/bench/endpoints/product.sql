-- GET /products/SHM-00001, as catalog-api runs it (shared/store/src/catalog.rs, by_sku).
SELECT p.sku, p.name, p.description, p.brand, p.category, p.unit, coalesce(pl.price, 0),
       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM products p
LEFT JOIN price_lists pl ON pl.sku = p.sku AND pl.tier = 'bronze'
WHERE p.sku = 'SHM-00001' AND p.is_active;
