package outbox

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Enqueuer hands committed deliveries to the delivery workers (in Redis).
// The outbox declares it so that it need not import the worker package;
// main passes the worker's client.
type Enqueuer interface {
	// EnqueueMessages queues the deliveries of messages just created, in
	// one round trip; origins[i] is the context of the request that
	// created msgs[i] (its trace and request id go with the tasks). The
	// tasks of deliveries in direct (nil: none) are backups: this process
	// attempts them itself and settles their tasks after.
	EnqueueMessages(ctx context.Context, msgs []tenants.CreatedMessage, origins []context.Context, direct *Direct) error
	// EnqueueDeliveries queues existing deliveries (resends, recoveries).
	EnqueueDeliveries(ctx context.Context, tenantID string, ids []int64) error
}

// enqueueTimeout bounds the enqueue a request waits for. Past it, or when
// Redis is down, the request still succeeds: the deliveries are durable in
// PostgreSQL and the outbox sweeper enqueues them.
const enqueueTimeout = 500 * time.Millisecond

// dispatcher enqueues after commit, and stops trying for a second after a
// failure so that requests do not each wait on a Redis that is down.
type dispatcher struct {
	enq       Enqueuer // nil: nothing is enqueued (the sweeper does it)
	skipUntil atomic.Int64
}

func (d *dispatcher) messages(ctx context.Context, msgs []tenants.CreatedMessage, origins []context.Context, direct *Direct) error {
	if d.enq == nil || len(msgs) == 0 {
		return nil
	}
	return d.try(ctx, func(ctx context.Context) error { return d.enq.EnqueueMessages(ctx, msgs, origins, direct) })
}

func (d *dispatcher) deliveries(ctx context.Context, tenantID string, ids []int64) error {
	if d.enq == nil || len(ids) == 0 {
		return nil
	}
	return d.try(ctx, func(ctx context.Context) error { return d.enq.EnqueueDeliveries(ctx, tenantID, ids) })
}

func (d *dispatcher) try(ctx context.Context, enqueue func(context.Context) error) error {
	if time.Now().UnixNano() < d.skipUntil.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	if err := enqueue(ctx); err != nil {
		d.skipUntil.Store(time.Now().Add(time.Second).UnixNano())
		return err
	}
	return nil
}
