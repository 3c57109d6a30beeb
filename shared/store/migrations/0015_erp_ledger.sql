-- PostgreSQL is the ledger of what the ERP has: an order whose status says the ERP must have it, and that has no
-- ERP number yet, is sent again until the ERP confirms it, whatever happened to its queue message. These columns
-- are that ledger's bookkeeping.
ALTER TABLE orders
    -- When the ledger sweep last put the order back on the ERP sync queue; it waits erp.sync.resend_after_seconds
    -- between two nudges of one order.
    ADD COLUMN erp_nudged_at    timestamptz,
    -- When the ERP refused the order's document (a 4xx): a person must look (its message is in the dead-letter
    -- queue), so the sweep leaves it alone.
    ADD COLUMN erp_rejected_at  timestamptz,
    ADD COLUMN erp_rejection    text;

-- The sweep's question, answered from the few orders still on their way rather than from every order: those not
-- yet in the ERP and not closed unpaid (pending payment, paid, and any later status that must reach the ERP).
CREATE INDEX orders_awaiting_erp_idx ON orders (status, updated_at)
    WHERE erp_sent_at IS NULL AND status NOT IN ('cancelled', 'expired');

INSERT INTO system_config (key, value, updated_by, schema) VALUES
    ('erp.sync.resend_after_seconds', '600', 'migration',
     '{"type": "integer", "minimum": 1, "maximum": 86400, "unit": "seconds", "description": "How long an order that must reach the ERP may go unconfirmed (since it changed, or since its last resend) before the ERP sync sends it again."}');
