package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/hookline/hookline/tenants"
)

// Ingest group commit.
//
// Concurrent message creates are stored together: one statement inserts a
// batch of messages and all their deliveries (one round trip, one commit),
// and one Redis round trip queues every delivery of the batch. Each
// request still gets its 202 only after its message is committed and its
// deliveries enqueued (or the enqueue has failed, leaving them to the
// sweeper), so durability before the 2xx is unchanged. Batches form by
// themselves under load — a writer takes whatever queued while it was
// busy — and an idle server writes a lone message at once: no timer, no
// added latency.

const (
	ingestWriters  = 4
	ingestMaxBatch = 128
)

type ingestReq struct {
	ctx  context.Context
	spec tenants.MessageSpec
	done chan struct{}
	res  tenants.CreatedMessage
	err  error
	// enqErr is the enqueue's failure, for the caller's log line.
	enqErr error
}

type ingester struct {
	store    *tenants.Store
	dispatch *dispatcher
	log      *slog.Logger
	reqs     chan *ingestReq
	wg       sync.WaitGroup
	once     sync.Once
}

func newIngester(store *tenants.Store, d *dispatcher, log *slog.Logger) *ingester {
	g := &ingester{store: store, dispatch: d, log: log, reqs: make(chan *ingestReq, ingestWriters*ingestMaxBatch)}
	for range ingestWriters {
		g.wg.Add(1)
		go g.loop()
	}
	return g
}

// create stores one message (with others that arrive meanwhile) and
// enqueues its deliveries. err is the store's answer; enqErr, when err is
// nil, says the enqueue failed and the sweeper will deliver.
func (g *ingester) create(ctx context.Context, spec tenants.MessageSpec) (res tenants.CreatedMessage, enqErr, err error) {
	r := &ingestReq{ctx: ctx, spec: spec, done: make(chan struct{})}
	g.reqs <- r
	<-r.done
	return r.res, r.enqErr, r.err
}

// close stops the writers once queued requests are written.
func (g *ingester) close() {
	g.once.Do(func() { close(g.reqs) })
	g.wg.Wait()
}

func (g *ingester) loop() {
	defer g.wg.Done()
	batch := make([]*ingestReq, 0, ingestMaxBatch)
	for first := range g.reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < ingestMaxBatch {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		g.write(batch)
	}
}

func (g *ingester) write(batch []*ingestReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	// The batch is written for requests whose clients may have gone; the
	// write must still complete or fail as a whole.
	ctx := context.WithoutCancel(batch[0].ctx)
	specs := make([]tenants.MessageSpec, len(batch))
	for i, r := range batch {
		specs[i] = r.spec
	}
	created, err := g.store.CreateMessages(ctx, specs)
	switch {
	case err == nil:
		for i, r := range batch {
			r.res = created[i]
		}
	case errors.Is(err, tenants.ErrUnavailable) || len(batch) == 1:
		for _, r := range batch {
			r.err = err
		}
		if len(batch) == 1 && !errors.Is(err, tenants.ErrUnavailable) {
			// A lone message's own error (a duplicate eventId) is its answer.
			batch[0].res.Message, batch[0].res.Deliveries, batch[0].err = g.store.CreateMessageDeliveries(ctx, specs[0].TenantID, specs[0].AppID, specs[0].In)
		}
	default:
		// One message spoiled the batch (a duplicate eventId): write them
		// one by one, so each gets its own answer.
		for i, r := range batch {
			r.res.Message, r.res.Deliveries, r.err = g.store.CreateMessageDeliveries(ctx, specs[i].TenantID, specs[i].AppID, specs[i].In)
		}
	}
	var msgs []tenants.CreatedMessage
	var origins []context.Context
	var queued []*ingestReq
	for _, r := range batch {
		if r.err == nil && len(r.res.Deliveries) > 0 {
			msgs = append(msgs, r.res)
			origins = append(origins, r.ctx)
			queued = append(queued, r)
		}
	}
	if err := g.dispatch.dispatchMessages(ctx, msgs, origins); err != nil {
		for _, r := range queued {
			r.enqErr = err
		}
	}
}
