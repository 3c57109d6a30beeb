-- GET /products?q=shampoo+argan&limit=5, as catalog-api runs it (shared/store/src/catalog.rs, search): one
-- statement on the reader, six rows fetched to know whether a next page exists.
WITH q AS (SELECT websearch_to_tsquery('simple', 'shampoo argan') AS tsq),
hits AS (
   SELECT p.sku, ts_rank(p.search, q.tsq) AS rank
   FROM products p, q
   WHERE p.search @@ q.tsq AND p.is_active
     AND (NULL::text IS NULL OR lower(p.category) = NULL)
     AND (NULL::text IS NULL OR lower(p.brand) = NULL))
SELECT p.sku, p.name, p.description, p.brand, p.category, p.unit, coalesce(pl.price, 0),
       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), h.rank
FROM hits h JOIN products p ON p.sku = h.sku
LEFT JOIN price_lists pl ON pl.sku = p.sku AND pl.tier = 'bronze'
WHERE NULL::real IS NULL OR h.rank < NULL OR (h.rank = NULL AND h.sku > NULL)
ORDER BY h.rank DESC, h.sku
LIMIT 6;
