-- Delivery: messages, the delivery outbox (one row per message x endpoint,
-- holding its state and next attempt time), the attempt log and the
-- idempotency-key store.
--
-- The hot tables carry no foreign keys: every insert would pay for a lookup
-- and a lock on the parent row; the store writes them only with ids it has
-- just read in the same tenant scope.

-- +goose Up
CREATE TABLE messages (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL,
    app_id     text NOT NULL,
    event_id   text,
    event_type text NOT NULL,
    payload    bytea, -- exactly as received; NULL once expunged or expired
    channels   jsonb,
    tags       jsonb,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL -- when the payload is dropped
);
CREATE UNIQUE INDEX messages_event_id ON messages (app_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX messages_app ON messages (app_id, id);
CREATE INDEX messages_expiry ON messages (expires_at) WHERE payload IS NOT NULL;

CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL,
    app_id          text NOT NULL,
    msg_id          text NOT NULL,
    endpoint_id     text NOT NULL,
    trigger         smallint NOT NULL DEFAULT 0, -- 0 scheduled, 1 manual
    status          smallint NOT NULL DEFAULT 1, -- 0 success, 1 pending, 2 fail, 4 canceled
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    succeeded_at    timestamptz
);
-- One scheduled delivery per message and endpoint; manual resends add rows.
CREATE UNIQUE INDEX deliveries_msg_endpoint ON deliveries (msg_id, endpoint_id) WHERE trigger = 0;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
-- The sweeper's scan: pending rows by due time.
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 1;

CREATE TABLE attempts (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL,
    app_id          text NOT NULL,
    msg_id          text NOT NULL,
    endpoint_id     text NOT NULL,
    delivery_id     bigint NOT NULL,
    url             text NOT NULL,
    status          smallint NOT NULL, -- 0 success, 2 fail
    status_code     integer NOT NULL,  -- 0 when no response arrived
    response        text,              -- NULL once expunged
    error           text NOT NULL DEFAULT '',
    duration_ms     integer NOT NULL,
    trigger         smallint NOT NULL,
    request_headers jsonb,
    created_at      timestamptz NOT NULL
);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);

CREATE TABLE idempotency_keys (
    key          bytea PRIMARY KEY, -- sha256 of credential, key and URI
    locked_until timestamptz,       -- set while the first request runs
    status_code  integer,
    headers      jsonb,
    body         bytea,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE messages;
