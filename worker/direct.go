package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
)

// Direct first attempts.
//
// With the API and the worker in one process (`hookline all`), a delivery
// committed a moment ago need not wait for asynq to poll Redis: the
// outbox's handoff gives its job to the directRunner, which begins the
// attempt at once. The delivery's task is still enqueued and is still the
// durable lease: when asynq hands it to this process's handler, the
// handler claims the direct run, waits for it and returns its outcome, so
// asynq acknowledges, retries or drops the task exactly as if it had run
// the attempt itself. If the process dies mid-attempt the task is leased
// out again like any other. A run whose result nobody claims (evicted,
// or the task went to another process) costs nothing but a read: the
// delivery's state is in PostgreSQL, and the task finds it done, or due
// later.
//
// This is what lets an idle `hookline all` poll Redis rarely (asynq's
// TaskCheckInterval) without slowing first attempts.

// directRunner runs first attempts handed over in this process. Safe for
// concurrent use; a nil *directRunner takes nothing.
type directRunner struct {
	h       *handler
	timeout time.Duration
	slots   chan struct{} // one per running attempt

	mu     sync.Mutex
	runs   map[int64]*directRun // guarded by mu; bounded by maxRuns
	closed bool                 // guarded by mu
}

// directRun is one direct attempt; err is set before done is closed.
type directRun struct {
	done     chan struct{}
	err      error
	finished time.Time // set with err
}

// outcome is the run's result as of now: a retry or postponement the run
// asked for counts from when it finished, not from when its task came.
func (run *directRun) outcome() error {
	var de *delayError
	if errors.As(run.err, &de) {
		left := *de
		left.Delay = max(de.Delay-time.Since(run.finished), time.Millisecond)
		return &left
	}
	return run.err
}

func newDirectRunner(h *handler, concurrency int, timeout time.Duration) *directRunner {
	return &directRunner{h: h, timeout: timeout, slots: make(chan struct{}, concurrency), runs: map[int64]*directRun{}}
}

// maxRuns bounds the runs held, running or awaiting their task's claim:
// a few seconds of traffic at full concurrency, a few hundred KB.
func (r *directRunner) maxRuns() int { return 16 * cap(r.slots) }

// Run begins job's attempt if a slot is free, the runner is open and there
// is room to hold its result; it never blocks.
func (r *directRunner) Run(ctx context.Context, job tenants.DeliveryJob) bool {
	if r == nil || (job.NextAttemptAt != nil && time.Until(*job.NextAttemptAt) > 0) {
		// Scheduled for later (deliverAt): its task comes when it is due.
		return false
	}
	select {
	case r.slots <- struct{}{}:
	default:
		return false
	}
	run := &directRun{done: make(chan struct{})}
	r.mu.Lock()
	if r.closed || !r.roomLocked() {
		r.mu.Unlock()
		<-r.slots
		return false
	}
	r.runs[job.ID] = run
	r.h.inflight.Add(1)
	r.mu.Unlock()

	// The attempt outlives the request that committed the message; it
	// keeps the request's trace and id.
	actx := trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx))
	requestID := telemetry.RequestID(ctx)
	go func() {
		defer r.h.inflight.Done()
		defer func() { <-r.slots }()
		actx, cancel := context.WithTimeout(actx, r.timeout)
		defer cancel()
		actx, span := r.h.tracer.Start(actx, "webhook:deliver", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.Int64("hookline.delivery_id", job.ID)))
		run.err = r.h.attempt(actx, job, requestID)
		run.finished = time.Now()
		span.End()
		close(run.done)
	}()
	return true
}

// roomLocked reports whether another run fits. When the map is full, the
// finished runs whose tasks have not come yet are dropped: such a task then
// reads the delivery's state from PostgreSQL (done, or due later), which
// costs a query and nothing else, whereas a full map would send new
// deliveries to wait for asynq's poll.
func (r *directRunner) roomLocked() bool {
	if len(r.runs) < r.maxRuns() {
		return true
	}
	for id, run := range r.runs {
		select {
		case <-run.done:
			delete(r.runs, id)
		default:
		}
	}
	return len(r.runs) < r.maxRuns()
}

// claim removes and returns the direct run of delivery id, if any.
func (r *directRunner) claim(id int64) *directRun {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.runs[id]
	delete(r.runs, id)
	return run
}

// close takes no more runs; running ones finish (the worker waits for them
// through the handler's inflight count).
func (r *directRunner) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}
