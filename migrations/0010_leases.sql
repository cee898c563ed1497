-- Leases as rows, for processes that reach PostgreSQL through a transaction
-- pooler (PgBouncer, HOOKLINE_DB_PGBOUNCER=true). There a session advisory
-- lock would be taken on whichever server connection the pooler lent for
-- one transaction, and stay with that connection — held by nobody, or by
-- the next borrower. A row with a holder and an expiry works through any
-- pooler: the holder renews it while alive; once it expires, another
-- process takes it over.

-- +goose Up
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE leases;
