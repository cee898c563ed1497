-- Sensitive custom headers (Authorization, X-Api-Key, …) are sealed at
-- rest like signing secrets: their values move from endpoints.headers to
-- sealed_headers, a JSON object sealed with HOOKLINE_ENCRYPTION_KEY. The
-- key is not the database's to know, so the rows an earlier version wrote
-- in the clear are sealed by the first process that starts after this
-- migration (store.SealPlaintextHeaders), not here.
-- +goose Up
ALTER TABLE endpoints ADD COLUMN sealed_headers bytea;

-- +goose Down
-- Down cannot unseal (no key here): sealed headers are dropped.
ALTER TABLE endpoints DROP COLUMN sealed_headers;
