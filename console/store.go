package console

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Store is what the console reads and writes in PostgreSQL (package store
// implements it): its sign-in tokens, the tenant's keys, and the views
// across applications the public API does not have.
type Store interface {
	CreateAPIKey(ctx context.Context, tenantID, name string) (tenants.APIKey, string, error)
	CreateConsoleToken(ctx context.Context, tenantID, kind string, ttl time.Duration) (tenants.ConsoleToken, string, error)
	FindAPIKeys(ctx context.Context, tenantID string) ([]tenants.APIKey, error)
	FindApplicationNames(ctx context.Context, tenantID string, ids []string) (map[string]string, error)
	FindAttemptBuckets(ctx context.Context, tenantID string, since time.Time, step time.Duration) ([]tenants.AttemptBucket, error)
	FindConsoleSession(ctx context.Context, raw string) (tenants.ConsoleToken, error)
	FindEndpointsByID(ctx context.Context, tenantID string, ids []string) ([]tenants.Endpoint, error)
	FindDeliveryStates(ctx context.Context, tenantID, appID string, msgIDs []string) ([]tenants.DeliveryState, error)
	FindPendingSummary(ctx context.Context, tenantID string) (tenants.PendingSummary, error)
	FindTenantByID(ctx context.Context, id string) (tenants.Tenant, error)
	FindTenantMessages(ctx context.Context, tenantID string, f tenants.TenantMessageFilter) (tenants.Page[tenants.Message], error)
	FindTroubledEndpoints(ctx context.Context, tenantID string, limit int) ([]tenants.TroubledEndpoint, error)
	RevokeAPIKey(ctx context.Context, tenantID, keyID string) (tenants.APIKey, error)
	RevokeConsoleToken(ctx context.Context, tenantID, raw string) error
	// Now is the store's clock.
	Now() time.Time
	UseConsoleLink(ctx context.Context, raw string) (tenants.ConsoleToken, error)
}
