-- Foundation: tenants and their credentials, applications, endpoints with
-- encrypted secrets, and the event-type catalog.

-- +goose Up
CREATE TABLE tenants (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE applications (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    uid           text,
    name          text NOT NULL,
    throttle_rate integer,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
-- Deleting an application frees its uid, hence the partial index.
CREATE UNIQUE INDEX applications_uid ON applications (tenant_id, uid) WHERE deleted_at IS NULL AND uid IS NOT NULL;
CREATE INDEX applications_tenant ON applications (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE endpoints (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id         text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    uid            text,
    url            text NOT NULL,
    description    text NOT NULL DEFAULT '',
    disabled       boolean NOT NULL DEFAULT false,
    event_types    jsonb, -- NULL: every event type
    channels       jsonb, -- NULL: messages on any (or no) channel
    throttle_rate  integer,
    metadata       jsonb NOT NULL DEFAULT '{}',
    headers        jsonb NOT NULL DEFAULT '{}',
    retry_schedule jsonb, -- milliseconds; NULL: the server's schedule
    -- revision grows on every change to the endpoint or its secrets, so
    -- delivery workers can validate their cache with one integer.
    revision       bigint NOT NULL DEFAULT 1,
    failing_since  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE UNIQUE INDEX endpoints_uid ON endpoints (app_id, uid) WHERE deleted_at IS NULL AND uid IS NOT NULL;
CREATE INDEX endpoints_app ON endpoints (app_id, id) WHERE deleted_at IS NULL;

CREATE TABLE endpoint_secrets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    sealed      bytea NOT NULL, -- AES-256-GCM under HOOKLINE_ENCRYPTION_KEY
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz -- NULL: the current secret
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);
CREATE UNIQUE INDEX endpoint_secrets_current ON endpoint_secrets (endpoint_id) WHERE expires_at IS NULL;

CREATE TABLE event_types (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    archived     boolean NOT NULL DEFAULT false,
    deprecated   boolean NOT NULL DEFAULT false,
    schemas      jsonb,
    feature_flag text,
    group_name   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);

-- +goose Down
DROP TABLE event_types;
DROP TABLE endpoint_secrets;
DROP TABLE endpoints;
DROP TABLE applications;
DROP TABLE api_keys;
DROP TABLE tenants;
