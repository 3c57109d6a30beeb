-- Every notification the workers send, once per (event, recipient): a redelivered message finds `sent` and sends
-- nothing; one that finds `sending` (a worker died between claiming and sending) sends again, so a notification is
-- delivered at least once and, barring that crash window, exactly once.
CREATE TABLE notification_log (
    event_id        uuid NOT NULL,
    recipient       text NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('sending', 'sent')),
    attempts        integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (event_id, recipient)
);
