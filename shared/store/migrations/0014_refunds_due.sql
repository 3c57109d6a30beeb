-- Refunds due (issue 15): money that arrived for an order that can no longer take it, because the order was
-- cancelled or expired before the payment came. payments-api writes the row in the transaction that records the
-- notification, once per (order, transaction), so a repeated notification, or a capture followed by its
-- settlement, never adds a second; admin-api lists them (GET /admin/refunds-due) for someone to send the money
-- back. The row carries the partner and the amount itself: order partitions are dropped after retention, and a
-- refund owed is not.
CREATE TABLE refunds_due (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id            uuid NOT NULL,
    partner_id          bigint NOT NULL,
    transaction_id      text NOT NULL,
    transaction_status  text NOT NULL,
    amount              bigint NOT NULL CHECK (amount >= 0),
    order_status        text NOT NULL CHECK (order_status IN ('cancelled', 'expired')),
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, transaction_id)
);
