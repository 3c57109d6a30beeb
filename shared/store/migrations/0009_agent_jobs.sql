-- AI-agent jobs (seed 003): bulk work stored here, enqueued through the outbox, done in chunks by
-- agent-jobs-worker.
--
-- `done_items` is the checkpoint. A chunk's outputs (agent_job_items plus product_seo or price_proposals) and the
-- checkpoint's advance commit in one transaction that first checks the checkpoint is where the worker found it,
-- so a chunk is committed once even when two workers hold the same job, and a crash mid-chunk redoes only that
-- chunk. (job_id, sku) is the primary key of the items, so no product can be processed twice within a job.
CREATE TABLE agent_jobs (
    id                  uuid PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('generate_product_seo', 'bulk_price_proposal')),
    params              jsonb NOT NULL,
    skus                text[] NOT NULL,
    total_items         integer NOT NULL CHECK (total_items > 0),
    chunk_size          integer NOT NULL CHECK (chunk_size > 0),
    done_items          integer NOT NULL DEFAULT 0 CHECK (done_items BETWEEN 0 AND total_items),
    chunks_done         integer NOT NULL DEFAULT 0,
    status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded')),
    requested_by        text NOT NULL,
    requested_role      text NOT NULL,
    idempotency_key     text NOT NULL,
    fingerprint         text NOT NULL,
    callback_url        text,
    -- The job's own webhook signing secret, returned once at creation.
    callback_secret     text,
    -- Completion is announced once on EventBridge and once by webhook; each is recorded when done, so a
    -- redelivered message repeats only what did not happen.
    event_sent_at       timestamptz,
    webhook_status      text CHECK (webhook_status IN ('delivered', 'failed')),
    webhook_attempts    integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (requested_by, idempotency_key),
    CHECK ((status = 'succeeded') = (done_items = total_items))
);
CREATE INDEX agent_jobs_requester_idx ON agent_jobs (requested_by, created_at DESC);

CREATE TABLE agent_job_items (
    job_id              uuid NOT NULL REFERENCES agent_jobs (id) ON DELETE CASCADE,
    position            integer NOT NULL CHECK (position >= 0),
    sku                 text NOT NULL,
    chunk               integer NOT NULL CHECK (chunk >= 0),
    output              jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, sku),
    UNIQUE (job_id, position)
);

-- The latest SEO text per product; catalogue pages may use it.
CREATE TABLE product_seo (
    sku                 text PRIMARY KEY REFERENCES products (sku),
    title               text NOT NULL,
    description         text NOT NULL,
    job_id              uuid NOT NULL REFERENCES agent_jobs (id),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Proposed tier prices: stored for an admin to approve, never applied by the job.
CREATE TABLE price_proposals (
    job_id              uuid NOT NULL REFERENCES agent_jobs (id) ON DELETE CASCADE,
    tier                text NOT NULL CHECK (tier IN ('bronze', 'silver', 'gold', 'platinum')),
    sku                 text NOT NULL REFERENCES products (sku),
    current_price       bigint CHECK (current_price >= 0),
    proposed_price      bigint NOT NULL CHECK (proposed_price >= 0),
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by          text,
    decided_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, tier, sku)
);
CREATE INDEX price_proposals_pending_idx ON price_proposals (created_at) WHERE status = 'pending';

INSERT INTO system_config (key, value, updated_by) VALUES
    ('agents.max_items_per_job', '1000', 'migration'),
    ('agents.chunk_size',        '50',   'migration');
