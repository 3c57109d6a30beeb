-- The relay publishes an aggregate's events in order: it takes a pending event only when no earlier event of the
-- same aggregate is still pending. This index answers that question for every candidate row.
CREATE INDEX outbox_pending_aggregate_idx ON outbox (aggregate_id, id) WHERE published_at IS NULL;
