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
	// items keeps Do's items (each with its channel) for the next Do: two
	// allocations per call otherwise, on every message's path.
	items sync.Pool

	mu     sync.RWMutex
	closed bool // guarded by mu: Do after Close fails instead of panicking
}

type item[T, R any] struct {
	ctx context.Context
	in  T
	out R
	err error
	// done receives one value when the item is answered (capacity 1, so
	// the writer never waits, and the item can be used again); nil for
	// Offer's items, which no one waits for.
	done chan struct{}
}

// NewBatcher starts a Batcher's writers. Stop them with Close.
func New[T, R any](o Options, write WriteFunc[T, R]) *Batcher[T, R] {
	o.defaults()
	b := &Batcher[T, R]{opts: o, write: write, queue: make(chan *item[T, R], o.Queue)}
	b.items.New = func() any { return &item[T, R]{done: make(chan struct{}, 1)} }
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
	it := b.items.Get().(*item[T, R])
	it.ctx, it.in = ctx, v
	var zero R
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		b.release(it)
		return zero, ErrClosed
	}
	select {
	case b.queue <- it:
	default:
		if !b.opts.Block {
			b.mu.RUnlock()
			b.release(it)
			return zero, ErrBusy
		}
		select {
		case b.queue <- it:
		case <-ctx.Done():
			b.mu.RUnlock()
			b.release(it)
			return zero, ctx.Err()
		}
	}
	b.mu.RUnlock()
	<-it.done
	out, err := it.out, it.err
	b.release(it)
	return out, err
}

// release clears an item of Do's (its values are not kept alive) and
// keeps it for another call. The writer no longer holds it: it answered
// it (or it was never queued).
func (b *Batcher[T, R]) release(it *item[T, R]) {
	var zeroIn T
	var zeroOut R
	it.ctx, it.in, it.out, it.err = nil, zeroIn, zeroOut, nil
	b.items.Put(it)
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
	var w writer[T, R]
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
		b.run(&w, batch)
		clear(batch) // answered items go back to Do's pool: hold none
	}
}

// writer is one writer goroutine's reusable slices: a batch's live items,
// and the in, out and errs of its write (cleared after each write, so that
// they keep no value alive).
type writer[T, R any] struct {
	live []*item[T, R]
	in   []T
	out  []R
	errs []error
}

// run writes the live items of batch; an item whose context ended while it
// waited is answered with that error and not written.
func (b *Batcher[T, R]) run(w *writer[T, R], batch []*item[T, R]) {
	live := w.live[:0]
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			it.finish()
			continue
		}
		live = append(live, it)
	}
	w.live = live
	defer clear(live)
	if len(live) == 0 {
		return
	}
	n := len(live)
	if cap(w.in) < n {
		w.in, w.out, w.errs = make([]T, n, b.opts.MaxBatch), make([]R, n, b.opts.MaxBatch), make([]error, n, b.opts.MaxBatch)
	}
	in, out, errs := w.in[:n], w.out[:n], w.errs[:n]
	defer func() { clear(in); clear(out); clear(errs) }()
	for i, it := range live {
		in[i] = it.in
	}
	// The first item's values (request id, trace) without its deadline;
	// captured before any item is answered and reused.
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
		it.done <- struct{}{}
	}
}
