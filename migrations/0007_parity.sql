-- Svix parity, wave 2 (issue 13): an index that serves the `tag` filter of
-- message and attempt listings, and the background-task records.
--
-- The tag index is a GIN index on messages.tags (jsonb_path_ops: it serves
-- exactly the containment test `tags @> '["t"]'` the listings use, and is
-- the smallest GIN flavour for it). It is partial: untagged messages (most
-- of them) cost it nothing on insert. It is built CONCURRENTLY so that
-- ingest is not blocked for the length of the build on a busy table, hence
-- NO TRANSACTION and idempotent statements, as in 0004. (A CONCURRENTLY
-- build that failed leaves an INVALID index behind: drop it before
-- re-running.)

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_tags ON messages USING gin (tags jsonb_path_ops)
    WHERE tags IS NOT NULL;

-- One row per background task (recover, replay, bulk replay, expunge all
-- contents, statistics). Tasks run inside the request that starts them and
-- the row is written once, with its final status and result: a task is
-- never left "running" by a process that died (see api/background_tasks.go).
CREATE TABLE IF NOT EXISTS background_tasks (
    id         text PRIMARY KEY, -- qtask_…, time-sortable
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    task       text NOT NULL,    -- endpoint.recover, endpoint.replay, …
    status     text NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS background_tasks_tenant ON background_tasks (tenant_id, id);

-- +goose Down
DROP TABLE IF EXISTS background_tasks;
DROP INDEX CONCURRENTLY IF EXISTS messages_tags;
