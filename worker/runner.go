package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/tenants"
)

// runner runs this process's attempts: Concurrency of them at a time,
// each holding a slot of its delivery's lane. Work reaches it two ways:
// the Dispatcher hands it the first attempts of deliveries committed in
// this process (while it has room), and its loop takes runnable work from
// the lanes, in fair order, whenever it has room and there is some. It
// never takes more than it can start, so a delivery waits in its lane —
// where every process can see it — rather than in a worker's memory.
type runner struct {
	h       *handler
	lanes   *lanes
	handoff *handoff // first-attempt jobs kept for their turn; nil: none
	log     *slog.Logger
	tracer  trace.Tracer
	// turnSpan starts a turn's span, made once (see handler.sendSpan).
	turnSpan []trace.SpanStartOption
	timeout  time.Duration // one turn's deadline: the delivery timeout and time to record
	maxIdle  time.Duration // the longest the loop sleeps without a wake-up

	// base is every turn's parent: abort cancels it when a shutdown runs
	// out of time.
	base  context.Context
	abort context.CancelFunc

	slots chan struct{} // one per turn running or reserved
	freed chan struct{} // a slot came free (capacity 1: a doorbell)
	rel   *batch.Batcher[releaseOp, struct{}]

	// idle hands a turn to a goroutine that finished one and waits for
	// the next (see turnGoroutine); quit ends the waiting ones.
	idle     chan turnArgs
	quit     chan struct{}
	quitOnce sync.Once

	mu      sync.Mutex
	closed  bool           // guarded by mu
	running sync.WaitGroup // turns in progress
}

// turnArgs is one turn to run.
type turnArgs struct {
	ctx       context.Context
	it        laneItem
	job       *tenants.DeliveryJob
	requestID string
}

// turnIdle is how long a goroutine that ran a turn waits for the next
// before it ends.
const turnIdle = 10 * time.Second

func newRunner(h *handler, l *lanes, concurrency int, timeout, maxIdle time.Duration, log *slog.Logger, tracer trace.Tracer) *runner {
	r := &runner{h: h, lanes: l, log: log, tracer: tracer, timeout: timeout, maxIdle: maxIdle,
		turnSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)},
		slots:    make(chan struct{}, concurrency), freed: make(chan struct{}, 1),
		idle: make(chan turnArgs), quit: make(chan struct{})}
	r.base, r.abort = context.WithCancel(context.Background())
	r.rel = batch.New(batch.Options{Writers: 2, MaxBatch: maxLaneBatch, WriteTimeout: 5 * time.Second}, r.writeReleases)
	return r
}

// reserve takes up to n slots without waiting and returns how many it got.
func (r *runner) reserve(n int) int {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return 0
	}
	got := 0
	for got < n {
		select {
		case r.slots <- struct{}{}:
			got++
		default:
			return got
		}
	}
	return got
}

// unreserve gives back n reserved slots that were not used.
func (r *runner) unreserve(n int) {
	for range n {
		<-r.slots
	}
	if n > 0 {
		r.ring()
	}
}

func (r *runner) ring() {
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// start runs one turn of it on a reserved slot. job, when not nil, spares
// the turn reading the delivery from PostgreSQL; origin carries the trace
// of the request that committed it, requestID that request's id.
func (r *runner) start(it laneItem, job *tenants.DeliveryJob, origin context.Context, requestID string) {
	r.running.Add(1)
	// The turn outlives the request: it keeps only its trace (if any).
	ctx := r.base
	if sc := trace.SpanContextFromContext(origin); sc.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	ta := turnArgs{ctx: ctx, it: it, job: job, requestID: requestID}
	select {
	case r.idle <- ta:
	default:
		go r.turnGoroutine(ta)
	}
}

// turnGoroutine runs ta, then the turns handed to it while it waits, and
// ends after turnIdle without one (or at shutdown). Reusing goroutines is
// for their stacks: an attempt's call depth (the HTTP client, pgx, the
// Redis client) grows a fresh goroutine's 8 KB stack several times, and
// each growth copies the stack and walks its frames — about 7 % of the
// process's instructions per delivery when every turn had a goroutine of
// its own. There are never more of them than slots (every turn holds one).
func (r *runner) turnGoroutine(ta turnArgs) {
	t := time.NewTimer(turnIdle)
	defer t.Stop()
	for {
		r.run(ta.ctx, ta.it, ta.job, ta.requestID)
		t.Reset(turnIdle)
		select {
		case ta = <-r.idle:
		case <-t.C:
			return
		case <-r.quit:
			return
		}
	}
}

func (r *runner) run(ctx context.Context, it laneItem, job *tenants.DeliveryJob, requestID string) {
	defer r.running.Done()
	defer func() {
		<-r.slots
		r.ring()
	}()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ctx, span := r.tracer.Start(ctx, "webhook:deliver", r.turnSpan...)
	if span.IsRecording() { // attributes cost allocations even when dropped
		span.SetAttributes(attribute.Int64("hookline.delivery_id", it.ID))
	}
	out := r.turn(ctx, it, job, requestID)
	span.End()
	op := releaseOp{Item: it, AppID: out.appID, Next: out.next, Signal: out.signal, PauseUntil: out.pauseUntil, Cap: out.cap}
	// No deadline of its own: the release is queued at once or refused
	// (the batcher does not block), and its write is bounded by the
	// batcher's WriteTimeout.
	if _, err := r.rel.Do(context.WithoutCancel(ctx), op); err != nil {
		// The slot's lease ends on its own, and the delivery's state is
		// in PostgreSQL: a turn taken again finds it.
		r.log.Debug("lane slot not released; its lease will end", "delivery_id", it.ID, "err", err)
	}
}

// turn loads the delivery (unless handed over) and makes the attempt.
func (r *runner) turn(ctx context.Context, it laneItem, job *tenants.DeliveryJob, requestID string) outcome {
	if job == nil {
		if j, ok := r.handoff.take(it.ID); ok && j.TenantID == it.TenantID {
			job = &j
		}
	}
	if job == nil {
		j, err := r.h.store.LoadDelivery(ctx, it.TenantID, it.ID)
		switch {
		case tenants.ErrorCode(err) == tenants.CodeNotFound:
			return outcome{} // nothing to deliver (the tenant's data is gone)
		case err != nil:
			r.log.WarnContext(ctx, "cannot load delivery; it waits in its lane", "delivery_id", it.ID, "err", err)
			return outcome{next: r.h.now().Add(unexpectedRetry)}
		}
		job = &j
	}
	if ctx.Err() != nil {
		return outcome{next: r.h.now()} // aborted: back to the lane, due now
	}
	return r.h.attempt(ctx, job, requestID)
}

func (r *runner) writeReleases(ctx context.Context, ops []releaseOp, _ []struct{}, errs []error) {
	throttled, err := r.lanes.release(ctx, ops)
	for i := range errs {
		errs[i] = err
	}
	if le, ok := r.h.events.(LaneEvents); ok {
		for _, t := range throttled {
			le.LaneThrottled(context.WithoutCancel(ctx), t.TenantID, t.AppID, t.EndpointID, t.Since)
		}
	}
}

// loop takes runnable work from the lanes while this process has room,
// and otherwise waits for a wake-up, the next lane's moment, or a slot to
// come free. It returns when ctx ends.
func (r *runner) loop(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		free := r.reserve(min(cap(r.slots), 64))
		if free == 0 {
			select {
			case <-r.freed:
			case <-ctx.Done():
				return
			}
			continue
		}
		items, next, more, err := r.lanes.take(ctx, free)
		if err != nil {
			r.unreserve(free)
			if ctx.Err() == nil {
				r.log.Warn("cannot take work from the lanes", "err", err)
				sleep(ctx, backoff)
				backoff = min(2*backoff, 2*time.Second)
			}
			continue
		}
		backoff = 10 * time.Millisecond
		for _, it := range items {
			origin, requestID := originOf(it.Meta)
			r.start(it, nil, origin, requestID)
		}
		r.unreserve(free - len(items))
		if len(items) == free {
			if more && r.reserve(1) == 0 {
				// Work is left over and this process is full: let another
				// process have it.
				r.lanes.wakeOthers(ctx)
			} else if more {
				r.unreserve(1)
			}
			continue
		}
		wait := r.maxIdle
		if !next.IsZero() {
			wait = min(wait, time.Until(next))
		}
		if wait <= 0 {
			continue
		}
		if _, err := r.lanes.wait(ctx, wait); err != nil && ctx.Err() == nil {
			sleep(ctx, min(wait, backoff))
		}
	}
}

// close takes no more work; the loop is stopped by its context.
func (r *runner) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// closeReleases writes the releases still queued and stops.
func (r *runner) closeReleases() {
	r.quitOnce.Do(func() { close(r.quit) })
	r.rel.Close()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
