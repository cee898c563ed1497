package worker_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestDelivery_Throttle: an endpoint's throttleRate holds across the
// fleet; postponed deliveries are not failed, leave no attempt, and show
// when they will be tried.
func TestDelivery_Throttle(t *testing.T) {
	t.Parallel()
	_, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL, ThrottleRate: ptr(uint16(2))}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 7
	var msgs []*models.MessageOut
	for range n {
		msgs = append(msgs, send(t, c, appID, "a.b", nil))
	}
	// The API shows a throttled delivery's real next attempt, not the
	// past time it was first due.
	waitFor(t, 5*time.Second, "a throttled delivery to show a future nextAttempt", func() bool {
		for _, m := range msgs {
			dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, m.Id, nil)
			if err != nil || len(dests.Data) != 1 {
				continue
			}
			d := dests.Data[0]
			if d.Status == models.MESSAGESTATUS_PENDING && d.NextAttempt != nil && d.NextAttempt.After(time.Now()) {
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "all throttled deliveries", func() bool { return len(rc.requests()) >= n })
	got := rc.requests()
	perSecond := map[int64]int{}
	for _, r := range got {
		perSecond[r.At.Unix()]++
	}
	for sec, k := range perSecond {
		if k > 2 {
			t.Errorf("%d deliveries in second %d, throttle is 2/s", k, sec)
		}
	}
	if span := got[len(got)-1].At.Sub(got[0].At); span < 2*time.Second {
		t.Errorf("%d deliveries at 2/s took %v", n, span)
	}
	for _, m := range msgs {
		// The receiver sees a request before its attempt is committed.
		waitFor(t, 5*time.Second, "the attempt of "+m.Id, func() bool { return len(attemptsOf(t, c, appID, m.Id)) > 0 })
		if at := attemptsOf(t, c, appID, m.Id); len(at) != 1 || at[0].Status != models.MESSAGESTATUS_SUCCESS {
			t.Errorf("message %s: %d attempts; throttling must not record attempts", m.Id, len(at))
		}
	}
}

// TestDelivery_CircuitBreaker runs the breaker at its production numbers
// against an endpoint answering 503 to everything. The test sets only the
// retry schedule, to production's first delay (5 s) for every retry, so
// that the run is short. Once at least 20 attempts over 5 distinct seconds
// have failed, the circuit opens: later deliveries wait without an
// attempt, and the API shows their real next attempt time, not a past
// one. After the cooldown (capped by the 5 s retry delay) probes go; once
// the receiver answers again they close the circuit and everything is
// delivered.
func TestDelivery_CircuitBreaker(t *testing.T) {
	t.Parallel()
	sched := []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	env, c, appID := setup(t, worker.Options{RetrySchedule: sched})
	var healthy atomic.Bool
	rc := newReceiver(t, func(string, int, *http.Request) int {
		if healthy.Load() {
			return 200
		}
		return 503
	})
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*models.MessageOut
	for range 30 { // 30 messages over 7.5 s
		msgs = append(msgs, send(t, c, appID, "a.b", nil))
		time.Sleep(250 * time.Millisecond)
		if env.Worker.OpenCircuits() == 1 {
			break
		}
	}
	waitFor(t, 5*time.Second, "the circuit to open", func() bool { return env.Worker.OpenCircuits() == 1 })
	opened := len(rc.requests())
	if opened < 20 {
		t.Fatalf("the circuit opened after %d requests, minimum volume 20", opened)
	}
	// New messages wait; the receiver hears nothing of them.
	var held []*models.MessageOut
	for range 10 {
		held = append(held, send(t, c, appID, "a.b", nil))
	}
	// Wait until the worker has dealt with every held delivery: each is
	// postponed past the moment it was sent (its first next attempt is
	// its creation time).
	checked := time.Now()
	waitFor(t, 10*time.Second, "the worker to postpone every held delivery", func() bool {
		for _, m := range held {
			dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, m.Id, nil)
			if err != nil || len(dests.Data) != 1 || dests.Data[0].NextAttempt == nil || !dests.Data[0].NextAttempt.After(checked) {
				return false
			}
		}
		return true
	})
	if n := len(rc.requests()); n > opened {
		t.Errorf("%d requests reached the endpoint while its circuit was open", n-opened)
	}
	for _, m := range held {
		dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, m.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(dests.Data) != 1 || dests.Data[0].Id != ep.Id {
			t.Fatalf("destinations of %s: %+v", m.Id, dests.Data)
		}
		d := dests.Data[0]
		if d.Status != models.MESSAGESTATUS_PENDING || d.NextAttempt == nil || !d.NextAttempt.After(checked) {
			t.Errorf("a delivery held by the open circuit: status %v, nextAttempt %v; want pending, after %v",
				d.Status, d.NextAttempt, checked.Format(time.RFC3339Nano))
		}
		if at := attemptsOf(t, c, appID, m.Id); len(at) != 0 {
			t.Errorf("a held delivery has %d attempts on record", len(at))
		}
	}
	// Every request is on record; postponements are not.
	var recorded int64
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if int(recorded) != len(rc.requests()) {
		t.Errorf("%d attempts recorded for %d requests", recorded, len(rc.requests()))
	}
	// After the cooldown, probes go; the receiver has recovered.
	healthy.Store(true)
	waitFor(t, 10*time.Second, "a half-open probe", func() bool { return len(rc.requests()) > opened })
	all := append(msgs, held...)
	waitFor(t, 30*time.Second, "every message delivered after the endpoint recovered", func() bool {
		var n int
		err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 0`).Scan(&n)
		return err == nil && n == len(all)
	})
	waitFor(t, 5*time.Second, "the circuit to close", func() bool { return env.Worker.OpenCircuits() == 0 })
	t.Logf("circuit opened after %d requests; %d messages, %d requests in all", opened, len(all), len(rc.requests()))
}

// TestDelivery_DisablesFailingEndpoint: an endpoint failing for longer
// than HOOKLINE_DISABLE_AFTER is disabled; later messages skip it.
func TestDelivery_DisablesFailingEndpoint(t *testing.T) {
	t.Parallel()
	sched := make([]time.Duration, 30)
	for i := range sched {
		sched[i] = 100 * time.Millisecond
	}
	// Retries every 100 ms (fast polling) and disabling after 500 ms, so the
	// test is short.
	env, c, appID := setup(t, testenv.FastPolling(worker.Options{RetrySchedule: sched, DisableAfter: 500 * time.Millisecond}))
	rc := newReceiver(t, func(string, int, *http.Request) int { return 500 })
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "the endpoint to be disabled", func() bool {
		e, err := c.Endpoint.Get(ctx, appID, ep.Id)
		return err == nil && e.Disabled != nil && *e.Disabled
	})
	msgs, _ := c.MessageAttempt.ListAttemptedMessages(ctx, appID, ep.Id, nil)
	if len(msgs.Data) != 1 || msgs.Data[0].Status != models.MESSAGESTATUS_FAIL {
		t.Errorf("the delivery that tripped the disable: %+v", msgs.Data)
	}
	before := len(rc.requests())
	later := send(t, c, appID, "a.b", nil)
	// Deliveries are stored with their message: a disabled endpoint has
	// none, and nothing is left to send anywhere.
	if dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, later.Id, nil); err != nil || len(dests.Data) != 0 {
		t.Errorf("a message sent after the endpoint was disabled has destinations %+v (%v); want none", dests, err)
	}
	env.WaitSettled(t, 10*time.Second)
	if after := len(rc.requests()); after != before {
		t.Errorf("a disabled endpoint got %d more requests", after-before)
	}
	// Not disabled early: the attempts span at least DisableAfter (how many
	// fit in it depends on the machine's load, not on the rule).
	if at := attemptsOf(t, c, appID, m.Id); len(at) < 2 {
		t.Errorf("only %d attempts before disabling", len(at))
	} else if span := at[len(at)-1].Timestamp.Sub(at[0].Timestamp); span < 500*time.Millisecond {
		t.Errorf("disabled after failing for %v (%d attempts), before the 500 ms it must wait", span, len(at))
	}
}

// TestWorker_GracefulShutdown: SIGTERM-style shutdown lets an in-flight
// delivery finish (and records it); a delivery that outlives the shutdown
// timeout goes back to the queue and is delivered by the next worker.
func TestWorker_GracefulShutdown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		stall   time.Duration // 0: until the worker has shut down
		timeout time.Duration
	}{
		{"FinishesInFlight", 800 * time.Millisecond, 3 * time.Second},
		{"RequeuesWhenTooSlow", 0, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wo := worker.Options{ShutdownTimeout: tc.timeout, DeliveryTimeout: 5 * time.Second}
			env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: wo})
			// The too-slow request is held until Shutdown has returned (or
			// the worker gives up on it), not for a fixed time: on a loaded
			// machine a fixed stall can end before the shutdown begins.
			shutDown := make(chan struct{})
			rc := newReceiver(t, func(_ string, n int, r *http.Request) int {
				if n == 1 {
					if tc.stall > 0 {
						time.Sleep(tc.stall)
					} else {
						select {
						case <-shutDown:
						case <-r.Context().Done():
						}
					}
				}
				return 200
			})
			ctx := context.Background()
			app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
			ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: rc.URL})
			if err != nil {
				t.Fatal(err)
			}
			m, ids, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{"x":1}`)})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Client.EnqueueDeliveries(ctx, env.TenantID, ep.ID, ids); err != nil {
				t.Fatal(err)
			}
			// Wait until the receiver holds the request, then shut down.
			waitFor(t, 5*time.Second, "the request to be in flight", func() bool {
				rc.mu.Lock()
				defer rc.mu.Unlock()
				return rc.counts[m.ID] == 1
			})
			env.Worker.Shutdown()
			close(shutDown)
			job, err := env.Store.LoadDelivery(ctx, env.TenantID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if tc.stall > 0 {
				if job.Status != tenants.StatusSuccess {
					t.Fatalf("in-flight delivery after shutdown: status %v, want success", job.Status)
				}
				return
			}
			// Too slow: not recorded as delivered; the next worker delivers it.
			if job.Status == tenants.StatusSuccess {
				t.Fatal("an aborted delivery was recorded as a success")
			}
			deliveredByAnotherWorker(t, env, ids[0], 15*time.Second)
			if n := len(rc.requests()); n > 2 {
				t.Errorf("the receiver got %d requests, want at most 2 (the aborted one and the retry)", n)
			}
		})
	}
}

// TestPostponeDeliveries: a postponement moves a pending delivery's next
// attempt, and leaves alone one that has been tried since (or finished).
func TestPostponeDeliveries(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
	if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/"}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 3 {
		_, d, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d...)
	}
	if err := env.Store.SetDeliveryStatus(ctx, env.TenantID, ids[2], tenants.StatusCanceled); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	err := env.Store.PostponeDeliveries(ctx, []tenants.Postponement{
		{TenantID: env.TenantID, DeliveryID: ids[0], Attempts: 0, At: at},
		{TenantID: env.TenantID, DeliveryID: ids[1], Attempts: 1, At: at}, // tried since
		{TenantID: env.TenantID, DeliveryID: ids[2], Attempts: 0, At: at}, // finished
		{TenantID: "org_other", DeliveryID: ids[0] + 100, Attempts: 0, At: at},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false} {
		j, err := env.Store.LoadDelivery(ctx, env.TenantID, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		moved := j.NextAttemptAt != nil && j.NextAttemptAt.Equal(at)
		if moved != want {
			t.Errorf("delivery %d: next attempt %v, moved = %v, want %v", i, j.NextAttemptAt, moved, want)
		}
	}
}
