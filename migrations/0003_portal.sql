-- Customer portal: per-tenant branding and framing policy, and the
-- revocation state of app-portal tokens (which are stateless JWTs, so only
-- their revocations need rows).

-- +goose Up
CREATE TABLE tenant_settings (
    tenant_id     text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    display_name  text NOT NULL DEFAULT '',
    logo_url      text NOT NULL DEFAULT '',
    primary_color text NOT NULL DEFAULT '',
    theme         text NOT NULL DEFAULT 'auto' CHECK (theme IN ('light', 'dark', 'auto')),
    -- Origins allowed to frame the portal (CSP frame-ancestors); empty: any.
    frame_origins jsonb NOT NULL DEFAULT '[]',
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per logged-out token, kept until the token would have expired
-- anyway.
CREATE TABLE revoked_app_tokens (
    token_id   text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id     text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_app_tokens_app ON revoked_app_tokens (tenant_id, app_id);

-- "Expire all": from effective_at on, every token of the application (or of
-- one session) issued before issued_before is refused. Rows are useless
-- once every token they cover has expired, and are pruned then.
CREATE TABLE app_token_expiries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app_id        text NOT NULL,
    session_id    text, -- NULL: every session
    issued_before timestamptz NOT NULL,
    effective_at  timestamptz NOT NULL
);
CREATE INDEX app_token_expiries_app ON app_token_expiries (tenant_id, app_id);

-- +goose Down
DROP TABLE app_token_expiries;
DROP TABLE revoked_app_tokens;
DROP TABLE tenant_settings;
