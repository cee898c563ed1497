package worker_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/testenv"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// TestDelivery_Throttle: an endpoint's throttleRate holds across the
// fleet; postponed deliveries are not failed and leave no attempt.
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
		if at := attemptsOf(t, c, appID, m.Id); len(at) != 1 || at[0].Status != models.MESSAGESTATUS_SUCCESS {
			t.Errorf("message %s: %d attempts; throttling must not record attempts", m.Id, len(at))
		}
	}
}

// TestDelivery_CircuitBreaker: after consecutive failures the endpoint's
// circuit opens; deliveries wait for the half-open probe instead of
// burning attempts.
func TestDelivery_CircuitBreaker(t *testing.T) {
	t.Parallel()
	sched := make([]time.Duration, 20)
	for i := range sched {
		sched[i] = 50 * time.Millisecond
	}
	env, c, appID := setup(t, worker.Options{RetrySchedule: sched, BreakerThreshold: 3, BreakerCooldown: 2 * time.Second, Concurrency: 4})
	rc := newReceiver(t, func(string, int, *http.Request) int { return 500 })
	ctx := context.Background()
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		send(t, c, appID, "a.b", nil)
	}
	waitFor(t, 5*time.Second, "the first failures", func() bool { return len(rc.requests()) >= 3 })
	time.Sleep(1500 * time.Millisecond) // inside the 2 s cooldown
	n := len(rc.requests())
	// At most the threshold plus what was already in flight (concurrency 4)
	// gets through; without the breaker 10 messages retried every 50 ms
	// would have made well over a hundred requests by now.
	if n > 3+4 {
		t.Errorf("%d requests reached a failing endpoint within the cooldown, want at most 7", n)
	}
	// Every request is on record; postponements are not.
	var total int
	for _, r := range rc.requests() {
		_ = r
		total++
	}
	var recorded int64
	if err := env.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM attempts`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if int(recorded) != total {
		t.Errorf("%d attempts recorded for %d requests", recorded, total)
	}
	// After the cooldown a probe goes through.
	waitFor(t, 5*time.Second, "the half-open probe", func() bool { return len(rc.requests()) > n })
}

// TestDelivery_DisablesFailingEndpoint: an endpoint failing for longer
// than HOOKLINE_DISABLE_AFTER is disabled; later messages skip it.
func TestDelivery_DisablesFailingEndpoint(t *testing.T) {
	t.Parallel()
	sched := make([]time.Duration, 30)
	for i := range sched {
		sched[i] = 100 * time.Millisecond
	}
	_, c, appID := setup(t, worker.Options{RetrySchedule: sched, DisableAfter: 500 * time.Millisecond})
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
	send(t, c, appID, "a.b", nil)
	time.Sleep(400 * time.Millisecond)
	if after := len(rc.requests()); after != before {
		t.Errorf("a disabled endpoint got %d more requests", after-before)
	}
	if n := len(attemptsOf(t, c, appID, m.Id)); n < 4 {
		t.Errorf("only %d attempts before disabling after 500 ms of 100 ms retries", n)
	}
}

// TestWorker_GracefulShutdown: SIGTERM-style shutdown lets an in-flight
// delivery finish (and records it); a delivery that outlives the shutdown
// timeout goes back to the queue and is delivered by the next worker.
func TestWorker_GracefulShutdown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		stall   time.Duration
		timeout time.Duration
	}{
		{"FinishesInFlight", 800 * time.Millisecond, 3 * time.Second},
		{"RequeuesWhenTooSlow", 1500 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wo := worker.Options{ShutdownTimeout: tc.timeout, DeliveryTimeout: 5 * time.Second}
			env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: wo})
			rc := newReceiver(t, func(_ string, n int, _ *http.Request) int {
				if n == 1 {
					time.Sleep(tc.stall)
				}
				return 200
			})
			ctx := context.Background()
			app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
			if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: rc.URL}); err != nil {
				t.Fatal(err)
			}
			m, ids, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{"x":1}`)})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Client.EnqueueDeliveries(ctx, env.TenantID, ids); err != nil {
				t.Fatal(err)
			}
			// Wait until the receiver holds the request, then shut down.
			waitFor(t, 5*time.Second, "the request to be in flight", func() bool {
				rc.mu.Lock()
				defer rc.mu.Unlock()
				return rc.counts[m.ID] == 1
			})
			env.Worker.Shutdown()
			job, err := env.Store.LoadDelivery(ctx, env.TenantID, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if tc.timeout > tc.stall {
				if job.Status != tenants.StatusSuccess {
					t.Fatalf("in-flight delivery after shutdown: status %v, want success", job.Status)
				}
				return
			}
			// Too slow: not recorded as delivered; the next worker delivers it.
			if job.Status == tenants.StatusSuccess {
				t.Fatal("an aborted delivery was recorded as a success")
			}
			next := worker.New(worker.Deps{Store: env.Store, Redis: env.Redis, Log: env.Log}, worker.Options{
				Queue: env.Queue, AllowPrivateTargets: true, TaskCheckInterval: 5 * time.Millisecond,
				DelayedTaskCheckInterval: 50 * time.Millisecond, SweepInterval: 200 * time.Millisecond, SweepGrace: time.Second,
			})
			if err := next.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer next.Shutdown()
			waitFor(t, 15*time.Second, "delivery by the next worker", func() bool {
				j, err := env.Store.LoadDelivery(ctx, env.TenantID, ids[0])
				return err == nil && j.Status == tenants.StatusSuccess
			})
			if n := len(rc.requests()); n > 2 {
				t.Errorf("the receiver got %d requests, want at most 2 (the aborted one and the retry)", n)
			}
		})
	}
}
