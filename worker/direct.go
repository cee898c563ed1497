package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
)

// Direct first attempts.
//
// With the API and the worker in one process (`hookline all`), a delivery
// committed a moment ago need not go through asynq at all: the
// Dispatcher gives its job to the directRunner, which reserves a slot;
// the Dispatcher enqueues the delivery's task as a *backup* — scheduled
// twice the delivery timeout ahead, so no worker polls it — and then the
// runner makes the attempt at once. When the attempt is recorded the runner settles the
// backup: deleted if the delivery is done, moved to the next attempt's
// time if not (one small script per batch of settled tasks). A delivery
// thus costs Redis its enqueue and its settlement, not asynq's dequeue,
// lease and acknowledgement too.
//
// Durability is unchanged: the delivery and its attempts are in
// PostgreSQL before anything is answered, and if the process dies between
// the commit and the settlement, the backup comes due and any worker
// makes the attempt (or finds it recorded). If the backup comes due while
// the attempt is still running here (a slow receiver), the handler claims
// the run, waits for it and returns its outcome, so asynq acknowledges,
// retries or drops the task exactly as if it had run the attempt itself.
//
// This is also what lets an idle `hookline all` poll Redis rarely
// (asynq's TaskCheckInterval) without slowing first attempts.

// directRunner runs first attempts handed over in this process. Safe for
// concurrent use; a nil *directRunner takes nothing.
type directRunner struct {
	h       *handler
	timeout time.Duration
	slots   chan struct{} // one per reserved or running attempt
	settle  *batch.Batcher[settleOp, struct{}]

	mu     sync.Mutex
	runs   map[int64]*directRun // reserved or running, guarded by mu; at most cap(slots)
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

// settleOp is the settlement of the run's backup task: deleted when the
// delivery is done or has failed for good, otherwise due when the run's
// outcome says the next attempt is.
func (run *directRun) settlement(id int64) settleOp {
	if run.err == nil || errors.Is(run.err, asynq.SkipRetry) {
		return settleOp{id: id}
	}
	// Whole seconds, rounded down as asynq rounds its retries: a task that
	// comes a little early finds its time in PostgreSQL and waits the rest.
	return settleOp{id: id, at: run.finished.Add(retryDelay(0, run.err)).Unix()}
}

func newDirectRunner(h *handler, c *Client, log *slog.Logger, concurrency int, timeout time.Duration) *directRunner {
	r := &directRunner{h: h, timeout: timeout, slots: make(chan struct{}, concurrency), runs: map[int64]*directRun{}}
	r.settle = batch.New(batch.Options{Writers: 1, MaxBatch: maxBatch, WriteTimeout: 5 * time.Second},
		func(ctx context.Context, ops []settleOp, _ []struct{}, _ []error) {
			if err := c.settle(ctx, ops); err != nil {
				// Costs only work: the backups come due and their
				// worker finds each delivery's state in PostgreSQL.
				log.Debug("settling backup tasks failed; they will come due", "tasks", len(ops), "err", err)
			}
		})
	return r
}

// reserve takes job for an attempt in this process if a slot is free and
// the runner is open; it never blocks. The attempt begins when start is
// called, which the caller must do once the job's backup task is queued
// (the slot is held until then). A nil runner reserves nothing.
func (r *directRunner) reserve(ctx context.Context, job tenants.DeliveryJob) (start func(), ok bool) {
	if r == nil || (job.NextAttemptAt != nil && time.Until(*job.NextAttemptAt) > 0) {
		// Scheduled for later (deliverAt): its task comes when it is due.
		return nil, false
	}
	select {
	case r.slots <- struct{}{}:
	default:
		return nil, false
	}
	run := &directRun{done: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.slots
		return nil, false
	}
	r.runs[job.ID] = run
	r.h.inflight.Add(1)
	r.mu.Unlock()

	// The attempt outlives the request that committed the message; it
	// keeps the request's trace and id.
	actx := trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx))
	requestID := telemetry.RequestID(ctx)
	return func() { go r.run(actx, job, requestID, run) }, true
}

func (r *directRunner) run(ctx context.Context, job tenants.DeliveryJob, requestID string, run *directRun) {
	defer r.h.inflight.Done()
	defer func() { <-r.slots }()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ctx, span := r.h.tracer.Start(ctx, "webhook:deliver", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int64("hookline.delivery_id", job.ID)))
	run.err = r.h.attempt(ctx, job, requestID)
	run.finished = time.Now()
	span.End()
	r.mu.Lock()
	mine := r.runs[job.ID] == run // not claimed by a task that came due
	if mine {
		delete(r.runs, job.ID)
	}
	r.mu.Unlock()
	close(run.done)
	if mine {
		r.settle.Offer(context.Background(), run.settlement(job.ID))
	}
}

// claim removes and returns the direct run of delivery id, if any: its
// task came due (or was enqueued again) while the run was not finished,
// and the task's handler returns the run's outcome instead of settling.
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
// through the handler's inflight count, then calls closeSettle).
func (r *directRunner) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// closeSettle writes the settlements still queued and stops.
func (r *directRunner) closeSettle() {
	if r != nil {
		r.settle.Close()
	}
}
