-- ERP sync: the ERP's own order number once the ERP has the order, and the settings the sync worker reads.
ALTER TABLE orders
    ADD COLUMN erp_order_no text,
    ADD COLUMN erp_sent_at  timestamptz;

INSERT INTO system_config (key, value, updated_by) VALUES
    -- Consecutive ERP failures that open the shared circuit breaker, how long it stays open before one probe, and
    -- how long a silent probe is trusted (above the ERP client's timeout).
    ('erp.breaker.failure_threshold', '5', 'migration'),
    ('erp.breaker.cool_down_seconds', '30', 'migration'),
    ('erp.breaker.probe_timeout_seconds', '30', 'migration'),
    -- Orders per second all sync workers together may send to the ERP.
    ('erp.sync.max_per_second', '20', 'migration');
