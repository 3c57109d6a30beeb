-- Admin notification blasts: one message to many partners, sent by notifications-worker in chunks of partners.
--
-- `last_partner_id` is the checkpoint: partners are walked in id order, and each chunk is claimed in
-- notification_log (event = the blast id, recipient = the partner) before sending, so a worker that dies mid-chunk
-- resends nothing already sent and the next one starts after the last whole chunk.
CREATE TABLE notification_blasts (
    id                  uuid PRIMARY KEY,
    subject             text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body                text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    -- Only partners of this tier; NULL for every partner.
    tier                text CHECK (tier IN ('bronze', 'silver', 'gold', 'platinum')),
    total_recipients    integer NOT NULL CHECK (total_recipients >= 0),
    sent                integer NOT NULL DEFAULT 0,
    last_partner_id     bigint NOT NULL DEFAULT 0,
    chunks_done         integer NOT NULL DEFAULT 0,
    status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'done')),
    requested_by        text NOT NULL,
    idempotency_key     text NOT NULL,
    fingerprint         text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    UNIQUE (requested_by, idempotency_key)
);

INSERT INTO system_config (key, value, updated_by) VALUES
    ('notifications.blast_chunk_size', '500', 'migration');
