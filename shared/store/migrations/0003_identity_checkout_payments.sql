-- Identity (accounts, sales-agent assignments), idempotent checkout (keys stored with the order they made),
-- payments (every notification recorded once) and the order columns checkout fills in.

-- People log in with a username and password; AI agents with a client id and secret. Both are argon2id PHC
-- strings in `secret_hash`. `sub` is the JWT subject and the name the audit log records.
CREATE TABLE accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login           text NOT NULL UNIQUE CHECK (length(login) BETWEEN 1 AND 128),
    sub             text NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('admin', 'sales_agent', 'partner', 'ai_agent')),
    secret_hash     text NOT NULL,
    partner_id      bigint REFERENCES partners (id),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- A partner account belongs to exactly one partner; nobody else carries a partner.
    CHECK ((role = 'partner') = (partner_id IS NOT NULL))
);

-- Which partners a sales agent may act for (agent masquerade).
CREATE TABLE agent_assignments (
    agent_sub       text NOT NULL REFERENCES accounts (sub),
    partner_id      bigint NOT NULL REFERENCES partners (id),
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_sub, partner_id)
);

-- The first answer to an idempotent request, written in the same transaction as what the request created, so a
-- key exists exactly when its order does. `scope` is the caller and the partner acted for: two callers can never
-- see each other's answers through a shared key.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    key             text NOT NULL,
    request_hash    text NOT NULL,
    status_code     integer NOT NULL,
    response        jsonb NOT NULL,
    resource_id     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

ALTER TABLE orders
    ADD COLUMN placed_by          text NOT NULL DEFAULT 'unknown',
    ADD COLUMN list_total         bigint NOT NULL DEFAULT 0 CHECK (list_total >= 0),
    ADD COLUMN promised_sla_hours integer NOT NULL DEFAULT 0 CHECK (promised_sla_hours >= 0),
    ADD COLUMN tier               text NOT NULL DEFAULT 'bronze',
    ADD COLUMN paid_at            timestamptz,
    ADD COLUMN closed_at          timestamptz;
ALTER TABLE orders ALTER COLUMN placed_by DROP DEFAULT;
-- Open exposure (credit rule) and the expiry job read unpaid orders only.
CREATE INDEX orders_unpaid_idx ON orders (partner_id) INCLUDE (total) WHERE status = 'pending_payment';
CREATE INDEX orders_due_idx ON orders (payment_due_at) WHERE status = 'pending_payment';

ALTER TABLE order_lines
    ADD COLUMN list_price bigint NOT NULL DEFAULT 0 CHECK (list_price >= 0);

-- Every payment notification, once: a repeat of the same (order, transaction, status) is a no-op.
CREATE TABLE payment_notifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id            uuid NOT NULL,
    transaction_id      text NOT NULL,
    transaction_status  text NOT NULL,
    gross_amount        bigint NOT NULL,
    outcome             text NOT NULL,
    payload             jsonb NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, transaction_id, transaction_status)
);

CREATE INDEX audit_log_subject_idx ON audit_log (subject, occurred_at DESC);

INSERT INTO system_config (key, value, updated_by) VALUES
    ('orders.payment_window_minutes', '60', 'migration');
