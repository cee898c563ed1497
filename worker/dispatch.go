package worker

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
)

// Dispatcher hands committed deliveries to the delivery workers: the one
// way into the worker from the side that commits them (package outbox,
// and the API's resends and recoveries). The deliveries are already
// durable in PostgreSQL; dispatching puts them into their lanes (lanes.go)
// sooner than the sweeper would. In a process that also runs a worker
// (`hookline all`), first attempts whose lane has a free slot begin here
// at once, while this process has a worker free; the rest wait in their
// lanes for any worker. Safe for concurrent use.
type Dispatcher struct {
	client  *Client
	run     *runner  // nil: no worker in this process
	handoff *handoff // nil: no worker in this process
	// skipUntil (Unix ns): after a failed admission, requests stop waiting
	// on Redis for a second; the sweeper admits what they committed.
	skipUntil atomic.Int64
}

// NewDispatcher returns a Dispatcher that admits through c, for a process
// that runs no worker (`hookline serve`). A process with a worker uses its
// Worker.Dispatcher.
func NewDispatcher(c *Client) *Dispatcher { return &Dispatcher{client: c} }

// KeepsConfigs reports whether this process runs a worker that keeps the
// endpoint configurations read along with new deliveries
// (tenants.NewDelivery.Config): in a process without one they would be
// read for nothing.
func (d *Dispatcher) KeepsConfigs() bool { return d.run != nil }

// enqueueTimeout bounds the admission a request waits for. Past it, or
// when Redis is down, the request still succeeds: the deliveries are
// durable in PostgreSQL and the sweeper admits them.
const enqueueTimeout = 500 * time.Millisecond

// DispatchMessages hands over the deliveries of messages just created (a
// group commit's worth) in one round trip; origins[i] is the context of
// the request that created msgs[i]: its trace and request id go with the
// attempts. An error says the deliveries could not be admitted (for the
// log): nothing is lost, the sweeper admits them.
func (d *Dispatcher) DispatchMessages(ctx context.Context, msgs []tenants.CreatedMessage, origins []context.Context) error {
	n := 0
	for _, m := range msgs {
		n += len(m.Deliveries)
	}
	if n == 0 {
		return nil
	}
	ops := make([]admitOp, 0, n)
	jobs := make([]tenants.DeliveryJob, 0, n)
	from := make([]context.Context, 0, n)
	weights := map[string]int{}
	now := time.Now()
	for k, m := range msgs {
		if len(m.Deliveries) == 0 {
			continue
		}
		origin := ctx
		if k < len(origins) && origins[k] != nil {
			origin = origins[k]
		}
		w, ok := weights[m.Message.TenantID]
		if !ok {
			w = d.client.weightOf(ctx, m.Message.TenantID)
			weights[m.Message.TenantID] = w
		}
		if d.run != nil {
			for _, nd := range m.Deliveries {
				if nd.Config != nil {
					d.run.h.cache.seed(nd.Config)
				}
			}
		}
		for i, job := range m.FirstJobs() {
			ops = append(ops, admitOp{ID: job.ID, EndpointID: job.EndpointID, TenantID: job.TenantID, Due: *job.NextAttemptAt,
				Cap: laneCap(m.Deliveries[i].LaneCap), Weight: w})
			jobs = append(jobs, job)
			from = append(from, origin)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	// This process's worker runs first attempts that are due now, as many
	// as it has room for.
	reserved := 0
	if d.run != nil {
		want := 0
		for _, o := range ops {
			if !o.Due.After(now) {
				want++
			}
		}
		reserved = d.run.reserve(want)
		for i, left := 0, reserved; i < len(ops) && left > 0; i++ {
			if !ops[i].Due.After(now) {
				ops[i].Local = true
				left--
			}
		}
	}
	// What goes with a delivery is for another process's worker: the ones
	// this process runs keep their origin at hand. It is made once per
	// message (ops are in the order of msgs and their deliveries).
	i := 0
	for _, m := range msgs {
		meta, made := "", false
		for range m.Deliveries {
			if !ops[i].Local {
				if !made {
					meta, made = metaOf(from[i]), true
				}
				ops[i].Meta = meta
			}
			i++
		}
	}
	var run []bool
	err := d.try(ctx, func(ctx context.Context) error {
		var err error
		run, err = d.client.lanes.admit(ctx, ops)
		return err
	})
	started := 0
	if err == nil && len(run) == len(ops) {
		for i, o := range ops {
			switch {
			case run[i]:
				d.run.start(laneItem{ID: o.ID, EndpointID: o.EndpointID, TenantID: o.TenantID}, &jobs[i], from[i], telemetry.RequestID(from[i]))
				started++
			case d.handoff != nil:
				// Queued: its turn, if it comes in this process, need not
				// read back what was just written.
				d.handoff.put(jobs[i])
			}
		}
	}
	if d.run != nil {
		d.run.unreserve(reserved - started)
	}
	return err
}

// DispatchDeliveries hands over existing deliveries of one tenant to one
// endpoint (resends, recoveries, replays), due now. Errors as
// DispatchMessages.
func (d *Dispatcher) DispatchDeliveries(ctx context.Context, tenantID, endpointID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return d.try(ctx, func(ctx context.Context) error { return d.client.EnqueueDeliveries(ctx, tenantID, endpointID, ids) })
}

func (d *Dispatcher) try(ctx context.Context, admit func(context.Context) error) error {
	if time.Now().UnixNano() < d.skipUntil.Load() {
		return nil // Redis failed a moment ago: the sweeper admits these
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	if err := admit(ctx); err != nil {
		d.skipUntil.Store(time.Now().Add(time.Second).UnixNano())
		return err
	}
	return nil
}

// metaOf is what goes with a delivery to the worker that takes it from its
// lane: the request id and the trace context of its origin.
func metaOf(ctx context.Context) string {
	id := telemetry.RequestID(ctx)
	var h map[string]string // only for a trace to carry
	if trace.SpanContextFromContext(ctx).IsValid() {
		h = map[string]string{}
		telemetry.Inject(ctx, h)
	}
	if id == "" && len(h) == 0 {
		return ""
	}
	return id + "\n" + h["traceparent"] + "\n" + h["tracestate"]
}

// originOf turns what metaOf wrote back into a context with the trace and
// the request id.
func originOf(meta string) (context.Context, string) {
	ctx := context.Background()
	if meta == "" {
		return ctx, ""
	}
	parts := strings.SplitN(meta, "\n", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	if parts[1] != "" {
		ctx = telemetry.Extract(ctx, map[string]string{"traceparent": parts[1], "tracestate": parts[2]})
	}
	return ctx, parts[0]
}

// handoff keeps the first-attempt jobs of deliveries committed in this
// process that could not begin at once, until their turn comes, so that
// the attempt (if this process takes it) does not read back from
// PostgreSQL what was written a millisecond ago. It is only a shortcut: a job not found
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

// put keeps the job of a first attempt that waits in its lane (when
// full, the oldest go first).
func (h *handoff) put(j tenants.DeliveryJob) {
	if h == nil {
		return
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.jobs[j.ID] = handoffEntry{job: j, at: now}
	h.order = append(h.order, j.ID)
	h.bytes += len(j.Payload)
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
