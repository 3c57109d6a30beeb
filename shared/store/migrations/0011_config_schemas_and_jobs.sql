-- Configuration as data gets a schema per key (type and allowed range, checked by the `settings` crate before any
-- change), retention settings for the cleanup job, and the tables the scheduled jobs fill: the monthly profit report,
-- the cost-price sync log, and returns as the ERP records them.

ALTER TABLE system_config ADD COLUMN schema jsonb NOT NULL DEFAULT '{"type": "integer"}';

INSERT INTO system_config (key, value, updated_by) VALUES
    ('retention.orders_months',          '24', 'migration'),
    ('retention.audit_months',           '12', 'migration'),
    ('retention.outbox_days',            '7',  'migration'),
    ('retention.notification_log_days',  '90', 'migration');

UPDATE system_config c SET schema = s.schema::jsonb FROM (VALUES
    ('pricing.loyalty_multiplier_bp.bronze',   '{"type": "integer", "minimum": 5000, "maximum": 10000, "unit": "basis points", "description": "Bronze tier loyalty multiplier applied to the tier price (10000 = no discount)."}'),
    ('pricing.loyalty_multiplier_bp.silver',   '{"type": "integer", "minimum": 5000, "maximum": 10000, "unit": "basis points", "description": "Silver tier loyalty multiplier applied to the tier price."}'),
    ('pricing.loyalty_multiplier_bp.gold',     '{"type": "integer", "minimum": 5000, "maximum": 10000, "unit": "basis points", "description": "Gold tier loyalty multiplier applied to the tier price."}'),
    ('pricing.loyalty_multiplier_bp.platinum', '{"type": "integer", "minimum": 5000, "maximum": 10000, "unit": "basis points", "description": "Platinum tier loyalty multiplier applied to the tier price."}'),
    ('pricing.minimum_order_total',            '{"type": "integer", "minimum": 0, "maximum": 1000000000, "unit": "rupiah", "description": "Smallest order total accepted at checkout."}'),
    ('supply.stock_sync_interval_minutes',     '{"type": "integer", "minimum": 1, "maximum": 1440, "unit": "minutes", "description": "How often stock and partner debt are synced from the ERP."}'),
    ('orders.payment_window_minutes',          '{"type": "integer", "minimum": 5, "maximum": 10080, "unit": "minutes", "description": "How long an order waits for payment before it expires."}'),
    ('erp.breaker.failure_threshold',          '{"type": "integer", "minimum": 1, "maximum": 100, "unit": "failures", "description": "Consecutive ERP failures that open the circuit breaker."}'),
    ('erp.breaker.cool_down_seconds',          '{"type": "integer", "minimum": 1, "maximum": 3600, "unit": "seconds", "description": "How long the breaker stays open before one probe."}'),
    ('erp.breaker.probe_timeout_seconds',      '{"type": "integer", "minimum": 1, "maximum": 600, "unit": "seconds", "description": "How long a silent probe is trusted."}'),
    ('erp.sync.max_per_second',                '{"type": "integer", "minimum": 1, "maximum": 1000, "unit": "orders per second", "description": "Orders sent to the ERP per second, across all workers."}'),
    ('ratelimit.login_per_account_per_minute', '{"type": "integer", "minimum": 1, "maximum": 10000, "unit": "requests per minute", "description": "Login attempts per account."}'),
    ('ratelimit.login_per_source_per_minute',  '{"type": "integer", "minimum": 1, "maximum": 100000, "unit": "requests per minute", "description": "Login attempts per source address."}'),
    ('ratelimit.ai_agent_per_minute',          '{"type": "integer", "minimum": 1, "maximum": 100000, "unit": "requests per minute", "description": "Requests per AI agent."}'),
    ('ratelimit.public_reads_per_source_per_minute', '{"type": "integer", "minimum": 1, "maximum": 1000000, "unit": "requests per minute", "description": "Public catalogue reads per source address, behind the edge limit."}'),
    ('agents.max_items_per_job',               '{"type": "integer", "minimum": 1, "maximum": 10000, "unit": "items", "description": "Most products one agent job may cover."}'),
    ('agents.chunk_size',                      '{"type": "integer", "minimum": 1, "maximum": 1000, "unit": "items", "description": "Products per checkpointed chunk of an agent job."}'),
    ('notifications.blast_chunk_size',         '{"type": "integer", "minimum": 1, "maximum": 5000, "unit": "partners", "description": "Partners per chunk of a notification blast."}'),
    ('retention.orders_months',                '{"type": "integer", "minimum": 13, "maximum": 120, "unit": "months", "description": "Monthly order partitions kept; older ones are dropped by cleanup-job."}'),
    ('retention.audit_months',                 '{"type": "integer", "minimum": 1, "maximum": 120, "unit": "months", "description": "Monthly audit log partitions kept."}'),
    ('retention.outbox_days',                  '{"type": "integer", "minimum": 1, "maximum": 365, "unit": "days", "description": "Published outbox rows kept."}'),
    ('retention.notification_log_days',        '{"type": "integer", "minimum": 1, "maximum": 3650, "unit": "days", "description": "Sent notification records kept."}')
) AS s (key, schema)
WHERE c.key = s.key;
ALTER TABLE system_config ALTER COLUMN schema DROP DEFAULT;

-- Cost of goods at the time of sale, so a later cost-price change does not rewrite old margins.
ALTER TABLE order_lines ADD COLUMN unit_cost bigint NOT NULL DEFAULT 0 CHECK (unit_cost >= 0);
UPDATE order_lines l SET unit_cost = p.cost_price FROM products p WHERE p.sku = l.sku;

-- Returns as the ERP (the book of record) reports them: goods back from a paid order, with the refund.
CREATE TABLE order_returns (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        uuid NOT NULL,
    placed_at       timestamptz NOT NULL,
    sku             text NOT NULL REFERENCES products (sku),
    quantity        integer NOT NULL CHECK (quantity > 0),
    refund          bigint NOT NULL CHECK (refund >= 0),
    erp_return_no   text NOT NULL UNIQUE,
    returned_at     timestamptz NOT NULL,
    FOREIGN KEY (order_id, placed_at) REFERENCES orders (id, placed_at) ON DELETE CASCADE
);
CREATE INDEX order_returns_month_idx ON order_returns (returned_at);

-- One row per (month, partner): recomputed whole by monthly-profit-job, never added to.
CREATE TABLE profit_reports (
    month           date NOT NULL CHECK (month = date_trunc('month', month)),
    partner_id      bigint NOT NULL REFERENCES partners (id),
    orders          integer NOT NULL,
    revenue         bigint NOT NULL,
    cost_of_goods   bigint NOT NULL,
    gross_margin    bigint NOT NULL,
    returns         bigint NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, partner_id)
);

-- Every cost-price change price-sync-job applied.
CREATE TABLE price_sync_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          uuid NOT NULL,
    sku             text NOT NULL REFERENCES products (sku),
    old_cost        bigint NOT NULL,
    new_cost        bigint NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX price_sync_log_sku_idx ON price_sync_log (sku, changed_at DESC);
