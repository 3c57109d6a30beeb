-- GET /orders/{id}, as orders-api runs it (shared/store/src/orders.rs, load_order): the order for its partner,
-- then its lines. Variables given with -D: id, partner, placed_at.
SELECT id, status, partner_id, tier, placed_by, placed_by_agent, placed_at, payment_due_at, paid_at, list_total,
       total, promised_sla_hours, erp_order_no
  FROM orders WHERE id = ':id' AND (CAST(:partner AS int8) IS NULL OR partner_id = :partner);
SELECT sku, warehouse_code, quantity, list_price, unit_price FROM order_lines
 WHERE order_id = ':id' AND placed_at = ':placed_at' ORDER BY line_no;
