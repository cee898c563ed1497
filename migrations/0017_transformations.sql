-- Endpoint transformations (issue 22): an endpoint's JavaScript
-- handler(webhook), whether it runs, and its variables, which are secret:
-- sealed_variables is a JSON object sealed with HOOKLINE_ENCRYPTION_KEY
-- (the endpoint's id in the associated data), never stored in the clear.
-- A row exists once a transformation was set; none means none. Changing
-- it bumps endpoints.revision, so workers' cached configurations reload.
-- +goose Up
CREATE TABLE endpoint_transformations (
    endpoint_id      text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    code             text,
    enabled          boolean NOT NULL DEFAULT false,
    sealed_variables bytea,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Svix API 1.947's event types carry featureFlags, a list, beside the
-- older single featureFlag; both are kept as sent.
ALTER TABLE event_types ADD COLUMN feature_flags jsonb;

-- +goose Down
ALTER TABLE event_types DROP COLUMN feature_flags;
DROP TABLE endpoint_transformations;
