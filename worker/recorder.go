package worker

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/tenants"
)

// recorder writes attempt results with group commit: handlers hand in
// their result and wait; the batch's attempts are inserted and their
// deliveries moved on in one statement (Store.RecordAttempts). Nothing is
// acknowledged before it is committed, so batching loses nothing. A full
// queue makes record wait rather than fail: the attempt has happened and
// must be on record. Safe for concurrent use.
type recorder struct {
	store Store
	log   *slog.Logger
	b     *batch.Batcher[tenants.AttemptResult, struct{}]
}

// newRecorder starts a recorder's writers: 4 of them, batches of up to
// 256. Stop it with close.
func newRecorder(store Store, log *slog.Logger) *recorder {
	r := &recorder{store: store, log: log}
	r.b = batch.New(batch.Options{MaxBatch: 256, Block: true}, r.write)
	return r
}

// record stores one result and returns once it is committed (or failed).
// After close it fails with batch.ErrClosed; the task is then retried by
// whichever worker gets it next.
func (r *recorder) record(ctx context.Context, res tenants.AttemptResult) error {
	_, err := r.b.Do(ctx, res)
	return err
}

// close stops the writers once everything handed in is written.
func (r *recorder) close() { r.b.Close() }

func (r *recorder) write(ctx context.Context, in []tenants.AttemptResult, _ []struct{}, errs []error) {
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
