package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/tenants"
)

// InspectorStore is what the operator's view of the delivery queue reads
// and changes in PostgreSQL (package store implements it).
type InspectorStore interface {
	CountPendingDeliveries(ctx context.Context, lag time.Duration) (pending, overdue int64, err error)
	FindFailedDeliveries(ctx context.Context, limit int) ([]tenants.FailedDelivery, error)
	LoadDeliveryByID(ctx context.Context, id int64) (tenants.DeliveryJob, error)
	RetryFailedDelivery(ctx context.Context, tenantID string, id int64) error
}

// QueueStats is the delivery queue at a glance: pending deliveries (from
// PostgreSQL, the source of truth), those overdue by more than the grace,
// and the lanes that are full with deliveries waiting.
type QueueStats struct {
	Pending, Overdue int64
	Throttled        ThrottledLanes
}

// Inspector is the operator's view of the delivery queue. Safe for
// concurrent use.
type Inspector struct {
	store  InspectorStore
	client *Client
}

// NewInspector inspects the lanes of queue through rc, and the deliveries
// through store.
func NewInspector(rc redis.UniversalClient, store InspectorStore, queue string) *Inspector {
	return &Inspector{store: store, client: NewClient(rc, queue, 0)}
}

// Stats returns the queue at a glance, with up to top throttled lanes.
func (i *Inspector) Stats(ctx context.Context, grace time.Duration, top int) (QueueStats, error) {
	var st QueueStats
	var err error
	if st.Pending, st.Overdue, err = i.store.CountPendingDeliveries(ctx, grace); err != nil {
		return st, err
	}
	if st.Throttled, err = i.client.lanes.throttled(ctx, "", top); err != nil {
		return st, err
	}
	return st, nil
}

// Throttled returns the lanes of tenantID ("" for every tenant's) that are
// full with deliveries waiting: how many, the deliveries parked in them,
// and up to k of them, most waiting first.
func (i *Inspector) Throttled(ctx context.Context, tenantID string, k int) (ThrottledLanes, error) {
	return i.client.lanes.throttled(ctx, tenantID, k)
}

// Dead lists up to limit deliveries that failed for good, latest first.
func (i *Inspector) Dead(ctx context.Context, limit int) ([]tenants.FailedDelivery, error) {
	return i.store.FindFailedDeliveries(ctx, limit)
}

// Requeue gives failed deliveries one more try (all of them when ids is
// empty): each goes back to pending in PostgreSQL, then into its lane. ids
// are delivery ids ("12345", or "d12345" as earlier versions printed
// them). It returns how many were re-queued.
func (i *Inspector) Requeue(ctx context.Context, ids []string) (int, error) {
	var targets []int64
	if len(ids) == 0 {
		dead, err := i.Dead(ctx, 1<<20)
		if err != nil {
			return 0, err
		}
		for _, d := range dead {
			targets = append(targets, d.ID)
		}
	}
	var errs []error
	for _, s := range ids {
		id, err := strconv.ParseInt(strings.TrimPrefix(s, "d"), 10, 64)
		if err != nil || id <= 0 {
			errs = append(errs, fmt.Errorf("%q is not a delivery id", s))
			continue
		}
		targets = append(targets, id)
	}
	n := 0
	for _, id := range targets {
		job, err := i.store.LoadDeliveryByID(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("delivery %d: %w", id, err))
			continue
		}
		if err := i.store.RetryFailedDelivery(ctx, job.TenantID, id); err != nil {
			if errors.Is(err, tenants.ErrConflict) {
				err = fmt.Errorf("delivery %d has not failed", id)
			}
			errs = append(errs, err)
			continue
		}
		if err := i.client.EnqueueDeliveries(ctx, job.TenantID, job.EndpointID, []int64{id}); err != nil {
			errs = append(errs, fmt.Errorf("delivery %d is pending again, and the sweeper will queue it: %w", id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
