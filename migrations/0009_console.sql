-- The tenant console's sign-in: short-lived console sessions and the
-- one-time links that open them (`hookline console-link`, the operator
-- API). Only the SHA-256 of a token is stored; the token itself is shown
-- once. A row is dead once revoked, used (links) or expired; expired rows
-- are pruned as new ones are made.

-- +goose Up
CREATE TABLE console_tokens (
    id         text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('link', 'session')),
    hash       bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX console_tokens_expiry ON console_tokens (expires_at);

-- +goose Down
DROP TABLE console_tokens;
