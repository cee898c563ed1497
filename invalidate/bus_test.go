package invalidate_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/invalidate"
)

// recorder collects the events a subscriber handled.
type recorder struct {
	mu  sync.Mutex
	got []invalidate.Event
}

func (r *recorder) handle(e invalidate.Event) { r.mu.Lock(); r.got = append(r.got, e); r.mu.Unlock() }

func (r *recorder) has(want invalidate.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.got {
		if e == want {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func client(t *testing.T, name string) *redis.Client {
	opt, err := redis.ParseURL(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = name
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBus_PublishReachesOtherProcesses: two Buses on separate clients (as
// two processes would have) and a third on another queue; an event
// published on one reaches the other within a second, and nothing leaks
// across queues. A subscriber whose connection is killed resubscribes and
// is told to drop everything.
func TestBus_PublishReachesOtherProcesses(t *testing.T) {
	_, ns := redistest.Namespace(t)
	log := slog.New(slog.DiscardHandler)
	admin := client(t, "")
	pub := invalidate.New(client(t, ""), ns, log)
	sub := invalidate.New(client(t, "sub_"+ns), ns, log)
	other := invalidate.New(client(t, ""), ns+"_other", log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got, gotOther recorder
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sub.Subscribe(ctx, got.handle) }()
	go func() { defer wg.Done(); other.Subscribe(ctx, gotOther.handle) }()
	waitFor(t, time.Second, "the subscription", func() bool { return got.has(invalidate.Event{Kind: invalidate.KindAll}) })
	waitFor(t, time.Second, "the other subscription", func() bool { return gotOther.has(invalidate.Event{Kind: invalidate.KindAll}) })

	revoked := invalidate.Event{Kind: invalidate.KindAPIKey, TenantID: "org_1", ID: "key_9"}
	if err := pub.Publish(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "the revocation", func() bool { return got.has(revoked) })
	// Redis delivers what it publishes in order: once a marker published
	// on the other queue after the revocation has reached its subscriber,
	// the revocation would have too, had it crossed.
	marker := invalidate.Event{Kind: invalidate.KindApplication, TenantID: "org_1", ID: "app_marker"}
	if err := other.Publish(ctx, marker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "the other queue's marker", func() bool { return gotOther.has(marker) })
	if gotOther.has(revoked) {
		t.Error("an event crossed to another queue's subscribers")
	}

	// The server drops the subscriber's connection: it comes back and
	// first hears KindAll again, then new events.
	got.mu.Lock()
	got.got = nil
	got.mu.Unlock()
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name=sub_"+ns+" ") && strings.Contains(line, "cmd=subscribe") {
			id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
			if err := admin.ClientKillByFilter(ctx, "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("found %d subscriber connections to kill, want 1", killed)
	}
	waitFor(t, 5*time.Second, "the resubscription", func() bool { return got.has(invalidate.Event{Kind: invalidate.KindAll}) })
	suspended := invalidate.Event{Kind: invalidate.KindTenant, TenantID: "org_1"}
	if err := pub.Publish(ctx, suspended); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "the suspension after reconnecting", func() bool { return got.has(suspended) })
	cancel()
	wg.Wait()
}
