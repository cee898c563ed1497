package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// postponer writes the next attempt time of postponed deliveries (circuit
// open, throttled) to PostgreSQL, batched: one UPDATE for whatever gathered
// within postponeLinger, so a thousand deliveries waiting on one open
// circuit cost a statement, not a thousand. It is best effort and
// asynchronous: asynq holds the task itself, so a lost write only leaves
// the API showing a past time until the next attempt. Safe for concurrent
// use.
type postponer struct {
	store *tenants.Store
	log   *slog.Logger
	ch    chan tenants.Postponement
	wg    sync.WaitGroup

	mu     sync.RWMutex
	closed bool // guarded by mu
}

const (
	postponeBatch  = 512
	postponeLinger = 20 * time.Millisecond
)

func newPostponer(store *tenants.Store, log *slog.Logger) *postponer {
	p := &postponer{store: store, log: log, ch: make(chan tenants.Postponement, 8*postponeBatch)}
	p.wg.Add(1)
	go p.loop()
	return p
}

// add queues a postponement; when the queue is full (PostgreSQL is slow)
// it is dropped, as the write is only informative.
func (p *postponer) add(x tenants.Postponement) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return
	}
	select {
	case p.ch <- x:
	default:
	}
}

// close writes what is queued and stops.
func (p *postponer) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.ch)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *postponer) loop() {
	defer p.wg.Done()
	batch := make([]tenants.Postponement, 0, postponeBatch)
	for first := range p.ch {
		batch = append(batch[:0], first)
		linger := time.NewTimer(postponeLinger)
	gather:
		for len(batch) < postponeBatch {
			select {
			case x, ok := <-p.ch:
				if !ok {
					break gather
				}
				batch = append(batch, x)
			case <-linger.C:
				break gather
			}
		}
		linger.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.store.PostponeDeliveries(ctx, batch); err != nil {
			p.log.Warn("cannot store postponed deliveries' next attempt time", "count", len(batch), "err", err)
		}
		cancel()
	}
}
