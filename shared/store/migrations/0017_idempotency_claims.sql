-- Checkout claims its idempotency key without a lock function. RDS Proxy pins a client to its database connection
-- for the rest of the session when it sees an advisory lock function (AWS, "Avoiding pinning an RDS Proxy"), and
-- the page's wording on the transaction-scoped forms has changed between versions. A claim is instead a row: it is
-- inserted on its own (committed at once, so a duplicate request sees it), then locked with FOR UPDATE NOWAIT inside
-- the checkout transaction. A duplicate arriving while the first still runs fails to take the row lock at once and
-- is told "busy", as before; nothing waits.
CREATE TABLE idempotency_claims (
    scope       text NOT NULL,
    key         text NOT NULL,
    -- The claim outlives its answer by no more than the key's lifetime; cleanup-job purges it then.
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_claims_expiry_idx ON idempotency_claims (expires_at);
