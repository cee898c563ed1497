package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/hookline/hookline/tenants"
)

// recorder writes attempt results with group commit: handlers hand in
// their result and wait; a few writer goroutines take whatever has
// gathered and store it in one transaction. Under load, hundreds of
// attempts share a commit; idle, a result is written at once. Nothing is
// acknowledged before it is committed, so batching loses nothing.
type recorder struct {
	store   *tenants.Store
	log     *slog.Logger
	reqs    chan recordReq
	maxSize int
	wg      sync.WaitGroup

	mu     sync.RWMutex
	closed bool // guarded by mu; record after close fails instead of panicking
}

// errRecorderClosed is returned for a result handed in after shutdown; the
// task is retried by whichever worker gets it next.
var errRecorderClosed = errors.New("attempt recorder is shut down")

type recordReq struct {
	ctx  context.Context
	res  tenants.AttemptResult
	done chan error
}

func newRecorder(store *tenants.Store, log *slog.Logger, writers, maxBatch int) *recorder {
	r := &recorder{store: store, log: log, reqs: make(chan recordReq, maxBatch*writers), maxSize: maxBatch}
	for range writers {
		r.wg.Add(1)
		go r.loop()
	}
	return r
}

// record stores one result and returns once it is committed (or failed).
func (r *recorder) record(ctx context.Context, res tenants.AttemptResult) error {
	req := recordReq{ctx: ctx, res: res, done: make(chan error, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return errRecorderClosed
	}
	select {
	case r.reqs <- req:
	case <-ctx.Done():
		r.mu.RUnlock()
		return ctx.Err()
	}
	r.mu.RUnlock()
	return <-req.done
}

// close stops the writers once everything handed in is written; later
// calls to record fail with errRecorderClosed.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	close(r.reqs)
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *recorder) loop() {
	defer r.wg.Done()
	batch := make([]recordReq, 0, r.maxSize)
	for first := range r.reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < r.maxSize {
			select {
			case req, ok := <-r.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		r.write(batch)
	}
}

func (r *recorder) write(batch []recordReq) {
	results := make([]tenants.AttemptResult, len(batch))
	for i, req := range batch {
		results[i] = req.res
	}
	// The batch is written on behalf of handlers whose contexts may end
	// (shutdown); the write itself must still finish.
	ctx := context.WithoutCancel(batch[0].ctx)
	err := r.store.RecordAttempts(ctx, results)
	if err != nil && len(batch) > 1 && !errors.Is(err, tenants.ErrUnavailable) {
		// One bad row must not fail its neighbours: write them one by one.
		r.log.Warn("batched attempt write failed; writing one by one", "size", len(batch), "err", err)
		for _, req := range batch {
			req.done <- r.store.RecordAttempts(ctx, []tenants.AttemptResult{req.res})
		}
		return
	}
	for _, req := range batch {
		req.done <- err
	}
}
