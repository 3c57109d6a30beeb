-- Inbound ERP sync (stock levels, partner debt): when each kind last succeeded, what the ERP's numbers were as of,
-- and the last failure. Checkout reads the synced copies in inventory and partners; when the ERP is down the last
-- synced data stands, and this table says how old it is.
CREATE TABLE erp_sync_state (
    kind            text PRIMARY KEY CHECK (kind IN ('stock', 'balances')),
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    as_of           timestamptz,
    rows_applied    integer NOT NULL DEFAULT 0,
    rows_skipped    integer NOT NULL DEFAULT 0,
    last_error      text
);
INSERT INTO erp_sync_state (kind) VALUES ('stock'), ('balances');
