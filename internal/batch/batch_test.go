package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatcher_GroupsAndAnswersEach: concurrent items share writes, each
// caller gets its own result, and nothing is lost.
func TestBatcher_GroupsAndAnswersEach(t *testing.T) {
	var writes atomic.Int32
	release, holding := make(chan struct{}), make(chan struct{})
	b := New(Options{Writers: 1, MaxBatch: 64}, func(_ context.Context, in []int, out []int, errs []error) {
		if writes.Add(1) == 1 {
			close(holding)
			<-release // hold the first write so the rest gather
		}
		for i, v := range in {
			if v%7 == 0 {
				errs[i] = errors.New("seven")
				continue
			}
			out[i] = v * 2
		}
	})
	defer b.Close()
	var wg sync.WaitGroup
	got := make([]int, 50)
	gotErr := make([]error, 50)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], gotErr[i] = b.Do(context.Background(), i) }()
		if i == 0 {
			<-holding // the writer has taken item 0 alone
		}
	}
	for b.Len() < 49 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i := range got {
		if i%7 == 0 {
			if gotErr[i] == nil {
				t.Errorf("item %d: no error", i)
			}
			continue
		}
		if gotErr[i] != nil || got[i] != 2*i {
			t.Errorf("item %d = %d, %v", i, got[i], gotErr[i])
		}
	}
	if n := writes.Load(); n != 2 {
		t.Errorf("%d writes for 50 items queued behind one, want 2", n)
	}
}

// TestBatcher_BoundsAndDeadlines: a full queue answers ErrBusy at once
// (or waits, with Block); an item whose context ended while queued is not
// written; Do after Close is ErrClosed.
func TestBatcher_BoundsAndDeadlines(t *testing.T) {
	var written sync.Map
	release := make(chan struct{})
	var once sync.Once
	holding := make(chan struct{})
	write := func(_ context.Context, in []string, _ []struct{}, _ []error) {
		once.Do(func() { close(holding); <-release })
		for _, v := range in {
			written.Store(v, true)
		}
	}
	b := New(Options{Writers: 1, MaxBatch: 1, Queue: 1}, write)
	go func() { _, _ = b.Do(context.Background(), "writing") }()
	<-holding // the writer has taken "writing" and holds it
	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() { _, err := b.Do(ctx, "expired"); queued <- err }()
	for b.Len() < 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.Do(context.Background(), "refused"); !errors.Is(err, ErrBusy) {
		t.Errorf("full queue: %v, want ErrBusy", err)
	}
	cancel()
	close(release)
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("item canceled while queued: %v", err)
	}
	b.Close()
	if _, ok := written.Load("expired"); ok {
		t.Error("an item whose context ended while queued was written")
	}
	if _, ok := written.Load("refused"); ok {
		t.Error("an item refused as busy was written")
	}
	if _, err := b.Do(context.Background(), "late"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}

	// Block waits for room instead.
	blocking := New(Options{Writers: 1, MaxBatch: 1, Queue: 1, Block: true}, func(_ context.Context, in []int, out []int, _ []error) {
		time.Sleep(5 * time.Millisecond) // a slow writer (its work, not a wait), so that callers must block
		copy(out, in)
	})
	defer blocking.Close()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := blocking.Do(context.Background(), i); err != nil || v != i {
				t.Errorf("blocking Do(%d) = %d, %v", i, v, err)
			}
		}()
	}
	wg.Wait()
}
