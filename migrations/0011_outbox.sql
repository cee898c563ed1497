-- Delivery core: the idempotency claim of a message is written in the same
-- statement as the message and its deliveries, so a key is scoped by
-- tenant (whatever the credential), remembers a fingerprint of the request
-- body (the same key with another body is refused, not replayed) and, for
-- a message, names the message it created instead of storing a copy of the
-- response: the answer is rendered again from the message.

-- A message may be scheduled (Svix's deliverAt): its deliveries start
-- pending with next_attempt_at at that time, so the sweeper restores them
-- from PostgreSQL like any other pending delivery if Redis forgets them.

-- +goose Up
ALTER TABLE messages ADD COLUMN deliver_at timestamptz;
ALTER TABLE idempotency_keys
    ADD COLUMN tenant_id text,
    ADD COLUMN fingerprint bytea,
    ADD COLUMN msg_id text;

-- +goose Down
ALTER TABLE messages DROP COLUMN deliver_at;
ALTER TABLE idempotency_keys
    DROP COLUMN msg_id,
    DROP COLUMN fingerprint,
    DROP COLUMN tenant_id;
