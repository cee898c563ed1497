package worker

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Store is what the delivery worker reads and writes in PostgreSQL
// (package store implements it). Implementations are safe for concurrent
// use; each method's contract is the store's.
type Store interface {
	// The attempt: a delivery's job, its endpoint's sending
	// configuration, the outcome recorded.
	LoadDelivery(ctx context.Context, tenantID string, id int64) (tenants.DeliveryJob, error)
	LoadDeliveryByID(ctx context.Context, id int64) (tenants.DeliveryJob, error)
	LoadEndpointConfig(ctx context.Context, tenantID, endpointID string) (tenants.EndpointConfig, error)
	SetDeliveryStatus(ctx context.Context, tenantID string, id int64, st tenants.Status) error
	RecordAttempts(ctx context.Context, results []tenants.AttemptResult) error
	PostponeDeliveries(ctx context.Context, ps []tenants.Postponement) error

	// The sweeper's scans and housekeeping, under its lease.
	TryLease(ctx context.Context, name string) (tenants.Lease, error)
	DueDeliveries(ctx context.Context, afterAt time.Time, afterID int64, dueBy time.Time, limit int) ([]tenants.DueDelivery, error)
	PendingDeliveries(ctx context.Context, afterID int64, limit int) ([]tenants.DueDelivery, error)
	ExpirePayloads(ctx context.Context, limit int) (int64, error)
	DeleteExpiredIdempotencyKeys(ctx context.Context, limit int) (int64, error)

	// Operational events are messages of the tenant's system
	// application (OperationalSender).
	SystemApplication(ctx context.Context, tenantID string) (tenants.Application, error)
	CreateMessages(ctx context.Context, specs []tenants.MessageSpec) ([]tenants.CreatedMessage, error)
}
