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

func newCapacityReceiver(t *testing.T, capacity int, svc time.Duration) *capacityReceiver {
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

// TestLanes_CapacityReceiver is the second trial, at production
// defaults (timeout, retry schedule, breaker): a receiver that serves 4
// requests at once and refuses the rest with 503 gets a burst of messages.
// Its lane finds the capacity and keeps to it: few requests are refused
// (the old shared queue had 91 % refused and lost messages to its own
// retries), and the messages arrive close to the receiver's own pace —
// within 2× its capacity time at 500 ms a request, and within 20 % of it
// at 2 s a request, where a refusal's 5 s retry weighs less.
func TestLanes_CapacityReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("slow receivers skipped in -short mode")
	}
	t.Parallel()
	for _, tc := range []struct {
		name       string
		svc        time.Duration
		messages   int
		slack      float64 // the budget, in capacity times
		maxRefused float64
	}{
		{"500ms", 500 * time.Millisecond, 120, 2, 0.20},
		{"2s", 2 * time.Second, 60, 1.2, 0.20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c, appID := setup(t, worker.Options{AllowPrivateTargets: true})
			const capacity = 4
			rc := newCapacityReceiver(t, capacity, tc.svc)
			if _, err := c.Endpoint.Create(context.Background(), appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
				t.Fatal(err)
			}
			ideal := time.Duration(tc.messages/capacity) * tc.svc
			budget := time.Duration(float64(ideal) * tc.slack)
			sendMessages(t, c, appID, tc.messages, 8, nil)
			waitFor(t, budget+30*time.Second, "every message to arrive", func() bool {
				d, _, _, _ := rc.stats()
				return d == tc.messages
			})
			_, served, refused, span := rc.stats()
			share := float64(refused) / float64(served+refused)
			t.Logf("%d messages at %v each, capacity %d: all arrived in %.1f s (capacity time %.0f s); %d of %d requests refused (%.0f %%)",
				tc.messages, tc.svc, capacity, span.Seconds(), ideal.Seconds(), refused, served+refused, 100*share)
			if share > tc.maxRefused {
				t.Errorf("%.0f %% of requests refused, want at most %.0f %%", 100*share, 100*tc.maxRefused)
			}
			if span > budget {
				t.Errorf("the messages took %.1f s to arrive, want at most %.1f s (%.1f × the capacity time)", span.Seconds(), budget.Seconds(), tc.slack)
			}
		})
	}
}
