-- Destination transformations and poller tokens (issues 21 and 22).
--
-- A FIFO or RabbitMQ destination's transformation is an endpoint's
-- (0017): code, a switch, and variables sealed with
-- HOOKLINE_ENCRYPTION_KEY (the destination's id in the associated data),
-- never stored in the clear. A row exists once one was set. A batch its
-- transformation canceled is recorded in destination_attempts with status
-- 4 (canceled), beside 0 (success) and 2 (fail).
--
-- A poller token lets a customer's poller read one polling endpoint and
-- nothing else. Only its SHA-256 is looked up; the token itself is kept
-- sealed so that GET …/poller/{sink}/token can show the current one again.
-- A rotation makes a new row and shortens the old ones' lives to the grace
-- the caller asked for.
-- +goose Up
CREATE TABLE destination_transformations (
    destination_id   text PRIMARY KEY REFERENCES destinations (id) ON DELETE CASCADE,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    code             text,
    enabled          boolean NOT NULL DEFAULT false,
    sealed_variables bytea,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE poller_tokens (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id         text NOT NULL,
    destination_id text NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL UNIQUE,
    sealed_token   bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    -- NULL: the token does not expire (until a rotation sets it).
    expires_at     timestamptz,
    -- Set when a newer token replaced this one: it is no longer shown.
    replaced_at    timestamptz
);
CREATE INDEX poller_tokens_destination ON poller_tokens (destination_id, created_at DESC);

-- +goose Down
DROP TABLE poller_tokens;
DROP TABLE destination_transformations;
