package billing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// receiver is an endpoint that answers by a script and records, per
// message (webhook-id), whether it ever answered 2xx.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	attempts map[string]int
	ok       map[string]bool
	healthy  atomic.Bool
	// answer returns the status of attempt n (1-based) of message id.
	answer func(r *receiver, id string, n int) int
}

func newReceiver(t *testing.T, answer func(r *receiver, id string, n int) int) *receiver {
	rc := &receiver{attempts: map[string]int{}, ok: map[string]bool{}, answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		rc.mu.Lock()
		rc.attempts[id]++
		n := rc.attempts[id]
		rc.mu.Unlock()
		status := rc.answer(rc, id, n)
		if status < 300 {
			rc.mu.Lock()
			rc.ok[id] = true
			rc.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// succeeded returns the messages this receiver answered 2xx at least once.
func (rc *receiver) succeeded() map[string]bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]bool, len(rc.ok))
	for k := range rc.ok {
		out[k] = true
	}
	return out
}

// waitFor polls cond until it holds or d passes (polling for an outcome,
// never sleeping to assert timing).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

// TestMetering_ExactWithFailuresRetriesAndResends sends N messages to M
// endpoints through the real stack — one endpoint always answers, one fails
// every first attempt and is retried, one is down until its deliveries fail
// — then resends and recovers by hand. Usage must equal, exactly, the
// distinct message × endpoint pairs the scheduled deliveries got a 2xx
// for, as the receivers saw them: retries count once, failures and manual
// resends not at all.
func TestMetering_ExactWithFailuresRetriesAndResends(t *testing.T) {
	t.Parallel()
	const n = 8
	c := newClock(time.Now())
	env, svc := billingEnv(t, testenv.Options{
		Worker: true,
		// Retries in ms (FastRetries) so the run is short; the down endpoint
		// keeps being tried (breaker off).
		WorkerOptions: testenv.FastRetries(worker.Options{Breaker: worker.BreakerOptions{Disabled: true}}),
	}, c, billing.Options{})
	ctx := context.Background()
	ok := newReceiver(t, func(*receiver, string, int) int { return 200 })
	flaky := newReceiver(t, func(_ *receiver, _ string, n int) int {
		if n == 1 {
			return 500
		}
		return 204
	})
	down := newReceiver(t, func(r *receiver, _ string, _ int) int {
		if r.healthy.Load() {
			return 200
		}
		return 503
	})
	app := createApp(t, env)
	eps := map[string]string{}
	for name, rc := range map[string]*receiver{"ok": ok, "flaky": flaky, "down": down} {
		code, body := do(t, env, "POST", "/api/v1/app/"+app+"/endpoint", env.APIKey, []byte(`{"url":"`+rc.URL+`/hook"}`))
		if code != 201 {
			t.Fatalf("create endpoint: %d %s", code, body)
		}
		eps[name] = decode[struct{ ID string }](t, body).ID
	}
	// Another tenant's deliveries must not count for this one.
	_, keyB, _ := env.NewTenant("B")
	code, body := do(t, env, "POST", "/api/v1/app", keyB, []byte(`{"name":"b"}`))
	if code != 201 {
		t.Fatalf("create B's app: %d %s", code, body)
	}
	appB := decode[struct{ ID string }](t, body).ID
	if code, body := do(t, env, "POST", "/api/v1/app/"+appB+"/endpoint", keyB, []byte(`{"url":"`+ok.URL+`/b"}`)); code != 201 {
		t.Fatalf("create B's endpoint: %d %s", code, body)
	}

	var msgs []string
	for range n {
		code, body := do(t, env, "POST", "/api/v1/app/"+app+"/msg", env.APIKey, []byte(`{"eventType":"order.paid","payload":{"k":1}}`))
		if code != 202 {
			t.Fatalf("create message: %d %s", code, body)
		}
		msgs = append(msgs, decode[struct{ ID string }](t, body).ID)
		if code, body := do(t, env, "POST", "/api/v1/app/"+appB+"/msg", keyB, []byte(`{"eventType":"b","payload":{}}`)); code != 202 {
			t.Fatalf("create B's message: %d %s", code, body)
		}
	}
	pending := func() int {
		var p int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 1`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor(t, 60*time.Second, "every scheduled delivery to finish", func() bool { return pending() == 0 })

	// What the receivers saw: the billable pairs.
	want := int64(0)
	for _, rc := range []*receiver{ok, flaky, down} {
		for _, m := range msgs {
			if rc.succeeded()[m] {
				want++
			}
		}
	}
	if want != 2*n {
		t.Fatalf("the scenario went wrong: %d successful pairs, want %d (ok and flaky, each message)", want, 2*n)
	}
	var retried int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE endpoint_id = $1 AND attempts >= 2 AND status = 0`, eps["flaky"]).Scan(&retried); err != nil || retried != n {
		t.Fatalf("flaky endpoint: %d deliveries succeeded after a retry, %v; want %d", retried, err, n)
	}

	usage := func() int64 {
		t.Helper()
		u, err := svc.Usage(ctx, env.TenantID, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var days int64
		for _, d := range u.Days {
			days += d.Deliveries
		}
		if days != u.Period.Deliveries {
			t.Errorf("days add up to %d, the period says %d", days, u.Period.Deliveries)
		}
		return u.Period.Deliveries
	}
	if got := usage(); got != want {
		t.Errorf("usage before any rollup = %d, want %d", got, want)
	}
	if _, err := svc.Rollup(ctx); err != nil { // provisional: the hour is open
		t.Fatal(err)
	}
	if got := usage(); got != want {
		t.Errorf("usage after a provisional rollup = %d, want %d", got, want)
	}

	// By hand: resend three delivered messages to ok, bring down back
	// and recover everything it failed. All of it succeeds; none of it is
	// billed.
	for _, m := range msgs[:3] {
		if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/msg/"+m+"/endpoint/"+eps["ok"]+"/resend", env.APIKey, []byte(`{}`)); code != 202 {
			t.Fatalf("resend: %d %s", code, body)
		}
	}
	down.healthy.Store(true)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/endpoint/"+eps["down"]+"/recover", env.APIKey, []byte(`{"since":"`+since+`"}`)); code != 202 {
		t.Fatalf("recover: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the manual deliveries", func() bool { return pending() == 0 && len(down.succeeded()) == n })
	var manual int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND trigger = 1 AND status = 0`, env.TenantID).Scan(&manual); err != nil || manual != 3+n {
		t.Fatalf("manual deliveries succeeded = %d, %v; want %d", manual, err, 3+n)
	}
	if got := usage(); got != want {
		t.Errorf("usage after resends and recovery = %d, want %d", got, want)
	}

	// Once the hour is closed and rolled up for good, the table holds the
	// same number, final.
	c.set(time.Now().Add(2 * time.Hour))
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := svc.Store().HourlyUsage(ctx, env.TenantID, time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range rows {
		if !r.Final {
			t.Errorf("hour %s not final two hours later", r.Hour)
		}
		sum += r.Deliveries
	}
	if sum != want {
		t.Errorf("usage_hourly sums to %d, want %d", sum, want)
	}
	c.set(time.Now()) // back to the month of the deliveries, whatever the date
	if got := usage(); got != want {
		t.Errorf("usage after the final rollup = %d, want %d", got, want)
	}
	uB, err := svc.Usage(ctx, decodeTenant(t, env, keyB), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if uB.Period.Deliveries != n {
		t.Errorf("tenant B's usage = %d, want %d", uB.Period.Deliveries, n)
	}
	// And the API answers the same to the tenant.
	code, body = do(t, env, "GET", "/api/v1/usage", env.APIKey, nil)
	if code != 200 {
		t.Fatalf("GET /api/v1/usage: %d %s", code, body)
	}
	if got := decode[struct{ Period struct{ Deliveries int64 } }](t, body).Period.Deliveries; got != want {
		t.Errorf("GET /api/v1/usage period deliveries = %d, want %d", got, want)
	}
}

// decodeTenant returns the tenant an API key belongs to.
func decodeTenant(t *testing.T, env *testenv.Env, key string) string {
	t.Helper()
	p, err := env.Auth.Authenticate(context.Background(), "Bearer "+key)
	if err != nil {
		t.Fatal(err)
	}
	return p.TenantID
}
