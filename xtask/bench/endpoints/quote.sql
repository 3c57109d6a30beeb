-- POST /quotes for one line, as orders-api runs it (shared/store/src/pricing.rs): the caller's tier prices and the
-- pricing settings. Variables given with -D: sku, tier.
SELECT pl.sku, pl.price FROM price_lists pl JOIN products p ON p.sku = pl.sku
 WHERE pl.tier = ':tier' AND pl.sku = ANY(ARRAY[':sku']) AND p.is_active;
SELECT key, value FROM system_config WHERE key LIKE 'pricing.%' OR key = 'orders.payment_window_minutes';
