-- Billing's two partial indexes on deliveries became one (issue 24): the
-- global deliveries_billable (succeeded_at) cost an index entry on every
-- successful delivery to serve only billing's periodic recounts, which now
-- walk the tenants and read each one's deliveries through
-- deliveries_billable_tenant (tenant_id, succeeded_at), as the quota and
-- usage reads already did. One index entry fewer per delivery.
-- +goose Up
DROP INDEX IF EXISTS deliveries_billable;

-- +goose Down
CREATE INDEX IF NOT EXISTS deliveries_billable ON deliveries (succeeded_at) INCLUDE (tenant_id) WHERE trigger = 0 AND status = 0;
