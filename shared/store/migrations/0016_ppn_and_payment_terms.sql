-- PPN (VAT) on every order, and payment terms: partners who buy on credit instead of through the gateway.

-- Which PPN applies from which day (WIB), as data: a change of rate is a new entry, in force from its day with no
-- deploy. 11 % of the price from April 2022 (UU HPP); from 1 January 2025 12 % on the DPP nilai lain, 11/12 of the
-- price (PMK 131/2024).
INSERT INTO system_config (key, value, updated_by, schema) VALUES
    ('tax.ppn_schedule',
     '[{"from": "2022-04-01", "tariff_bp": 1100, "dpp_twelfths": 12}, {"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11}]',
     'migration',
     '{"type": "schedule", "fields": {"tariff_bp": {"minimum": 0, "maximum": 10000}, "dpp_twelfths": {"minimum": 1, "maximum": 12}}, "description": "PPN from each WIB day in `from`: the tariff in basis points on a DPP of dpp_twelfths/12 of the selling price (1200 on 11/12 under PMK 131/2024)."}');

-- The PPN each order was invoiced with, fixed when it was placed. Orders placed before this migration carried no
-- PPN, and say so (tariff 0) rather than being taxed after the fact. `total` stays the selling price (harga jual).
ALTER TABLE orders
    ADD COLUMN ppn_tariff_bp       integer NOT NULL DEFAULT 0 CHECK (ppn_tariff_bp BETWEEN 0 AND 10000),
    ADD COLUMN ppn_dpp_numerator   integer NOT NULL DEFAULT 1,
    ADD COLUMN ppn_dpp_denominator integer NOT NULL DEFAULT 1,
    ADD COLUMN dpp                 bigint NOT NULL DEFAULT 0 CHECK (dpp >= 0 AND dpp <= total),
    ADD COLUMN ppn                 bigint NOT NULL DEFAULT 0 CHECK (ppn >= 0 AND ppn <= dpp),
    -- What the partner owes: what the gateway collects and what counts against credit.
    ADD COLUMN total_incl_tax      bigint GENERATED ALWAYS AS (total + ppn) STORED,
    -- Set for an order on credit: the days the ERP gives the partner to pay. NULL: paid through the gateway.
    ADD COLUMN payment_terms_days  integer CHECK (payment_terms_days BETWEEN 1 AND 365),
    ADD CHECK (0 < ppn_dpp_numerator AND ppn_dpp_numerator <= ppn_dpp_denominator);

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('pending_payment', 'paid', 'confirmed', 'sent_to_erp', 'partly_shipped', 'fulfilled', 'cancelled', 'expired'));

-- Credit exposure now sums what partners owe, PPN included.
DROP INDEX orders_unpaid_idx;
CREATE INDEX orders_unpaid_idx ON orders (partner_id) INCLUDE (total_incl_tax) WHERE status = 'pending_payment';
-- Terms orders the ERP's debt may not include yet: not yet sent, or sent after the last debt snapshot.
CREATE INDEX orders_terms_exposure_idx ON orders (partner_id, erp_sent_at) INCLUDE (total_incl_tax)
    WHERE payment_terms_days IS NOT NULL;

-- A partner's payment terms. NULL: cash through the gateway within the payment window, as before.
ALTER TABLE partners ADD COLUMN payment_terms_days integer CHECK (payment_terms_days BETWEEN 1 AND 365);

-- The month's tax base and output tax per partner, beside revenue (which never includes PPN).
ALTER TABLE profit_reports
    ADD COLUMN dpp bigint NOT NULL DEFAULT 0,
    ADD COLUMN ppn bigint NOT NULL DEFAULT 0;
