package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Dispatcher hands committed deliveries to the delivery workers: the one
// way into the worker from the side that commits them (package outbox,
// and the API's resends and recoveries). The deliveries are already
// durable in PostgreSQL; dispatching only makes them known to a worker
// sooner than the sweeper would. In a process that also runs a worker
// (`hookline all`), first attempts begin in the process at once (see
// direct.go); otherwise, and for what the local worker has no room for,
// their tasks go to Redis in one round trip per batch. Safe for
// concurrent use.
type Dispatcher struct {
	client  *Client
	direct  *directRunner // nil: no worker in this process
	handoff *handoff      // nil: no worker in this process
	// skipUntil (Unix ns): after a failed enqueue, requests stop waiting
	// on Redis for a second; the sweeper enqueues what they committed.
	skipUntil atomic.Int64
}

// NewDispatcher returns a Dispatcher that enqueues through c, for a
// process that runs no worker (`hookline serve`). A process with a worker
// uses its Worker.Dispatcher.
func NewDispatcher(c *Client) *Dispatcher { return &Dispatcher{client: c} }

// enqueueTimeout bounds the enqueue a request waits for. Past it, or when
// Redis is down, the request still succeeds: the deliveries are durable in
// PostgreSQL and the sweeper enqueues them.
const enqueueTimeout = 500 * time.Millisecond

// DispatchMessages hands over the deliveries of messages just created (a
// group commit's worth); origins[i] is the context of the request that
// created msgs[i]: its trace and request id go with the attempts. An error
// says the deliveries could not be queued in Redis (for the log): nothing
// is lost, the sweeper queues them.
func (d *Dispatcher) DispatchMessages(ctx context.Context, msgs []tenants.CreatedMessage, origins []context.Context) error {
	var direct directBatch
	any := false
	for k, m := range msgs {
		if len(m.Deliveries) == 0 {
			continue
		}
		any = true
		origin := ctx
		if k < len(origins) && origins[k] != nil {
			origin = origins[k]
		}
		d.handoff.put(origin, m.FirstJobs(), d.direct, &direct)
	}
	if !any {
		return nil
	}
	err := d.try(ctx, func(ctx context.Context) error { return d.client.enqueueMessages(ctx, msgs, origins, &direct) })
	// Whether or not their backup tasks made it to Redis, the reserved
	// attempts begin: the deliveries are in PostgreSQL.
	direct.start()
	return err
}

// DispatchDeliveries hands over existing deliveries of one tenant
// (resends, recoveries, replays), due now. Errors as DispatchMessages.
func (d *Dispatcher) DispatchDeliveries(ctx context.Context, tenantID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return d.try(ctx, func(ctx context.Context) error { return d.client.EnqueueDeliveries(ctx, tenantID, ids) })
}

func (d *Dispatcher) try(ctx context.Context, enqueue func(context.Context) error) error {
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

// handoff keeps the first-attempt jobs of deliveries committed in this
// process that the local worker had no room to begin at once, until their
// task comes, so that the attempt does not read back from PostgreSQL what
// was written a millisecond ago. It is only a shortcut: a job not found
// here (another process's, a retry, one evicted) is read from the
// database as usual. Entries are bounded by total payload size and by
// age. Safe for concurrent use; a nil *handoff holds nothing.
type handoff struct {
	maxBytes int
	maxAge   time.Duration
	now      func() time.Time

	mu    sync.Mutex
	jobs  map[int64]handoffEntry // guarded by mu
	order []int64                // insertion order, for eviction; guarded by mu
	bytes int                    // guarded by mu
}

type handoffEntry struct {
	job tenants.DeliveryJob
	at  time.Time
}

// newHandoff holds up to maxBytes of payloads, none older than a minute.
func newHandoff(maxBytes int) *handoff {
	return &handoff{maxBytes: maxBytes, maxAge: time.Minute, now: time.Now, jobs: map[int64]handoffEntry{}}
}

// put offers fresh jobs of one message, whose request's context is ctx,
// before their tasks are enqueued: runner, if any, reserves what it has
// room for into direct (which the caller starts after enqueueing); the
// rest are kept for their tasks (when full, the oldest go first).
func (h *handoff) put(ctx context.Context, jobs []tenants.DeliveryJob, runner *directRunner, direct *directBatch) {
	if h == nil {
		return
	}
	kept := jobs[:0:0]
	for _, j := range jobs {
		start, ok := runner.reserve(ctx, j)
		if !ok {
			kept = append(kept, j)
			continue
		}
		direct.add(j.ID, start)
	}
	if len(kept) == 0 {
		return
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range kept {
		h.jobs[j.ID] = handoffEntry{job: j, at: now}
		h.order = append(h.order, j.ID)
		h.bytes += len(j.Payload)
	}
	for len(h.order) > 0 {
		e, ok := h.jobs[h.order[0]]
		if ok && h.bytes <= h.maxBytes && now.Sub(e.at) < h.maxAge {
			break
		}
		if ok {
			delete(h.jobs, h.order[0])
			h.bytes -= len(e.job.Payload)
		}
		h.order = h.order[1:]
	}
	if len(h.order) == 0 {
		h.order = nil // let the backing array go
	}
}

// take removes and returns the job for delivery id, if held.
func (h *handoff) take(id int64) (tenants.DeliveryJob, bool) {
	if h == nil {
		return tenants.DeliveryJob{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.jobs[id]
	if ok {
		delete(h.jobs, id)
		h.bytes -= len(e.job.Payload)
	}
	return e.job, ok
}

// directBatch collects the jobs of one dispatch that the local worker
// reserved: their tasks are enqueued as backups, then start begins the
// attempts. The zero value holds nothing; not safe for concurrent use.
type directBatch struct {
	ids    map[int64]struct{}
	starts []func()
}

func (d *directBatch) add(id int64, start func()) {
	if d.ids == nil {
		d.ids = map[int64]struct{}{}
	}
	d.ids[id] = struct{}{}
	d.starts = append(d.starts, start)
}

// has reports whether delivery id's first attempt is made in this process.
// A nil *directBatch has nothing.
func (d *directBatch) has(id int64) bool {
	if d == nil {
		return false
	}
	_, ok := d.ids[id]
	return ok
}

// start begins the reserved attempts, once.
func (d *directBatch) start() {
	for _, start := range d.starts {
		start()
	}
	d.starts = nil
}
