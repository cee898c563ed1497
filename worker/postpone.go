package worker

import (
	"context"
	"log/slog"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/tenants"
)

// postponer writes the next attempt time of postponed deliveries (circuit
// open, throttled) to PostgreSQL with group commit (package batch):
// a thousand deliveries waiting on one open circuit cost a few statements,
// not a thousand. It is best effort and asynchronous: asynq holds the task
// itself, so a dropped write (the queue is full: PostgreSQL is slow) only
// leaves the API showing a past time until the next attempt. Safe for
// concurrent use.
type postponer struct {
	log *slog.Logger
	b   *batch.Batcher[tenants.Postponement, struct{}]
}

func newPostponer(store Store, log *slog.Logger) *postponer {
	p := &postponer{log: log}
	p.b = batch.New(batch.Options{Writers: 1, MaxBatch: 512},
		func(ctx context.Context, in []tenants.Postponement, _ []struct{}, _ []error) {
			if err := store.PostponeDeliveries(ctx, in); err != nil {
				p.log.Warn("cannot store postponed deliveries' next attempt time", "count", len(in), "err", err)
			}
		})
	return p
}

// add queues a postponement, or drops it when the queue is full.
func (p *postponer) add(x tenants.Postponement) { p.b.Offer(context.Background(), x) }

// close writes what is queued and stops.
func (p *postponer) close() { p.b.Close() }
