package outbox

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hookline/hookline/tenants"
)

// Recorder writes attempt results with group commit: handlers hand in
// their result and wait; the batch's attempts are inserted and their
// deliveries moved on in one statement (tenants.RecordAttempts). Nothing is
// acknowledged before it is committed, so batching loses nothing. A full
// queue makes Record wait rather than fail: the attempt has happened and
// must be on record. Safe for concurrent use.
type Recorder struct {
	store *tenants.Store
	log   *slog.Logger
	b     *Batcher[tenants.AttemptResult, struct{}]
}

// NewRecorder starts a Recorder's writers (the zero BatcherOptions mean 4
// writers and batches of up to 256). Stop it with Close.
func NewRecorder(store *tenants.Store, log *slog.Logger, o BatcherOptions) *Recorder {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	o.Block = true
	r := &Recorder{store: store, log: log}
	r.b = NewBatcher(o, r.write)
	return r
}

// Record stores one result and returns once it is committed (or failed).
// After Close it fails with ErrClosed; the task is then retried by
// whichever worker gets it next.
func (r *Recorder) Record(ctx context.Context, res tenants.AttemptResult) error {
	_, err := r.b.Do(ctx, res)
	return err
}

// Close stops the writers once everything handed in is written.
func (r *Recorder) Close() { r.b.Close() }

func (r *Recorder) write(ctx context.Context, in []tenants.AttemptResult, _ []struct{}, errs []error) {
	err := r.store.RecordAttempts(ctx, in)
	if err != nil && len(in) > 1 && !errors.Is(err, tenants.ErrUnavailable) {
		// One bad row must not fail its neighbours: write them one by one.
		r.log.Warn("batched attempt write failed; writing one by one", "size", len(in), "err", err)
		for i := range in {
			errs[i] = r.store.RecordAttempts(ctx, in[i:i+1])
		}
		return
	}
	for i := range errs {
		errs[i] = err
	}
}
