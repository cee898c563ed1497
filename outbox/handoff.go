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

// Runner is a worker of this process that can make a first attempt
// itself. Reserve takes job if there is room and returns start, which
// begins the attempt (in the background, with ctx's trace and request id);
// ok false means no room, and the job waits for its task like any other.
// Between the two the outbox enqueues the job's task as a backup (see
// Direct), so an attempt never begins before its task exists.
type Runner interface {
	Reserve(ctx context.Context, job tenants.DeliveryJob) (start func(), ok bool)
}

// Direct collects the jobs a batch's Puts gave to this process's runner.
// Their tasks are enqueued as backups — due only if this process dies
// before settling them — instead of as tasks for the workers to poll; then
// Start begins the attempts. The zero value holds nothing; not safe for
// concurrent use.
type Direct struct {
	ids    map[int64]struct{}
	starts []func()
}

// Has reports whether delivery id's first attempt is made in this process.
// A nil *Direct has nothing.
func (d *Direct) Has(id int64) bool {
	if d == nil {
		return false
	}
	_, ok := d.ids[id]
	return ok
}

// Start begins the reserved attempts, once; call it after their backup
// tasks are enqueued (or failed to be: the deliveries are in PostgreSQL
// and the sweeper restores what Redis lacks).
func (d *Direct) Start() {
	if d == nil {
		return
	}
	for _, start := range d.starts {
		start()
	}
	d.starts = nil
}

// SetRunner makes Put hand jobs straight to r while it has room. Call it
// before the handoff is used.
func (h *Handoff) SetRunner(r Runner) {
	if h != nil {
		h.runner = r
	}
}

// Put offers fresh jobs of one message, whose request's context is ctx,
// before their tasks are enqueued: the runner, if any, reserves what it
// has room for into direct (which the caller starts after enqueueing; a nil
// direct starts them at once); the rest are kept for their tasks (when
// full, the oldest go first).
func (h *Handoff) Put(ctx context.Context, jobs []tenants.DeliveryJob, direct *Direct) {
	if h == nil {
		return
	}
	if h.runner != nil {
		kept := jobs[:0:0]
		for _, j := range jobs {
			start, ok := h.runner.Reserve(ctx, j)
			switch {
			case !ok:
				kept = append(kept, j)
			case direct == nil:
				start()
			default:
				if direct.ids == nil {
					direct.ids = map[int64]struct{}{}
				}
				direct.ids[j.ID] = struct{}{}
				direct.starts = append(direct.starts, start)
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
