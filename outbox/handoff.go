package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Handoff passes deliveries the outbox has just committed to a worker
// running in the same process (`hookline all`), so that their first attempt does
// not read back from PostgreSQL what the API wrote a millisecond ago.
//
// It is only a shortcut: the task still goes through Redis, the delivery's
// state still lives in PostgreSQL, a job not found here (another process's,
// a retry, one evicted for room) is read from the database as usual, and
// the attempt is recorded the same way. Entries are bounded by total
// payload size and by age. Safe for concurrent use; a nil *Handoff holds
// nothing.
type Handoff struct {
	maxBytes int
	maxAge   time.Duration
	runner   Runner // set once, before use

	mu    sync.Mutex
	jobs  map[int64]handoffEntry // guarded by mu
	order []int64                // insertion order, for eviction; guarded by mu
	bytes int                    // guarded by mu
}

type handoffEntry struct {
	job tenants.DeliveryJob
	at  time.Time
}

// NewHandoff holds up to maxBytes of payloads, none older than a minute.
func NewHandoff(maxBytes int) *Handoff {
	return &Handoff{maxBytes: maxBytes, maxAge: time.Minute, jobs: map[int64]handoffEntry{}}
}

// Runner is a worker of this process that can begin a first attempt at
// once: Run starts job (in the background, with ctx's trace and request
// id) and reports whether it took it; false means no room, and the job
// waits for its task like any other.
type Runner interface {
	Run(ctx context.Context, job tenants.DeliveryJob) bool
}

// SetRunner makes Put hand jobs straight to r while it has room. Call it
// before the handoff is used.
func (h *Handoff) SetRunner(r Runner) {
	if h != nil {
		h.runner = r
	}
}

// Put offers fresh jobs of one message, whose request's context is ctx,
// before their tasks are enqueued: the runner, if any, begins what it has
// room for; the rest are kept for their tasks (when full, the oldest go
// first).
func (h *Handoff) Put(ctx context.Context, jobs []tenants.DeliveryJob) {
	if h == nil {
		return
	}
	if h.runner != nil {
		kept := jobs[:0:0]
		for _, j := range jobs {
			if !h.runner.Run(ctx, j) {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	if len(jobs) == 0 {
		return
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range jobs {
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

// Take removes and returns the job for delivery id, if held.
func (h *Handoff) Take(id int64) (tenants.DeliveryJob, bool) {
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
