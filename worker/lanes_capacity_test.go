package worker_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	models "github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/worker"
)

// capacityReceiver serves up to capacity requests at once, each taking
// svc, and answers 503 at once beyond that — a healthy server with a
// fixed pool of workers.
type capacityReceiver struct {
	*httptest.Server
	mu                 sync.Mutex
	busy, capacity     int
	served, refused    int
	delivered          map[string]bool
	first, lastSuccess time.Time
}

func newCapacityReceiver(t testing.TB, capacity int, svc time.Duration) *capacityReceiver {
	cr := &capacityReceiver{capacity: capacity, delivered: map[string]bool{}}
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		cr.mu.Lock()
		if cr.first.IsZero() {
			cr.first = time.Now()
		}
		if cr.busy >= cr.capacity {
			cr.refused++
			cr.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		cr.busy++
		cr.mu.Unlock()
		select {
		case <-time.After(svc): // the work
		case <-r.Context().Done():
		}
		cr.mu.Lock()
		cr.busy--
		cr.served++
		cr.delivered[r.Header.Get("webhook-id")] = true
		cr.lastSuccess = time.Now()
		cr.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *capacityReceiver) stats() (delivered, served, refused int, span time.Duration) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return len(cr.delivered), cr.served, cr.refused, cr.lastSuccess.Sub(cr.first)
}

// capacityTrial is one run of the second trial at production
// defaults (timeout, retry schedule, breaker): a receiver that serves 4
// requests at once, each taking svc, and refuses the rest with 503 gets a
// burst of messages. It returns how long the messages took to arrive
// (first request to last success), against the receiver's own capacity
// time, and the share of requests refused.
type capacityTrial struct {
	name     string
	svc      time.Duration
	messages int
}

var capacityTrials = []capacityTrial{
	{"500ms", 500 * time.Millisecond, 120},
	{"2s", 2 * time.Second, 60},
}

const trialCapacity = 4

func (tc capacityTrial) ideal() time.Duration {
	return time.Duration(tc.messages/trialCapacity) * tc.svc
}

func (tc capacityTrial) run(tb testing.TB) (span time.Duration, refused, requests int) {
	_, c, appID := setup(tb, worker.Options{AllowPrivateTargets: true})
	rc := newCapacityReceiver(tb, trialCapacity, tc.svc)
	if _, err := c.Endpoint.Create(context.Background(), appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		tb.Fatal(err)
	}
	sendMessages(tb, c, appID, tc.messages, 8, nil)
	// A deadline for a wait, not a target: the target is the benchmark's.
	waitFor(tb, 10*tc.ideal(), "every message to arrive", func() bool {
		d, _, _, _ := rc.stats()
		return d == tc.messages
	})
	_, served, refused, span := rc.stats()
	return span, refused, served + refused
}

// TestLanes_CapacityReceiver: through a receiver that can hold 4 requests
// at once, every message arrives and few requests are refused — the
// endpoint's lane found the capacity and kept to it (the old shared queue
// had 91 % refused and lost messages to its own retries). How close to
// the receiver's own pace the messages arrive is a figure of time, so it
// is BenchmarkLanes_CapacityReceiver's (its targets: within 2× the
// capacity time at 500 ms a request, within 20 % at 2 s), logged here.
func TestLanes_CapacityReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("slow receivers skipped in -short mode")
	}
	t.Parallel()
	for _, tc := range capacityTrials {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			span, refused, requests := tc.run(t)
			share := float64(refused) / float64(requests)
			t.Logf("%d messages at %v each, capacity %d: all arrived in %.1f s (capacity time %.0f s); %d of %d requests refused (%.0f %%)",
				tc.messages, tc.svc, trialCapacity, span.Seconds(), tc.ideal().Seconds(), refused, requests, 100*share)
			if share > 0.20 {
				t.Errorf("%.0f %% of requests refused, want at most 20 %%", 100*share)
			}
		})
	}
}

// BenchmarkLanes_CapacityReceiver runs the capacity trials and reports
// the time the messages took in capacity times (targets: ≤ 2 at 500 ms a
// request, ≤ 1.2 at 2 s) and the share of requests refused (≤ 20 %).
// Each iteration takes 20–40 s: run it with -benchtime 1x on a quiet
// machine, `make bench` does.
func BenchmarkLanes_CapacityReceiver(b *testing.B) {
	for _, tc := range capacityTrials {
		b.Run(tc.name, func(b *testing.B) {
			var ratio, share float64
			for range b.N {
				span, refused, requests := tc.run(b)
				ratio += span.Seconds() / tc.ideal().Seconds()
				share += float64(refused) / float64(requests)
			}
			b.ReportMetric(ratio/float64(b.N), "capacity-times")
			b.ReportMetric(100*share/float64(b.N), "%refused")
			b.ReportMetric(0, "ns/op")
		})
	}
}
