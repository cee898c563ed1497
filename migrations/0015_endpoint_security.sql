-- Endpoint security beyond the signature (issue 23): an endpoint's mTLS
-- client identity (PEM key and certificate, sealed with
-- HOOKLINE_ENCRYPTION_KEY like signing secrets), the CA its server
-- certificate is verified against (public, stored as given), and its
-- OAuth2 client (sealed whole: it holds the client secret or refresh
-- token). The certificates' subjects and expiries sit beside them in the
-- clear, for GET and for the expiry check, which finds what expires soon
-- through the partial indexes and remembers what it warned about.
-- +goose Up
CREATE TABLE endpoint_security (
    endpoint_id       text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    tenant_id         text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mtls_sealed       bytea,
    mtls_subject      text,
    mtls_issuer       text,
    mtls_sha256       text,
    mtls_not_after    timestamptz,
    mtls_warned_at    timestamptz,
    server_ca         text,
    ca_subject        text,
    ca_not_after      timestamptz,
    ca_warned_at      timestamptz,
    oauth_sealed      bytea,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoint_security_mtls_expiry ON endpoint_security (mtls_not_after)
    WHERE mtls_sealed IS NOT NULL AND mtls_warned_at IS NULL;
CREATE INDEX endpoint_security_ca_expiry ON endpoint_security (ca_not_after)
    WHERE server_ca IS NOT NULL AND ca_warned_at IS NULL;

-- +goose Down
DROP TABLE endpoint_security;
