-- Shipments and returns from the ERP, the book of record for goods: a shipped line consumes its reservation, and
-- on hand follows the ERP's book however shipments, returns and stock snapshots interleave.

-- On hand is the ERP's count, told honestly. It can fall below what Niaga reserves (the ERP shipped goods whose
-- delivery note Niaga has not read yet, or sold them elsewhere): sellable is then zero, never negative, and
-- nothing pretends the goods are still there.
ALTER TABLE inventory DROP CONSTRAINT inventory_check;
-- The ERP movement (`Urutan`) the on-hand count includes: the snapshot it came from, moved on by every movement
-- applied since.
ALTER TABLE inventory ADD COLUMN erp_seq bigint NOT NULL DEFAULT 0 CHECK (erp_seq >= 0);

ALTER TABLE order_lines
    ADD COLUMN shipped  integer NOT NULL DEFAULT 0 CHECK (shipped >= 0),
    ADD COLUMN returned integer NOT NULL DEFAULT 0 CHECK (returned >= 0),
    ADD CONSTRAINT order_lines_movement_bounds CHECK (shipped <= quantity AND returned <= shipped);

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('pending_payment', 'paid', 'sent_to_erp', 'partly_shipped', 'fulfilled', 'cancelled', 'expired'));

-- Every movement applied, once: the ERP's document number is the key, so reading the same feed twice changes
-- nothing.
CREATE TABLE erp_movements (
    document_no     text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('shipment', 'return')),
    seq             bigint NOT NULL CHECK (seq > 0),
    order_id        uuid,
    applied_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE erp_movement_lines (
    document_no     text NOT NULL REFERENCES erp_movements (document_no),
    line_no         integer NOT NULL,
    seq             bigint NOT NULL,
    kind            text NOT NULL,
    warehouse_code  text NOT NULL,
    sku             text NOT NULL,
    quantity        integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (document_no, line_no)
);
-- A stock snapshot subtracts what moved after it: movements per row, newest last.
CREATE INDEX erp_movement_lines_row_idx ON erp_movement_lines (sku, warehouse_code, seq);

-- The movement feed's cursor: the last `Urutan` read.
ALTER TABLE erp_sync_state DROP CONSTRAINT erp_sync_state_kind_check;
ALTER TABLE erp_sync_state ADD CONSTRAINT erp_sync_state_kind_check CHECK (kind IN ('stock', 'balances', 'movements'));
ALTER TABLE erp_sync_state ADD COLUMN seq bigint NOT NULL DEFAULT 0 CHECK (seq >= 0);
INSERT INTO erp_sync_state (kind) VALUES ('movements');
