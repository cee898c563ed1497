-- Destinations (issue 21): polling endpoints, FIFO endpoints and RabbitMQ,
-- on Svix's 1.947 wire.
--
-- Destinations read an application's messages in one order, by position,
-- instead of getting a delivery row per message: no write per message and
-- destination, and the order is the table's. A message's position is
-- (tx_id, id): tx_id is the id of the transaction that inserted it. A
-- reader only takes rows whose tx_id is below its snapshot's xmin, the
-- oldest transaction still running; every transaction below that is over,
-- so no row can later appear behind a position already handed out (an id
-- or created_at alone can: a message with a smaller id may commit later).
-- The column is added without a default first and the default set after,
-- so that adding it rewrites nothing: rows from before have NULL and no
-- destination reads them (destinations start at their creation).
-- +goose Up
ALTER TABLE messages ADD COLUMN tx_id xid8;
ALTER TABLE messages ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id();
CREATE INDEX messages_app_position ON messages (app_id, tx_id, id) WHERE tx_id IS NOT NULL;

CREATE TABLE destinations (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id         text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    uid            text,
    type           text NOT NULL CHECK (type IN ('pollingEndpoint', 'fifoEndpoint', 'rabbitMq')),
    -- config is what may be read back (a FIFO endpoint's url, a routing
    -- key); sealed_uri the RabbitMQ URI (credentials), sealed with
    -- HOOKLINE_ENCRYPTION_KEY and the destination id as associated data.
    config         jsonb NOT NULL DEFAULT '{}',
    sealed_uri     bytea,
    sealed_secret  bytea NOT NULL,
    -- The previous secret signs too until prev_expires_at (rotation grace).
    sealed_prev_secret bytea,
    prev_expires_at timestamptz,
    sealed_headers bytea, -- a JSON object of the custom headers, all sealed
    event_types    jsonb, -- NULL: every event type
    channels       jsonb, -- NULL: messages on any (or no) channel
    batch_size     integer NOT NULL DEFAULT 100 CHECK (batch_size BETWEEN 1 AND 1000),
    max_wait_secs  integer NOT NULL DEFAULT 0 CHECK (max_wait_secs BETWEEN 0 AND 300),
    disabled       boolean NOT NULL DEFAULT false,
    failure_reason text,
    metadata       jsonb NOT NULL DEFAULT '{}',
    -- Where reading starts: the snapshot horizon when the destination was
    -- made, so messages committed after that are all seen.
    start_tx       xid8 NOT NULL,
    -- FIFO and RabbitMQ: the position of the last message delivered.
    cursor_tx      xid8,
    cursor_id      text,
    -- The batch in flight, recorded before it is sent, so that a worker
    -- killed mid-send is followed by the same batch again (never a
    -- different one): its last position, first id and size.
    batch_id       text,
    batch_first_id text,
    batch_last_tx  xid8,
    batch_last_id  text,
    batch_count    integer,
    batch_tries    integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    -- One sender at a time, across worker processes.
    lease_owner    text,
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);
CREATE UNIQUE INDEX destinations_uid ON destinations (app_id, uid) WHERE deleted_at IS NULL AND uid IS NOT NULL;
CREATE INDEX destinations_app ON destinations (app_id, id) WHERE deleted_at IS NULL;
-- The senders' claim scans only pushing destinations that are live.
CREATE INDEX destinations_senders ON destinations (next_attempt_at NULLS FIRST)
    WHERE deleted_at IS NULL AND NOT disabled AND type <> 'pollingEndpoint';

-- One attempt per batch sent to a FIFO endpoint or RabbitMQ.
CREATE TABLE destination_attempts (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL,
    destination_id text NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    batch_id       text NOT NULL,
    first_msg_id   text,
    last_msg_id    text,
    num_events     integer NOT NULL,
    status         smallint NOT NULL, -- 0 success, 2 fail
    status_code    integer NOT NULL,  -- 0 when no HTTP response (RabbitMQ, a refused connection)
    response       text NOT NULL DEFAULT '',
    duration_ms    integer NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX destination_attempts_destination ON destination_attempts (destination_id, id);

-- A polling endpoint's server-held iterators, one per consumer.
CREATE TABLE poller_consumers (
    destination_id text NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    consumer_id    text NOT NULL,
    tenant_id      text NOT NULL,
    pos_tx         xid8 NOT NULL,
    pos_id         text NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (destination_id, consumer_id)
);

-- +goose Down
DROP TABLE poller_consumers;
DROP TABLE destination_attempts;
DROP TABLE destinations;
DROP INDEX messages_app_position;
ALTER TABLE messages DROP COLUMN tx_id;
