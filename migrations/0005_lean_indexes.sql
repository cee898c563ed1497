-- Leaner write path: the payload-expiry scan gets a BRIN index instead of a
-- B-tree. Messages arrive in time order and most share a retention, so
-- expires_at follows the heap's physical order closely; a BRIN index costs
-- next to nothing per insert, where the B-tree cost one more index write
-- on every message.

-- +goose Up
DROP INDEX messages_expiry;
CREATE INDEX messages_expiry_brin ON messages USING brin (expires_at);

-- +goose Down
DROP INDEX messages_expiry_brin;
CREATE INDEX messages_expiry ON messages (expires_at) WHERE payload IS NOT NULL;
