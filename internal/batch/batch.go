package batch

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrBusy is returned by Batcher.Do when its queue is full: nothing was
// written, and the caller should come back shortly (the API answers 503
// with Retry-After).
var ErrBusy = errors.New("batch: too many writes queued; retry shortly")

// ErrClosed is returned by Batcher.Do after Close: nothing was written.
var ErrClosed = errors.New("batch: shut down")

// Options shape a Batcher. The zero value means the defaults.
type Options struct {
	// Writers is how many batches may be written at once (default 4).
	Writers int
	// MaxBatch bounds one batch (default 128).
	MaxBatch int
	// Queue bounds the items waiting for a writer (default 8×MaxBatch).
	Queue int
	// Block makes Do wait for room (up to the item's context) when the
	// queue is full, instead of failing with ErrBusy: for writes whose
	// work already happened (an attempt was made) and must not be dropped.
	Block bool
	// WriteTimeout bounds one batch's write, which runs detached from the
	// callers' contexts (default 15 s).
	WriteTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 128
	}
	if o.Queue <= 0 {
		o.Queue = 8 * o.MaxBatch
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 15 * time.Second
	}
}

// WriteFunc writes one batch: for each in[i] it sets out[i] or errs[i].
// ctx carries the first item's values (request id, trace) but not its
// cancellation, and ends after WriteTimeout.
type WriteFunc[T, R any] func(ctx context.Context, in []T, out []R, errs []error)

// Batcher is group commit: concurrent Do calls are gathered into batches
// that a few writer goroutines write with one WriteFunc call each. Under
// load, batches form by themselves (a writer takes whatever queued while
// it was busy); idle, a lone item is written at once — no timer, no added
// latency. Safe for concurrent use.
type Batcher[T, R any] struct {
	opts  Options
	write WriteFunc[T, R]
	queue chan *item[T, R]
	wg    sync.WaitGroup

	mu     sync.RWMutex
	closed bool // guarded by mu: Do after Close fails instead of panicking
}

type item[T, R any] struct {
	ctx  context.Context
	in   T
	out  R
	err  error
	done chan struct{}
}

// NewBatcher starts a Batcher's writers. Stop them with Close.
func New[T, R any](o Options, write WriteFunc[T, R]) *Batcher[T, R] {
	o.defaults()
	b := &Batcher[T, R]{opts: o, write: write, queue: make(chan *item[T, R], o.Queue)}
	for range o.Writers {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

// Do queues v and waits until its batch is written, returning its result.
// It fails at once with ErrBusy when the queue is full (unless Block),
// with ErrClosed after Close, and with ctx's error when ctx ends before a
// writer took the item (then nothing of it is written). Once a writer has
// taken it, Do waits for the write, which no longer depends on ctx.
func (b *Batcher[T, R]) Do(ctx context.Context, v T) (R, error) {
	it := &item[T, R]{ctx: ctx, in: v, done: make(chan struct{})}
	var zero R
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, ErrClosed
	}
	select {
	case b.queue <- it:
	default:
		if !b.opts.Block {
			b.mu.RUnlock()
			return zero, ErrBusy
		}
		select {
		case b.queue <- it:
		case <-ctx.Done():
			b.mu.RUnlock()
			return zero, ctx.Err()
		}
	}
	b.mu.RUnlock()
	<-it.done
	return it.out, it.err
}

// Offer queues v to be written without waiting for it, for writes that are
// only informative: it reports false, dropping v, when the queue is full
// or the Batcher is closed. The write's outcome is not reported.
func (b *Batcher[T, R]) Offer(ctx context.Context, v T) bool {
	it := &item[T, R]{ctx: context.WithoutCancel(ctx), in: v}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false
	}
	select {
	case b.queue <- it:
		return true
	default:
		return false
	}
}

// Len returns how many items wait for a writer.
func (b *Batcher[T, R]) Len() int { return len(b.queue) }

// Close stops the writers once everything queued is written; later calls
// to Do fail with ErrClosed. It waits for the writers.
func (b *Batcher[T, R]) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Batcher[T, R]) loop() {
	defer b.wg.Done()
	batch := make([]*item[T, R], 0, b.opts.MaxBatch)
	for first := range b.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < b.opts.MaxBatch {
			select {
			case it, ok := <-b.queue:
				if !ok {
					break gather
				}
				batch = append(batch, it)
			default:
				break gather
			}
		}
		b.run(batch)
	}
}

// run writes the live items of batch; an item whose context ended while it
// waited is answered with that error and not written.
func (b *Batcher[T, R]) run(batch []*item[T, R]) {
	live := batch[:0:0]
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			it.finish()
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	in := make([]T, len(live))
	for i, it := range live {
		in[i] = it.in
	}
	out, errs := make([]R, len(live)), make([]error, len(live))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), b.opts.WriteTimeout)
	defer cancel()
	b.write(ctx, in, out, errs)
	for i, it := range live {
		it.out, it.err = out[i], errs[i]
		it.finish()
	}
}

// finish tells the waiting caller, if any (Offer's items have none).
func (it *item[T, R]) finish() {
	if it.done != nil {
		close(it.done)
	}
}
