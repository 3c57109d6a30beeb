-- Report exports (seed 000): requested through reports-api, produced by export-worker into S3. The request and
-- its `export.requested` outbox event are written together; the worker marks the row done with the objects' keys.
CREATE TABLE exports (
    id                  uuid PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('profit')),
    month               date NOT NULL CHECK (month = date_trunc('month', month)),
    status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows                integer,
    csv_key             text,
    xlsx_key            text,
    error               text,
    requested_by        text NOT NULL,
    idempotency_key     text NOT NULL,
    fingerprint         text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    UNIQUE (requested_by, idempotency_key)
);
