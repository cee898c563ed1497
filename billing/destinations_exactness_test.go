package billing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// fifoReceiver is a FIFO endpoint that refuses the first try of every
// batch (so each is sent again) and records, per batch id, the messages
// of the batch it accepted.
type fifoReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	tries    map[string]int
	accepted map[string][]string // batch id -> message ids
	msgs     map[string]int      // message id -> times accepted
}

func newFIFOReceiver(t *testing.T) *fifoReceiver {
	f := &fifoReceiver{tries: map[string]int{}, accepted: map[string][]string{}, msgs: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		batch := r.Header.Get("webhook-id")
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tries[batch]++
		if f.tries[batch] == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var events []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &events); err != nil || len(events) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, again := f.accepted[batch]; !again {
			for _, e := range events {
				f.accepted[batch] = append(f.accepted[batch], e.ID)
				f.msgs[e.ID]++
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fifoReceiver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

// TestMetering_DestinationsExact sends messages through the real stack to
// an endpoint, a FIFO destination whose receiver refuses every batch's
// first try, a polling endpoint read by two consumers (then read again
// after a seek back, and through the client-held iterator) and a polling
// endpoint filtered to one event type. Usage must equal, exactly, one per
// message and target: each message the endpoint got, each message in a
// batch the FIFO receiver accepted (a batch of k counts k, once, however
// many tries), and each message a polling endpoint handed out (once per
// endpoint, however many reads) — before any rollup, after a provisional
// one, after the FIFO destination is deleted, and in the final hours.
// Another tenant's polls count for that tenant only.
func TestMetering_DestinationsExact(t *testing.T) {
	t.Parallel()
	const n = 60
	c := newClock(time.Now())
	sched := make([]time.Duration, 10)
	for i := range sched {
		sched[i] = 20 * time.Millisecond
	}
	env, svc := billingEnv(t, testenv.Options{
		Worker:        true,
		WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: sched, Breaker: worker.BreakerOptions{Disabled: true}}),
	}, c, billing.Options{})
	ctx := context.Background()
	ok := newReceiver(t, func(*receiver, string, int) int { return 200 })
	fifo := newFIFOReceiver(t)
	app := createApp(t, env)
	for _, et := range []string{"order.paid", "order.shipped"} {
		if code, body := do(t, env, "POST", "/api/v1/event-type", env.APIKey, []byte(`{"name":"`+et+`","description":"x"}`)); code != 201 {
			t.Fatalf("create event type: %d %s", code, body)
		}
	}
	if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/endpoint", env.APIKey, []byte(`{"url":"`+ok.URL+`/hook"}`)); code != 201 {
		t.Fatalf("create endpoint: %d %s", code, body)
	}
	dest := func(app, key, body string) string {
		t.Helper()
		code, out := do(t, env, "POST", "/api/v1/app/"+app+"/destination", key, []byte(body))
		if code != 201 {
			t.Fatalf("create destination %s: %d %s", body, code, out)
		}
		return decode[struct{ ID string }](t, out).ID
	}
	fifoID := dest(app, env.APIKey, `{"type":"fifoEndpoint","config":{"url":"`+fifo.URL+`/fifo"},"batchSize":25,"maxWaitSecs":1}`)
	poll := dest(app, env.APIKey, `{"type":"pollingEndpoint"}`)
	shipped := dest(app, env.APIKey, `{"type":"pollingEndpoint","eventTypes":["order.shipped"]}`)
	_, keyB, _ := env.NewTenant("B")
	code, body := do(t, env, "POST", "/api/v1/app", keyB, []byte(`{"name":"b"}`))
	if code != 201 {
		t.Fatalf("create B's app: %d %s", code, body)
	}
	appB := decode[struct{ ID string }](t, body).ID
	pollB := dest(appB, keyB, `{"type":"pollingEndpoint"}`)

	for i := range n {
		et := []string{"order.paid", "order.shipped"}[i%2]
		if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/msg", env.APIKey, []byte(`{"eventType":"`+et+`","payload":{"k":1}}`)); code != 202 {
			t.Fatalf("create message: %d %s", code, body)
		}
		if i < 5 {
			if code, body := do(t, env, "POST", "/api/v1/app/"+appB+"/msg", keyB, []byte(`{"eventType":"b","payload":{}}`)); code != 202 {
				t.Fatalf("create B's message: %d %s", code, body)
			}
		}
	}

	type page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Iterator string `json:"iterator"`
		Done     bool   `json:"done"`
	}
	// read polls a consumer (or, with consumer empty, the client-held
	// iterator from the start) in pages of limit until it has want
	// messages; a caught-up poll waits for the snapshot horizon.
	read := func(app, key, sink, consumer string, limit, want int) int {
		t.Helper()
		got, iter := 0, ""
		waitFor(t, 30*time.Second, "the polls to read every message", func() bool {
			path := "/api/v1/app/" + app + "/poller/" + sink
			if consumer != "" {
				path += "/consumer/" + consumer
			}
			path += "?limit=" + itoa(limit)
			if iter != "" && consumer == "" {
				path += "&iterator=" + url.QueryEscape(iter)
			}
			code, body := do(t, env, "GET", path, key, nil)
			if code != 200 {
				t.Fatalf("poll %s: %d %s", path, code, body)
			}
			p := decode[page](t, body)
			got += len(p.Data)
			iter = p.Iterator
			return got >= want
		})
		return got
	}
	read(app, env.APIKey, poll, "one", 7, n)
	read(app, env.APIKey, poll, "two", 250, n)
	if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/poller/"+poll+"/consumer/one/seek", env.APIKey,
		[]byte(`{"after":"`+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+`"}`)); code != 200 {
		t.Fatalf("seek: %d %s", code, body)
	}
	read(app, env.APIKey, poll, "one", 50, n)
	read(app, env.APIKey, poll, "", 250, n)
	read(app, env.APIKey, shipped, "s", 10, n/2)
	read(appB, keyB, pollB, "b", 250, 5)
	waitFor(t, 60*time.Second, "the FIFO receiver to accept every message", func() bool { return fifo.count() == n })
	pending := func() int {
		var p int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 1`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor(t, 60*time.Second, "every endpoint delivery to finish", func() bool { return pending() == 0 })

	// A batch of k accepted messages is k billable deliveries, recorded
	// once although every batch was tried twice.
	fifo.mu.Lock()
	for id, msgs := range fifo.msgs {
		if msgs != 1 {
			t.Errorf("message %s accepted %d times", id, msgs)
		}
	}
	batches := map[string]int{}
	for b, ids := range fifo.accepted {
		batches[b] = len(ids)
		if fifo.tries[b] < 2 {
			t.Errorf("batch %s was tried %d times; the receiver refuses every first try", b, fifo.tries[b])
		}
	}
	fifo.mu.Unlock()
	rows, err := env.SQL.Query(ctx, `SELECT batch_id, messages FROM destination_usage WHERE destination_id = $1`, fifoID)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for rows.Next() {
		var (
			b string
			k int
		)
		if err := rows.Scan(&b, &k); err != nil {
			t.Fatal(err)
		}
		recorded[b] += k
	}
	rows.Close()
	if d := diff(batches, recorded); d != "" {
		t.Errorf("billed per FIFO batch differs from what the receiver accepted:\n%s", d)
	}

	want := int64(n + n + n + n/2) // endpoint, FIFO, polling, filtered polling
	usage := func() int64 {
		t.Helper()
		u, err := svc.Usage(ctx, env.TenantID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return u.Period.Deliveries
	}
	if got := usage(); got != want {
		t.Errorf("usage before any rollup = %d, want %d", got, want)
	}
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := usage(); got != want {
		t.Errorf("usage after a provisional rollup = %d, want %d", got, want)
	}
	// Deleting the FIFO destination does not take back what it delivered.
	if code, body := do(t, env, "DELETE", "/api/v1/app/"+app+"/destination/"+fifoID, env.APIKey, nil); code != 204 {
		t.Fatalf("delete destination: %d %s", code, body)
	}
	if got := usage(); got != want {
		t.Errorf("usage after the FIFO destination was deleted = %d, want %d", got, want)
	}
	c.set(time.Now().Add(2 * time.Hour))
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	hours, err := svc.Store().HourlyUsage(ctx, env.TenantID, time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range hours {
		if !r.Final {
			t.Errorf("hour %s not final two hours later", r.Hour)
		}
		sum += r.Deliveries
	}
	if sum != want {
		t.Errorf("usage_hourly sums to %d, want %d", sum, want)
	}
	audit, err := svc.Store().Audit(ctx, env.TenantID, time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour))
	if err != nil || len(audit) != 0 {
		t.Errorf("audit = %+v, %v; want no difference", audit, err)
	}
	c.set(time.Now())
	uB, err := svc.Usage(ctx, decodeTenant(t, env, keyB), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if uB.Period.Deliveries != 5 {
		t.Errorf("tenant B's usage = %d, want 5 (its polled messages)", uB.Period.Deliveries)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
