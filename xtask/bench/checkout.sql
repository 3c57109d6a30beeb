-- The checkout transaction orders-api runs for a one-line order, statement for statement (see
-- shared/store/src/orders.rs), as a pgbench script. `cargo xtask bench` runs it bare through tokio-postgres
-- (sql-bench, the latency baseline) and through pgbench with 64 clients (the throughput baseline).
-- The JSON documents are the size the function writes (the order as answered, the event, the audit detail).
-- Variables given with -D: sku, warehouse, tier.
\set partner random(1, 400)
\set k random(1, 2000000000)
INSERT INTO idempotency_claims (scope, key, expires_at)
 VALUES ('bench|partner:' || :partner, 'k-' || :k, now() + interval '24 hours') ON CONFLICT (scope, key) DO NOTHING;
BEGIN;
SELECT 1 FROM idempotency_claims WHERE scope = 'bench|partner:' || :partner AND key = 'k-' || :k FOR UPDATE NOWAIT;
SELECT request_hash, status_code, response, resource_id FROM idempotency_keys
 WHERE scope = 'bench|partner:' || :partner AND key = 'k-' || :k AND expires_at > now();
SELECT credit_limit, erp_debt FROM partners WHERE id = :partner FOR UPDATE;
SELECT coalesce(sum(total), 0)::int8 FROM orders WHERE partner_id = :partner AND status = 'pending_payment';
SELECT key, value FROM system_config WHERE key LIKE 'pricing.%' OR key = 'orders.payment_window_minutes';
SELECT pl.sku, pl.price FROM price_lists pl JOIN products p ON p.sku = pl.sku
 WHERE pl.tier = ':tier' AND pl.sku = ANY(ARRAY[':sku']) AND p.is_active;
SELECT warehouse_code, sku, on_hand, reserved, buffer FROM inventory
 WHERE sku = ANY(ARRAY[':sku']) ORDER BY sku, warehouse_code FOR UPDATE;
SELECT code, lat_e6, lon_e6, sla_hours, service_radius_km FROM warehouses ORDER BY code;
INSERT INTO orders (id, placed_at, partner_id, placed_by, placed_by_agent, status, total, list_total, tier,
                    payment_due_at, promised_sla_hours)
 VALUES (md5('bench-' || :k)::uuid, now(), :partner, 'bench', NULL, 'pending_payment', 100000, 100000, ':tier',
         now() + interval '1 hour', 24);
INSERT INTO order_lines (order_id, placed_at, line_no, sku, warehouse_code, quantity, unit_price, list_price, unit_cost)
 SELECT md5('bench-' || :k)::uuid, now(), 1, p.sku, ':warehouse', 1, 100000, 100000, p.cost_price
 FROM products p WHERE p.sku = ':sku';
SELECT 1 FROM inventory WHERE sku = ':sku' AND warehouse_code = ':warehouse' FOR UPDATE;
UPDATE inventory SET reserved = reserved + 1, updated_at = now()
 WHERE sku = ':sku' AND warehouse_code = ':warehouse' AND reserved + 1 <= on_hand;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
 VALUES ('order', md5('bench-' || :k)::uuid::text, 'order.placed',
         '{"order_id":"00000000-0000-0000-0000-000000000000","partner_id":1,"status":"pending_payment","total":100000,"currency":"IDR","placed_by":"partner:P-00001","placed_by_agent":null,"lines":[{"sku":"SRM-00004","warehouse":"JKT-CKR","quantity":1,"unit_price":100000}]}');
INSERT INTO audit_log (actor, acting_for, action, subject, detail)
 VALUES ('bench', NULL, 'order.place', 'order:bench', '{"total":100000,"split":false,"masquerade":false}');
INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response, resource_id, expires_at)
 VALUES ('bench|partner:' || :partner, 'k-' || :k, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
         201, '{"id":"00000000-0000-0000-0000-000000000000","status":"pending_payment","partner_id":1,"tier":"bronze","placed_by":"partner:P-00001","placed_by_agent":null,"placed_at":"2026-11-28T01:20:10.484941Z","payment_due_at":"2026-11-28T02:20:10.484941Z","paid_at":null,"lines":[{"sku":"SRM-00004","warehouse":"JKT-CKR","quantity":1,"list_price":100000,"unit_price":100000,"line_total":100000}],"list_total":100000,"discount":0,"total":100000,"currency":"IDR","promised_sla_hours":24}', md5('bench-' || :k)::uuid::text, now() + interval '24 hours')
 ON CONFLICT DO NOTHING;
COMMIT;
