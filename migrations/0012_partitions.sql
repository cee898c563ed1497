-- Bounded storage (issue 12): messages, deliveries and attempts become
-- range-partitioned tables, so that old data goes by dropping a partition
-- (no DELETE, no bloat, no competition with ingest), plus per-tenant and
-- per-plan retention and the log of dropped partitions billing audits by.
--
-- Partition keys are the ids, which already carry time:
--   messages.id, attempts.id  KSUID-ms text ("msg_…", "atmpt_…"): they sort
--                             bytewise in time order, so RANGE bounds are
--                             ids of instants and a lookup by id prunes to
--                             one partition with no extra condition;
--   deliveries.id             bigint: from now on (seconds since
--                             2020-01-01 UTC) << 22 | 22 bits of a
--                             sequence, so the same holds for it. Ids stay
--                             below 2^53 until 2088.
-- Partitions are created ahead and dropped past retention by the
-- storage:maintain task (package storage), not by an extension.
--
-- Migrating a database with data takes no long exclusive lock: each table
-- gets a CHECK constraint bounding its ids (added NOT VALID, then validated
-- under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on), and is
-- then renamed and attached, as it is, as the first partition of the new
-- table: the validated constraint proves the partition bound, so the attach
-- scans nothing and matching indexes are adopted, not built. That last
-- step is one short DO block. The first partition ("legacy") covers every
-- id up to the cutover (the start of the UTC day after tomorrow, so writes
-- during the migration stay inside the constraint; the migration's time
-- for an empty database) and goes as one, once its newest day is past
-- retention.
--
-- The file runs outside a transaction so that the validation does not hold
-- the constraint's lock; every statement is idempotent, so a run that
-- failed part-way can be run again.

-- +goose NO TRANSACTION
-- +goose Up

-- Partition bounds compare ids with the database's default collation. They
-- follow time only if that collation sorts the base62 alphabet bytewise (C,
-- POSIX, C.UTF-8, and musl's locales do; glibc's en_US does not). The id
-- windows of the listings already depend on it; partitions would put rows
-- in the wrong day, so refuse rather than misplace them.
-- +goose StatementBegin
DO $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
BEGIN
    IF (SELECT string_agg(c, '' ORDER BY c) FROM regexp_split_to_table(alphabet, '') AS c) <> alphabet THEN
        RAISE EXCEPTION 'hookline: the database''s collation (%) does not sort ids bytewise; ids would land in the wrong partitions',
            (SELECT datcollate FROM pg_database WHERE datname = current_database())
            USING HINT = 'create the database with LC_COLLATE ''C'' (or C.UTF-8) and restore into it; see README, "Retention and storage"';
    END IF;
END $$;
-- +goose StatementEnd

-- hookline_ksuid_floor returns the smallest id with prefix for instant t
-- (tenants.IDBound(prefix, t, false) in Go; a test checks they agree).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hookline_ksuid_floor(prefix text, t timestamptz) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    secs bigint := greatest(floor(extract(epoch FROM t))::bigint - 1400000000, 0);
    ms int := (floor(extract(milliseconds FROM t))::int % 1000) / 4;
    p numeric := 1;
    n numeric;
    out text := '';
BEGIN
    FOR i IN 1..120 LOOP p := p * 2; END LOOP;
    n := (secs::numeric * 256 + ms) * p;
    FOR i IN 1..27 LOOP
        out := substr(alphabet, mod(n, 62)::int + 1, 1) || out;
        n := div(n, 62);
    END LOOP;
    RETURN prefix || out;
END $$;
-- +goose StatementEnd

-- hookline_delivery_id_floor returns the smallest delivery id of instant t.
CREATE OR REPLACE FUNCTION hookline_delivery_id_floor(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (floor(extract(epoch FROM t))::bigint - 1577836800) << 22 $$;

CREATE SEQUENCE IF NOT EXISTS deliveries_seq;

-- The cutover, fixed once (a re-run must use the same bounds). With rows
-- to keep, it leaves the migration two days to finish (writes meanwhile
-- must stay below the bound); an empty database (a fresh install) has
-- nothing to wait for and is cut over now, so its slices start at once.
CREATE TABLE IF NOT EXISTS storage_cutover (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    cutover timestamptz NOT NULL
);
INSERT INTO storage_cutover (cutover)
SELECT CASE WHEN EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM deliveries) OR EXISTS (SELECT 1 FROM attempts)
    THEN date_trunc('day', now(), 'UTC') + interval '2 days'
    ELSE date_trunc('minute', now()) END
ON CONFLICT (id) DO NOTHING;

-- Bound the existing tables (NOT VALID: no scan, a moment's lock).
-- +goose StatementBegin
DO $$
DECLARE
    c timestamptz := (SELECT cutover FROM storage_cutover);
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'messages'::regclass) = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'messages_legacy_bound') THEN
        EXECUTE format('ALTER TABLE messages ADD CONSTRAINT messages_legacy_bound CHECK (id < %L) NOT VALID',
            hookline_ksuid_floor('msg_', c));
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = 'attempts'::regclass) = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'attempts_legacy_bound') THEN
        EXECUTE format('ALTER TABLE attempts ADD CONSTRAINT attempts_legacy_bound CHECK (id < %L) NOT VALID',
            hookline_ksuid_floor('atmpt_', c));
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = 'deliveries'::regclass) = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'deliveries_legacy_bound') THEN
        IF (SELECT max(id) FROM deliveries) >= hookline_delivery_id_floor(c) THEN
            RAISE EXCEPTION 'hookline: deliveries.id already reaches the time-based id range';
        END IF;
        EXECUTE format('ALTER TABLE deliveries ADD CONSTRAINT deliveries_legacy_bound CHECK (id < %s) NOT VALID',
            hookline_delivery_id_floor(c));
    END IF;
END $$;
-- +goose StatementEnd

-- Validate them: a scan of each table, under SHARE UPDATE EXCLUSIVE (reads
-- and writes go on). Already-valid constraints are a no-op.
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'messages'::regclass) = 'r' THEN
        ALTER TABLE messages VALIDATE CONSTRAINT messages_legacy_bound;
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'attempts'::regclass) = 'r' THEN
        ALTER TABLE attempts VALIDATE CONSTRAINT attempts_legacy_bound;
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'deliveries'::regclass) = 'r' THEN
        ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_legacy_bound;
    END IF;
END $$;
-- +goose StatementEnd

-- The switch: one statement, so one short transaction. Renames take a
-- moment's ACCESS EXCLUSIVE lock; the attaches scan nothing.
-- +goose StatementBegin
DO $$
DECLARE
    c timestamptz := (SELECT cutover FROM storage_cutover);
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'messages'::regclass) = 'p' THEN
        RETURN; -- already switched
    END IF;
    SET LOCAL lock_timeout = '10s';

    -- messages
    ALTER TABLE messages RENAME TO messages_legacy;
    ALTER INDEX messages_pkey RENAME TO messages_pkey_legacy;
    ALTER INDEX messages_app RENAME TO messages_app_legacy;
    ALTER INDEX messages_event_id RENAME TO messages_event_id_legacy;
    ALTER INDEX messages_expiry_brin RENAME TO messages_expiry_brin_legacy;
    ALTER INDEX messages_tags RENAME TO messages_tags_legacy;
    CREATE TABLE messages (
        id         text NOT NULL,
        tenant_id  text NOT NULL,
        app_id     text NOT NULL,
        event_id   text,
        event_type text NOT NULL,
        payload    bytea, -- exactly as received; NULL once expunged (or expired: see expires_at)
        channels   jsonb,
        tags       jsonb,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL, -- when the payload is dropped; reads treat it as gone from then on
        deliver_at timestamptz,
        PRIMARY KEY (id)
    ) PARTITION BY RANGE (id);
    CREATE INDEX messages_app ON messages (app_id, id);
    CREATE INDEX messages_expiry_brin ON messages USING brin (expires_at);
    CREATE INDEX messages_tags ON messages USING gin (tags jsonb_path_ops) WHERE tags IS NOT NULL;
    -- eventId stays unique per application within each partition: a unique
    -- index of a partitioned table must contain the partition key, so each
    -- partition carries its own (storage:maintain creates them).
    EXECUTE format('ALTER TABLE messages ATTACH PARTITION messages_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
        hookline_ksuid_floor('msg_', c));
    CREATE TABLE messages_default PARTITION OF messages DEFAULT;
    CREATE UNIQUE INDEX messages_default_event_id ON messages_default (app_id, event_id) WHERE event_id IS NOT NULL;

    -- deliveries
    ALTER TABLE deliveries ALTER COLUMN id DROP IDENTITY IF EXISTS;
    ALTER TABLE deliveries RENAME TO deliveries_legacy;
    ALTER INDEX deliveries_pkey RENAME TO deliveries_pkey_legacy;
    ALTER INDEX deliveries_msg_endpoint RENAME TO deliveries_msg_endpoint_legacy;
    ALTER INDEX deliveries_endpoint RENAME TO deliveries_endpoint_legacy;
    ALTER INDEX deliveries_pending RENAME TO deliveries_pending_legacy;
    ALTER INDEX deliveries_billable RENAME TO deliveries_billable_legacy;
    ALTER INDEX deliveries_billable_tenant RENAME TO deliveries_billable_tenant_legacy;
    CREATE TABLE deliveries (
        -- The store sets ids from the row's created_at
        -- (tenants.deliveryIDSQL); the default is for other writers.
        id              bigint NOT NULL DEFAULT ((floor(extract(epoch FROM clock_timestamp()))::bigint - 1577836800) << 22)
                            | (nextval('deliveries_seq') & 4194303),
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
        succeeded_at    timestamptz,
        PRIMARY KEY (id)
    ) PARTITION BY RANGE (id);
    CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);
    CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 1;
    CREATE INDEX deliveries_billable ON deliveries (succeeded_at) INCLUDE (tenant_id) WHERE trigger = 0 AND status = 0;
    CREATE INDEX deliveries_billable_tenant ON deliveries (tenant_id, succeeded_at) WHERE trigger = 0 AND status = 0;
    -- One scheduled delivery per message and endpoint: per partition (a
    -- message's scheduled deliveries are made together, so they share one).
    EXECUTE format('ALTER TABLE deliveries ATTACH PARTITION deliveries_legacy FOR VALUES FROM (MINVALUE) TO (%s)',
        hookline_delivery_id_floor(c));
    CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
    CREATE UNIQUE INDEX deliveries_default_msg_endpoint ON deliveries_default (msg_id, endpoint_id) WHERE trigger = 0;

    -- attempts
    ALTER TABLE attempts RENAME TO attempts_legacy;
    ALTER INDEX attempts_pkey RENAME TO attempts_pkey_legacy;
    ALTER INDEX attempts_endpoint RENAME TO attempts_endpoint_legacy;
    ALTER INDEX attempts_msg RENAME TO attempts_msg_legacy;
    CREATE TABLE attempts (
        id              text NOT NULL,
        tenant_id       text NOT NULL,
        app_id          text NOT NULL,
        msg_id          text NOT NULL,
        endpoint_id     text NOT NULL,
        delivery_id     bigint NOT NULL,
        url             text NOT NULL,
        status          smallint NOT NULL, -- 0 success, 2 fail
        status_code     integer NOT NULL,  -- 0 when no response arrived
        response        text,              -- NULL once expunged (reads also hide it past the response retention)
        error           text NOT NULL DEFAULT '',
        duration_ms     integer NOT NULL,
        trigger         smallint NOT NULL,
        request_headers jsonb,
        created_at      timestamptz NOT NULL,
        PRIMARY KEY (id)
    ) PARTITION BY RANGE (id);
    CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
    CREATE INDEX attempts_msg ON attempts (msg_id, id);
    EXECUTE format('ALTER TABLE attempts ATTACH PARTITION attempts_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
        hookline_ksuid_floor('atmpt_', c));
    CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;
END $$;
-- +goose StatementEnd

-- Retention: days of messages, deliveries and attempts a tenant keeps. A
-- tenant's own setting (operator API) wins over its plan's.
ALTER TABLE plans ADD COLUMN IF NOT EXISTS retention_days integer NOT NULL DEFAULT 90 CHECK (retention_days > 0);
UPDATE plans SET retention_days = 30 WHERE id = 'free' AND retention_days = 90;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS retention_days integer CHECK (retention_days > 0);

-- One row per dropped partition. max_succeeded_at is the newest billable
-- success it held: billing's audit does not recount hours up to it, whose
-- deliveries are gone (their counts were final before the drop).
CREATE TABLE IF NOT EXISTS storage_drops (
    partition        text PRIMARY KEY,
    parent           text NOT NULL,
    range_start      timestamptz, -- NULL: the legacy partition (from the beginning)
    range_end        timestamptz NOT NULL,
    rows_estimate    bigint NOT NULL,
    bytes            bigint NOT NULL,
    max_succeeded_at timestamptz,
    dropped_at       timestamptz NOT NULL
);

-- Billable deliveries of dropped partitions whose hour was still
-- provisional (billing recounts provisional hours from the deliveries):
-- written in the drop's transaction, added by billing's rollup, so the
-- count of an hour stays exact whichever of its deliveries are gone.
CREATE TABLE IF NOT EXISTS usage_dropped (
    tenant_id  text NOT NULL,
    hour       timestamptz NOT NULL,
    deliveries bigint NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);

-- +goose Down
-- Not reversible in place: going back would mean copying every row into
-- plain tables. Restore from a backup taken before the upgrade instead.
-- +goose StatementBegin
DO $$ BEGIN RAISE EXCEPTION 'migration 0012 (partitions) cannot be rolled back in place; restore a backup'; END $$;
-- +goose StatementEnd
