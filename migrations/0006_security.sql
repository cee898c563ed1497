-- Security (issue 11): revocable tenant JWTs and per-plan API rate limits.
--
-- tokens_valid_after: a tenant JWT issued (iat) before this instant is
-- refused, so an operator revokes all of one tenant's JWTs at once
-- (`hookline tenant revoke-tokens`, POST /admin/v1/tenants/{id}/revoke-tokens).
-- NULL: no revocation. Stored rounded up to the whole second, since iat is
-- in whole seconds.
--
-- api_rate_limit: API requests per second a tenant on the plan may make,
-- across every API process; NULL: HOOKLINE_API_RATE_LIMIT.

-- +goose Up
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS tokens_valid_after timestamptz;
ALTER TABLE plans ADD COLUMN IF NOT EXISTS api_rate_limit integer CHECK (api_rate_limit > 0);
-- The free plan gets a modest budget; paid plans use the server default.
UPDATE plans SET api_rate_limit = 50 WHERE id = 'free' AND api_rate_limit IS NULL;

-- +goose Down
ALTER TABLE plans DROP COLUMN IF EXISTS api_rate_limit;
ALTER TABLE tenants DROP COLUMN IF EXISTS tokens_valid_after;
