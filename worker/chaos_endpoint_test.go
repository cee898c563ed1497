package worker_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// The endpoint-health chaos tests run the worker at production defaults,
// circuit breaker on, against receivers that misbehave in the ways the
// breaker must tell apart: mostly healthy but noisy, failing the first
// tries of every message, and down for a while. Each test states the few
// settings it changes and why.

// issueSchedule is the retry schedule of the reproduction in issue 11:
// 1 s × 10, which a user may set. The tests that use it change nothing
// else but, where said, the delivery timeout.
func issueSchedule() []time.Duration {
	s := make([]time.Duration, 10)
	for i := range s {
		s[i] = time.Second
	}
	return s
}

func scheduleSpan(s []time.Duration) time.Duration {
	var d time.Duration
	for _, x := range s {
		d += x
	}
	return d
}

// sendMessages creates n messages through the SDK from conc goroutines, each
// after wait(i) returns, and returns their ids.
func sendMessages(t testing.TB, c *svix.Svix, appID string, n, conc int, wait func(i int)) []string {
	t.Helper()
	ids := make([]string, n)
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		errs = make(chan error, n)
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if wait != nil {
					wait(i)
				}
				m, err := c.Message.Create(context.Background(), appID, models.MessageIn{
					EventType: "chaos.test", Payload: map[string]any{"i": i},
				}, nil)
				if err != nil {
					errs <- err
					return
				}
				ids[i] = m.Id
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("message not accepted: %v", err)
	}
	return ids
}

// countingReceiver answers by a script and counts calls, and successes by
// message (webhook-id): only answers the worker saw count.
type countingReceiver struct {
	mu        sync.Mutex
	calls     int
	tries     map[string]int       // webhook-id -> calls
	successAt map[string]int       // webhook-id -> the call that succeeded (1-based)
	doneAt    map[string]time.Time // webhook-id -> first success
}

func newCountingReceiver() *countingReceiver {
	return &countingReceiver{tries: map[string]int{}, successAt: map[string]int{}, doneAt: map[string]time.Time{}}
}

// call registers one call of message id and returns its number (1-based)
// for the message and overall.
func (cr *countingReceiver) call(id string) (try, overall int) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.calls++
	cr.tries[id]++
	return cr.tries[id], cr.calls
}

func (cr *countingReceiver) succeeded(id string, try int) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if _, ok := cr.successAt[id]; !ok {
		cr.successAt[id] = try
		cr.doneAt[id] = time.Now()
	}
}

// delivered returns how many of ids succeeded and when the last did.
func (cr *countingReceiver) delivered(ids []string) (n int, last time.Time) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, id := range ids {
		if at, ok := cr.doneAt[id]; ok {
			n++
			if at.After(last) {
				last = at
			}
		}
	}
	return n, last
}

func (cr *countingReceiver) totalCalls() int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.calls
}

// waitDelivered waits up to d for every message of ids to succeed.
func waitDelivered(t *testing.T, cr *countingReceiver, ids []string, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n, last := cr.delivered(ids)
		if n == len(ids) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d accepted messages are still undelivered (%d receiver calls)", d, len(ids)-n, len(ids), cr.totalCalls())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChaos_FortyPercentFailing is issue 11's reproduction: 300 messages to
// a receiver failing 40 % of calls — 25 % HTTP 503, 10 % dropped
// connections, 5 % stalls past the delivery timeout, all at random — and at
// most 8 failures per message. Settings changed from production: the
// issue's retry schedule (1 s × 10) and delivery timeout (3 s). With the
// breaker on, the circuit never opens; the endpoint's lane, seeing the
// same share of congestion at every limit, keeps its limit up rather than
// starving a flaky but fast receiver; and every message arrives within the
// schedule's span (with its +20 % jitter) plus a small margin after the
// last was sent. The old breaker left 53 of 300 undelivered after 180 s.
//
// The stalls were once bursts of 20 simultaneous ones, to show that such a
// burst does not open the breaker. A lane never has 20 attempts in flight
// to a receiver that stalls (it cuts its limit on the first timeouts), so
// that case is now TestBreaker_SimultaneousTimeoutsDoNotOpen's, and a
// count-based burst here would only serialise 20 timeouts through a lane
// of 1 or 2.
func TestChaos_FortyPercentFailing(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	t.Parallel()
	const (
		n         = 300
		maxFails  = 8
		timeout   = 3 * time.Second
		stallTime = timeout + 500*time.Millisecond
	)
	sched := issueSchedule()
	obs := &postponeCounter{}
	env := testenv.New(t, testenv.Options{Worker: true, Observer: obs,
		WorkerOptions: worker.Options{RetrySchedule: sched, DeliveryTimeout: timeout}})
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(context.Background(), models.ApplicationIn{Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	appID := app.Id
	cr := newCountingReceiver()
	var (
		mu       sync.Mutex
		fails    = map[string]int{}
		stalled  int
		outcomes = map[string]int{}
	)
	rnd := rand.New(rand.NewPCG(11, 40))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		try, _ := cr.call(id)
		mu.Lock()
		kind := "ok"
		if fails[id] < maxFails {
			switch p := rnd.Float64(); {
			case p < 0.25:
				kind = "503"
			case p < 0.35:
				kind = "drop"
			case p < 0.40:
				kind = "stall"
				stalled++
			}
		}
		if kind != "ok" {
			fails[id]++
		}
		outcomes[kind]++
		mu.Unlock()
		switch kind {
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "drop":
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		case "stall":
			time.Sleep(stallTime) // the worker has given up by then
			w.WriteHeader(http.StatusOK)
		default:
			cr.succeeded(id, try)
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(srv.Close)
	if _, err := c.Endpoint.Create(context.Background(), appID, models.EndpointIn{Url: srv.URL}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ids := sendMessages(t, c, appID, n, 8, nil)
	sent := time.Now()
	// The schedule's span with its jitter (12 s), three stalls' timeouts,
	// 5 s of margin, and 10 s for the lane: it starts at 4 attempts at
	// once and must learn that the receiver's failures are its background
	// (about 6 s here, on a quiet machine) while stalls hold its slots for
	// 3 s each. Alone on this machine the run takes about 16 s.
	budget := scheduleSpan(sched)*6/5 + 3*timeout + 15*time.Second
	last := waitDelivered(t, cr, ids, budget)
	mu.Lock()
	defer mu.Unlock()
	calls := cr.totalCalls()
	failed := calls - n
	t.Logf("40%% failing: %d messages, %d receiver calls (%d failed: %v), all delivered %.1f s after the first was sent (%.1f s after the last; budget %v); circuits open at the end: %d",
		n, calls, failed, outcomes, last.Sub(start).Seconds(), last.Sub(sent).Seconds(), budget, env.Worker.OpenCircuits())
	if k := obs.circuitOpen.Load(); k > 0 {
		t.Errorf("the circuit of an endpoint answering 60 %% of calls opened: %d deliveries postponed", k)
	}
	if stalled < 10 {
		t.Errorf("only %d stalls: the test did not stall the receiver", stalled)
	}
	if ratio := float64(failed) / float64(calls); ratio < 0.3 {
		t.Errorf("only %.0f %% of calls failed: the receiver was not as bad as the test claims", 100*ratio)
	}
}

// TestChaos_FailsFirstTwoTries: a receiver that answers 503 to the first
// two tries of every message and 200 to the third — a common transient
// pattern — gets every message on its third try, with the breaker on.
// Changed from production: the issue's retry schedule (1 s × 10), under
// which the old breaker delivered 0 of 20 messages within 60 s.
func TestChaos_FailsFirstTwoTries(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	t.Parallel()
	const n = 100
	sched := issueSchedule()
	env, c, appID := setup(t, worker.Options{RetrySchedule: sched})
	cr := newCountingReceiver()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		try, _ := cr.call(id)
		if try <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		cr.succeeded(id, try)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	if _, err := c.Endpoint.Create(context.Background(), appID, models.EndpointIn{Url: srv.URL}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ids := sendMessages(t, c, appID, n, 8, nil)
	// Two retries of the schedule with jitter (about 4 s alone on this
	// machine), and room for the breaker: the endpoint's lane runs the
	// first tries a few at a time (a 503 is congestion), so on a loaded
	// machine their failures may spread over the 5 distinct seconds that
	// open it, and deliveries wait out a cooldown (at most the retry's
	// 1 s) and half-open probes.
	last := waitDelivered(t, cr, ids, 30*time.Second)
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, id := range ids {
		if cr.successAt[id] != 3 {
			t.Errorf("message %s succeeded on call %d, want its third", id, cr.successAt[id])
		}
	}
	if cr.calls != 3*n {
		t.Errorf("%d receiver calls for %d messages, want %d: three each", cr.calls, n, 3*n)
	}
	t.Logf("fails first two tries: %d messages, %d receiver calls, all delivered on their third try %.1f s after the first was sent; circuits open: %d",
		n, cr.calls, last.Sub(start).Seconds(), env.Worker.OpenCircuits())
}

// postponeCounter is an Observer counting deliveries postponed by an open
// circuit.
type postponeCounter struct{ circuitOpen atomic.Int64 }

func (*postponeCounter) Attempted(string, int, time.Duration, time.Duration) {}
func (*postponeCounter) Reenqueued(int)                                      {}
func (p *postponeCounter) Postponed(outcome string) {
	if outcome == worker.OutcomeCircuitOpen {
		p.circuitOpen.Add(1)
	}
}

// flakyListener serves h on a fixed loopback port that can be closed (every
// connection refused) and opened again.
type flakyListener struct {
	addr string
	h    http.Handler
	mu   sync.Mutex
	srv  *http.Server
}

func (f *flakyListener) up(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", f.addr)
	for i := 0; err != nil && i < 50; i++ { // the port may linger briefly
		time.Sleep(20 * time.Millisecond)
		l, err = net.Listen("tcp", f.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	srv := &http.Server{Handler: f.h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
}

func (f *flakyListener) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close() // closes the listener and every connection
		f.srv = nil
	}
}

// outageRun is one run of the refusing-receiver scenario.
type outageRun struct {
	messages, calls, attempts int
	failedDuringOutage        int
	afterRecovery             time.Duration
}

// TestChaos_RefusesThenRecovers: a receiver refuses every connection for a
// while, with messages arriving all along, then recovers. With the breaker
// on, every message arrives soon after the recovery, and far fewer
// attempts hit the dead receiver than with the breaker off.
//
// Issue 11 asks for a 60 s outage at production defaults; to keep the test
// short everything runs at a quarter of production's timing: a 15 s
// outage, the production retry schedule, delivery timeout, asynq retry
// polling, breaker window and cooldowns all scaled by 0.25. The breaker's
// counts (20 attempts, 90 %, 5 probes) are production's. With
// HOOKLINE_TEST_SCALE=1 (make test-scale) it runs the issue's 60 s outage
// at production timing exactly, in about two minutes.
func TestChaos_RefusesThenRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	t.Parallel()
	scale := 0.25
	if os.Getenv("HOOKLINE_TEST_SCALE") == "1" {
		scale = 1
	}
	sc := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	outage := sc(60 * time.Second)
	var sched []time.Duration
	for _, d := range worker.DefaultRetrySchedule() {
		sched = append(sched, sc(d))
	}
	opts := func(breakerOff bool) worker.Options {
		return worker.Options{
			RetrySchedule: sched, DeliveryTimeout: sc(15 * time.Second), DelayedTaskCheckInterval: sc(time.Second),
			Breaker: worker.BreakerOptions{Disabled: breakerOff, Window: sc(30 * time.Second), Cooldown: sc(30 * time.Second), MaxCooldown: sc(5 * time.Minute)},
		}
	}
	var (
		mu   sync.Mutex
		runs = map[string]outageRun{}
		wg   sync.WaitGroup
	)
	wg.Add(2)
	for _, tc := range []struct {
		name       string
		breakerOff bool
	}{{"BreakerOn", false}, {"BreakerOff", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer wg.Done()
			r := runOutage(t, opts(tc.breakerOff), outage, !tc.breakerOff)
			mu.Lock()
			runs[tc.name] = r
			mu.Unlock()
		})
	}
	t.Cleanup(func() {
		wg.Wait()
		on, off := runs["BreakerOn"], runs["BreakerOff"]
		if on.messages == 0 || off.messages == 0 {
			return // a run failed and said why
		}
		t.Logf("refusing for %v then recovering, %d messages: breaker on: %d attempts at the dead receiver, all delivered %.1f s after recovery (%d receiver calls after it); breaker off: %d attempts at the dead receiver",
			outage, on.messages, on.failedDuringOutage, on.afterRecovery.Seconds(), on.calls, off.failedDuringOutage)
		if on.failedDuringOutage*3 > off.failedDuringOutage {
			t.Errorf("with the breaker %d attempts hit the dead receiver, without it %d: want at most a third", on.failedDuringOutage, off.failedDuringOutage)
		}
	})
}

// runOutage sends 10 messages a second to a receiver refusing connections
// for outage, then lets it recover. With waitAll it waits for every message
// and checks that they arrived soon after the recovery.
func runOutage(t *testing.T, wo worker.Options, outage time.Duration, waitAll bool) outageRun {
	env, c, appID := setup(t, wo)
	cr := newCountingReceiver()
	fl := &flakyListener{addr: "127.0.0.1:0", h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		try, _ := cr.call(id)
		cr.succeeded(id, try)
		w.WriteHeader(http.StatusOK)
	})}
	fl.up(t) // to learn a free port
	fl.down()
	t.Cleanup(fl.down)
	ctx := context.Background()
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: "http://" + fl.addr + "/"}, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := int(outage / (100 * time.Millisecond))
	// Pacing, not waiting: the scenario is a steady 10 messages a second
	// into an outage of a fixed length.
	ids := sendMessages(t, c, appID, n, 1, func(i int) {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 100 * time.Millisecond)))
	})
	time.Sleep(time.Until(start.Add(outage))) // the outage lasts its length
	var failed int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE status = 2`).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if got := cr.totalCalls(); got != 0 {
		t.Fatalf("a refusing receiver answered %d calls", got)
	}
	fl.up(t)
	recovered := time.Now()
	r := outageRun{messages: n, failedDuringOutage: failed}
	if !waitAll {
		return r
	}
	// Soon: within two cooldowns of the recovery (a half-open round, then
	// the postponed deliveries' spread).
	last := waitDelivered(t, cr, ids, 2*wo.Breaker.Cooldown+5*time.Second)
	r.afterRecovery = last.Sub(recovered)
	r.calls = cr.totalCalls()
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts`).Scan(&r.attempts); err != nil {
		t.Fatal(err)
	}
	if r.calls > n+2*5 {
		t.Errorf("%d calls after recovery for %d messages: more than one each and a few probes", r.calls, n)
	}
	return r
}
