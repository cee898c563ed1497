package billing

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Store is what billing keeps in PostgreSQL: plans, accounts, hourly usage,
// the Stripe ledger and the Stripe events applied (package store
// implements it). Methods about one tenant take its id and scope by it.
// Implementations are safe for concurrent use.
type Store interface {
	Plans(ctx context.Context) ([]Plan, error)
	FindPlan(ctx context.Context, id string) (Plan, error)
	FindAccount(ctx context.Context, tenantID, defaultPlan string) (Account, error)
	FindAccountByCustomer(ctx context.Context, customerID, defaultPlan string) (Account, error)
	SetPlan(ctx context.Context, tenantID, planID string, customCap *int64, reportFrom *time.Time, now time.Time) error
	LinkCustomer(ctx context.Context, tenantID, customerID string, replace bool, now time.Time) (string, error)
	LinkSubscription(ctx context.Context, tenantID, customerID, subscriptionID, status string, replace bool, now time.Time) (bool, error)
	TenantsWithoutCustomer(ctx context.Context, limit int) ([]TenantRef, error)
	TenantsWithoutSubscription(ctx context.Context, defaultPlan string, limit int) ([]Account, error)

	Rollup(ctx context.Context, now time.Time, margin time.Duration) (RollupResult, error)
	CountedThrough(ctx context.Context) (t time.Time, ok bool, err error)
	CountUsage(ctx context.Context, tenantID string, since, until time.Time) (int64, error)
	DailyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]DayUsage, error)
	HourlyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]HourUsage, error)
	Audit(ctx context.Context, tenantID string, since, until time.Time) ([]AuditRow, error)
	UnreportedBuckets(ctx context.Context, afterHour time.Time, afterTenant string, limit int) ([]Bucket, error)
	MarkSent(ctx context.Context, e LedgerEntry) error
	MarkSkipped(ctx context.Context, b Bucket, now time.Time) error
	Ledger(ctx context.Context, tenantID string, since, until time.Time) ([]LedgerEntry, error)
	ApplyStripeEvent(ctx context.Context, id, typ string, created time.Time, customerID string,
		apply func(SubscriptionState) (SubscriptionState, bool), now time.Time) (applied, duplicate bool, tenantID string, err error)

	// FindTenantByID is the tenants store's: billing names tenants to
	// Stripe.
	FindTenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// TenantRef names a tenant for Stripe.
type TenantRef struct {
	ID   string
	Name string
}
