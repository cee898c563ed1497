-- Destinations in billing, retention and statistics (issue 21, item 6).
--
-- The billable unit stays "a message delivered, once per target": for an
-- endpoint a scheduled delivery that succeeded; for a destination a
-- message in a FIFO or RabbitMQ batch that was accepted, or a message a
-- poll of a polling endpoint returned for the first time. A destination
-- keeps no row per message, so what it delivered is recorded here, one row
-- per accepted batch or per poll that returned something new, written in
-- the transaction that moves the destination on (so a batch retried, or a
-- message read again, is never counted twice). Billing recounts usage from
-- these rows and the deliveries alike; like deliveries they are records,
-- never counters, and outlive the destination (no foreign key: a
-- destination deleted in an open hour is still billed for that hour).
-- They go when the deliveries of their slice of time go (package storage).
-- +goose Up
CREATE TABLE destination_usage (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text NOT NULL,
    app_id         text NOT NULL,
    destination_id text NOT NULL,
    -- The accepted batch (FIFO, RabbitMQ); NULL for a poll.
    batch_id       text,
    messages       integer NOT NULL CHECK (messages > 0),
    created_at     timestamptz NOT NULL
);
-- The rollup's scan, by time across tenants, and the slice drop's.
CREATE INDEX destination_usage_time ON destination_usage (created_at) INCLUDE (tenant_id, app_id, messages);
-- The quota's live count and the statistics: one tenant, by time.
CREATE INDEX destination_usage_tenant ON destination_usage (tenant_id, created_at) INCLUDE (app_id, messages);

-- A polling endpoint's high-water mark: the furthest position any poll
-- (any consumer, or a client-held iterator) has returned. Messages a poll
-- returns past it are billed, once; reading them again (another consumer,
-- a seek back) is not.
ALTER TABLE destinations ADD COLUMN polled_tx xid8, ADD COLUMN polled_id text;

-- Retention deletes a tenant's destination attempts by age.
CREATE INDEX destination_attempts_age ON destination_attempts (tenant_id, created_at);

-- +goose Down
DROP INDEX destination_attempts_age;
ALTER TABLE destinations DROP COLUMN polled_tx, DROP COLUMN polled_id;
DROP TABLE destination_usage;
