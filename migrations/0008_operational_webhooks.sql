-- Operational webhooks (issue 13, part 4): each tenant may have one hidden
-- system application whose endpoints are its operational-webhook
-- endpoints. Operational events (endpoint.disabled, message.attempt.
-- exhausted, ...) are messages in that application, so they are signed,
-- retried and recorded by the ordinary delivery machinery. The flag keeps
-- the application out of the application list, the portal and billing.

-- +goose Up
ALTER TABLE applications ADD COLUMN system boolean NOT NULL DEFAULT false;
-- At most one live system application per tenant; also the lookup's index.
CREATE UNIQUE INDEX applications_system ON applications (tenant_id) WHERE system AND deleted_at IS NULL;

-- +goose Down
DROP INDEX applications_system;
ALTER TABLE applications DROP COLUMN system;
