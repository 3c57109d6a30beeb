-- Orders (partitioned by month), the transactional outbox, configuration as data with its audit trail, and the
-- audit log (partitioned by month).

-- Creates monthly range partitions of `parent` for `months` months starting at the month holding `first`.
-- Idempotent: existing partitions are left alone. Used here and by the partition job.
CREATE FUNCTION niaga_ensure_month_partitions(parent regclass, first date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    start_month date := date_trunc('month', first)::date;
    created integer := 0;
    part_name text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        part_name := format('%s_%s', parent::text, to_char(start_month + make_interval(months => i), 'YYYYMM'));
        IF to_regclass(part_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           part_name, parent::text,
                           start_month + make_interval(months => i),
                           start_month + make_interval(months => i + 1));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

CREATE TABLE orders (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    placed_at       timestamptz NOT NULL DEFAULT now(),
    partner_id      bigint NOT NULL REFERENCES partners (id),
    -- Set when a sales agent placed the order for the partner (masquerade).
    placed_by_agent text,
    status          text NOT NULL CHECK (status IN
                        ('pending_payment', 'paid', 'sent_to_erp', 'fulfilled', 'cancelled', 'expired')),
    total           bigint NOT NULL CHECK (total >= 0),
    payment_due_at  timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, placed_at)
) PARTITION BY RANGE (placed_at);
CREATE INDEX orders_partner_idx ON orders (partner_id, placed_at DESC, id);

CREATE TABLE order_lines (
    order_id        uuid NOT NULL,
    placed_at       timestamptz NOT NULL,
    line_no         integer NOT NULL,
    sku             text NOT NULL REFERENCES products (sku),
    warehouse_code  text NOT NULL REFERENCES warehouses (code),
    quantity        integer NOT NULL CHECK (quantity > 0),
    unit_price      bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, placed_at, line_no),
    FOREIGN KEY (order_id, placed_at) REFERENCES orders (id, placed_at)
) PARTITION BY RANGE (placed_at);

-- Events written in the same transaction as the change that caused them; a relay publishes them.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    aggregate_type  text NOT NULL,
    aggregate_id    text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Business settings as data (seed 004 section 4.3).
CREATE TABLE system_config (
    key             text PRIMARY KEY,
    value           jsonb NOT NULL,
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE system_config_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             text NOT NULL,
    old_value       jsonb,
    new_value       jsonb NOT NULL,
    changed_by      text NOT NULL,
    -- The partner a masquerading sales agent acted for, if any.
    acting_for      text,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX system_config_audit_key_idx ON system_config_audit (key, changed_at DESC);

INSERT INTO system_config (key, value, updated_by) VALUES
    ('pricing.loyalty_multiplier_bp.bronze',   '10000', 'migration'),
    ('pricing.loyalty_multiplier_bp.silver',   '9750',  'migration'),
    ('pricing.loyalty_multiplier_bp.gold',     '9500',  'migration'),
    ('pricing.loyalty_multiplier_bp.platinum', '9250',  'migration'),
    ('pricing.minimum_order_total',            '500000', 'migration'),
    ('supply.stock_sync_interval_minutes',     '15',    'migration');

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    acting_for      text,
    action          text NOT NULL,
    subject         text NOT NULL,
    detail          jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- The previous month through five months ahead; the partition job keeps extending this.
SELECT niaga_ensure_month_partitions('orders', (now() - interval '1 month')::date, 7);
SELECT niaga_ensure_month_partitions('order_lines', (now() - interval '1 month')::date, 7);
SELECT niaga_ensure_month_partitions('audit_log', (now() - interval '1 month')::date, 7);
