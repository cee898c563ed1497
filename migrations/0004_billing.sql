-- Billing (issue 5): plans, each tenant's plan and Stripe link, hourly usage
-- rolled up from the delivery records, the ledger of usage sent to Stripe,
-- and the Stripe webhook events already processed.
--
-- The billable unit is a message delivered to an endpoint: a scheduled
-- delivery (trigger 0) that succeeded (status 0), counted once in the hour
-- of its succeeded_at, however many attempts it took. Manual resends
-- (trigger 1) are never billed. Usage is always recomputable from
-- deliveries; usage_hourly is a cache of that count, never a counter bumped
-- per delivery.
--
-- This file runs outside a transaction so that the two indexes on the busy
-- deliveries table can be built CONCURRENTLY, without blocking deliveries
-- for the length of the build. Every statement is therefore idempotent: a
-- run that failed part-way can simply be run again. (A CONCURRENTLY build
-- that failed leaves an INVALID index behind: drop it before re-running.)

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS plans (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    -- Deliveries per calendar month (UTC); NULL: no cap.
    monthly_cap bigint CHECK (monthly_cap >= 0),
    -- custom_cap plans take their cap from tenant_billing.custom_cap.
    custom_cap  boolean NOT NULL DEFAULT false,
    -- paid plans are invoiced through Stripe: their usage is reported and
    -- a tenant past due beyond the grace period may not send.
    paid        boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plans (id, name, monthly_cap, custom_cap, paid) VALUES
    ('free', 'Free', 10000, false, false),
    ('pro', 'Pro (metered)', NULL, false, true),
    ('enterprise', 'Enterprise', NULL, true, true)
ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS tenant_billing (
    tenant_id              text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    plan_id                text REFERENCES plans (id), -- NULL: the operator's default plan
    custom_cap             bigint CHECK (custom_cap >= 0),
    stripe_customer_id     text UNIQUE,
    stripe_subscription_id text,
    subscription_status    text NOT NULL DEFAULT '', -- as Stripe names it: active, past_due, canceled…
    -- Set when Stripe reports a failed payment or a past-due/canceled
    -- subscription; cleared when an invoice is paid. A paid-plan tenant
    -- past due longer than the grace period may not send.
    past_due_since         timestamptz,
    -- Stripe's creation time of the event that last changed the status:
    -- events arrive out of order, an older one must not undo a newer one.
    status_changed_at      timestamptz,
    -- Usage hours before this are not sent to Stripe (the tenant was not
    -- linked, or not on a paid plan, yet).
    report_from            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS usage_hourly (
    tenant_id     text NOT NULL,
    hour          timestamptz NOT NULL, -- start of the UTC hour
    deliveries    bigint NOT NULL,
    -- final rows are closed hours (end + safety margin passed): never
    -- recomputed, and the only ones reported to Stripe. Others are
    -- provisional, counted up to billing_rollup_state.counted_through.
    final         boolean NOT NULL DEFAULT false,
    computed_at   timestamptz NOT NULL,
    -- NULL: not yet reported; 'sent': in billing_ledger; 'skipped': not
    -- billable (no Stripe customer, unpaid plan, or before report_from).
    report_status text CHECK (report_status IN ('sent', 'skipped')),
    reported_at   timestamptz,
    PRIMARY KEY (tenant_id, hour)
);
-- The reporter's queue.
CREATE INDEX IF NOT EXISTS usage_hourly_unreported ON usage_hourly (hour) WHERE final AND report_status IS NULL;

-- One row: every billable delivery with succeeded_at before counted_through
-- is in usage_hourly. Reads add a live count after it.
CREATE TABLE IF NOT EXISTS billing_rollup_state (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    counted_through timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- One row per usage bucket sent to Stripe as a meter event, written in the
-- transaction that marks the bucket sent.
CREATE TABLE IF NOT EXISTS billing_ledger (
    tenant_id          text NOT NULL,
    hour               timestamptz NOT NULL,
    identifier         text NOT NULL UNIQUE, -- the meter event's, derived from tenant and hour
    event_name         text NOT NULL,
    stripe_customer_id text NOT NULL,
    value              bigint NOT NULL,
    reported_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);

-- Stripe webhook events already processed, inserted in the transaction
-- that applies the event, so each is applied once.
CREATE TABLE IF NOT EXISTS stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    tenant_id    text, -- NULL: the event named no tenant of ours
    created_at   timestamptz NOT NULL, -- Stripe's
    processed_at timestamptz NOT NULL
);

-- The rollup's scan: billable deliveries by time, across tenants.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_billable ON deliveries (succeeded_at) INCLUDE (tenant_id)
    WHERE trigger = 0 AND status = 0;
-- The quota's and the usage API's live count: one tenant's billable
-- deliveries since the rollup's watermark.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_billable_tenant ON deliveries (tenant_id, succeeded_at)
    WHERE trigger = 0 AND status = 0;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_billable_tenant;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_billable;
DROP TABLE IF EXISTS stripe_events;
DROP TABLE IF EXISTS billing_ledger;
DROP TABLE IF EXISTS billing_rollup_state;
DROP TABLE IF EXISTS usage_hourly;
DROP TABLE IF EXISTS tenant_billing;
DROP TABLE IF EXISTS plans;
