package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/internal/redistest"
)

// laneFixture is a queue's lanes on a Redis namespace of the test's own,
// with a clock the test moves.
type laneFixture struct {
	t   *testing.T
	l   *lanes
	rc  *redis.Client
	mu  sync.Mutex
	now time.Time
}

func newLaneFixture(t *testing.T) *laneFixture {
	t.Helper()
	url, ns := redistest.Namespace(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	f := &laneFixture{t: t, rc: rc, now: time.UnixMilli(1_800_000_000_000)}
	f.l = newLanes(rc, ns, 30*time.Second)
	f.l.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	return f
}

func (f *laneFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *laneFixture) admit(ops ...admitOp) []bool {
	f.t.Helper()
	for i := range ops {
		if ops[i].Due.IsZero() {
			ops[i].Due = f.l.now()
		}
	}
	run, err := f.l.admit(context.Background(), ops)
	if err != nil {
		f.t.Fatal(err)
	}
	return run
}

func (f *laneFixture) take(n int) []laneItem {
	f.t.Helper()
	items, _, _, err := f.l.take(context.Background(), n)
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

func (f *laneFixture) release(ops ...releaseOp) []throttledLane {
	f.t.Helper()
	out, err := f.l.release(context.Background(), ops)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *laneFixture) limit(ep string) int {
	f.t.Helper()
	n, err := f.rc.HGet(context.Background(), f.l.prefix+"e:"+ep, "lim").Int()
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// queueN admits n deliveries (ids from first) of tenant to ep, due now.
func (f *laneFixture) queueN(tenant, ep string, first int64, n int) {
	ops := make([]admitOp, n)
	for i := range ops {
		ops[i] = admitOp{ID: first + int64(i), EndpointID: ep, TenantID: tenant, Cap: DefaultLaneCap}
	}
	f.admit(ops...)
}

// TestLanes_LimitAndSlots: a new lane runs its initial limit's worth of
// attempts at once (taken at admission for the local worker, or by take)
// and queues the rest; nothing more is taken until a slot is released;
// a release lets exactly one more through.
func TestLanes_LimitAndSlots(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	var ops []admitOp
	for i := range 6 {
		ops = append(ops, admitOp{ID: int64(i + 1), EndpointID: "ep_a", TenantID: "org_a", Local: true, Cap: DefaultLaneCap})
	}
	run := f.admit(ops...)
	got := 0
	for _, r := range run {
		if r {
			got++
		}
	}
	if got != laneInitialLimit {
		t.Fatalf("admission ran %d at once, want the initial limit %d", got, laneInitialLimit)
	}
	if items := f.take(10); len(items) != 0 {
		t.Fatalf("took %d from a full lane", len(items))
	}
	f.release(releaseOp{Item: laneItem{ID: 1, EndpointID: "ep_a", TenantID: "org_a"}, Signal: signalNone})
	items := f.take(10)
	if len(items) != 1 || items[0].ID != 5 {
		t.Fatalf("after one release took %+v, want delivery 5 alone", items)
	}
	// Admitting what is already there changes nothing.
	if run := f.admit(admitOp{ID: 6, EndpointID: "ep_a", TenantID: "org_a", Local: true}); run[0] {
		t.Error("a delivery already waiting was admitted to run")
	}
}

// TestLanes_UnknownCapStartsAtOne: a lane made without its endpoint's cap
// (a resend, the sweeper after Redis lost the lanes) runs one attempt at a
// time until a release brings the cap; then slow start grows it to the cap
// and no further.
func TestLanes_UnknownCapStartsAtOne(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	ops := make([]admitOp, 5)
	for i := range ops {
		ops[i] = admitOp{ID: int64(i + 1), EndpointID: "ep_u", TenantID: "org_u"}
	}
	f.admit(ops...)
	items := f.take(5)
	if len(items) != 1 {
		t.Fatalf("took %d from a lane of unknown cap, want 1", len(items))
	}
	f.release(releaseOp{Item: items[0], Signal: signalOK, Cap: 2})
	if items = f.take(5); len(items) != 2 {
		t.Fatalf("took %d after a success with cap 2, want 2", len(items))
	}
	for _, it := range items {
		f.release(releaseOp{Item: it, Signal: signalOK, Cap: 2})
	}
	if got := f.limit("ep_u"); got != 2 {
		t.Errorf("limit %d, want the cap 2", got)
	}
}

// TestLanes_AIMD: the limit grows by one per success until the first
// congestion (slow start), which cuts it to 70%; from then on the limit
// moves once per window of as many outcomes as the limit: down to 70% when
// more than a quarter of them were congestion (at once, when the window
// can no longer pass), up by one after a clean window — but to the limit
// where it last came down, only after four clean windows, and at it one
// congestion cuts. Quick failures
// count in the window as neither; a receiver whose congestion is
// background noise, seen even at a limit of 1 or 2, is not held down by
// it; a receiver that is down still falls to 1. The limit stays between 1
// and the cap.
func TestLanes_AIMD(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	it := laneItem{ID: 1, EndpointID: "ep_b", TenantID: "org_b"}
	send := func(sig laneSignal, n int) {
		for range n {
			f.release(releaseOp{Item: it, Signal: sig, Cap: 8})
		}
	}
	want := func(n int, after string) {
		t.Helper()
		if got := f.limit("ep_b"); got != n {
			t.Fatalf("limit %d after %s, want %d", got, after, n)
		}
	}
	f.admit(admitOp{ID: 1, EndpointID: "ep_b", TenantID: "org_b", Cap: 8})
	send(signalOK, 2)
	want(laneInitialLimit+2, "2 successes in slow start")
	send(signalOK, 100)
	want(8, "many successes (the cap)")
	send(signalFail, 10)
	want(8, "quick failures in slow start")
	send(signalCongestion, 1)
	want(6, "the first congestion (8 × 0.7, rounded)")
	// A window of 6 may show one congestion (a quarter: 1.5); the second
	// cuts at once, below the ceiling of 6.
	send(signalCongestion, 1)
	want(6, "one congestion in a window of 6")
	send(signalCongestion, 1)
	want(4, "two congestions in a window of 6 (6 × 0.7, rounded)")
	// A clean window of 4: up by one, still below the ceiling.
	send(signalOK, 4)
	want(5, "a clean window of 4")
	// Below the ceiling (6 is where it last came down): every fourth window.
	send(signalOK, 15)
	want(5, "three clean windows of 5 below the ceiling")
	send(signalOK, 5)
	want(6, "the fourth clean window of 5")
	// Quick failures are neither success nor congestion.
	send(signalFail, 24)
	want(6, "four windows of quick failures")
	// Down: every outcome congested, down to 1 and no lower.
	send(signalCongestion, 40)
	want(1, "sustained congestion")

	// Background noise: a receiver that times out 30% of the time whatever
	// the load (seen at limit 1 and 2 as well) climbs on; a receiver that
	// times out 60% of the time only above 2 at once is held at 2–3.
	noisy := laneItem{ID: 2, EndpointID: "ep_n", TenantID: "org_b"}
	full := laneItem{ID: 3, EndpointID: "ep_f", TenantID: "org_b"}
	f.admit(admitOp{ID: 2, EndpointID: "ep_n", TenantID: "org_b", Cap: 32}, admitOp{ID: 3, EndpointID: "ep_f", TenantID: "org_b", Cap: 32})
	peakNoisy, peakFull := 0, 0
	for i := range 600 {
		sig := signalOK
		if i*7%10 < 3 { // 3 in every 10, spread out
			sig = signalCongestion
		}
		f.release(releaseOp{Item: noisy, Signal: sig, Cap: 32})
		peakNoisy = max(peakNoisy, f.limit("ep_n"))
		sig = signalOK
		if lim := f.limit("ep_f"); lim > 2 && i%10 < 6 {
			sig = signalCongestion
		}
		f.release(releaseOp{Item: full, Signal: sig, Cap: 32})
		peakFull = max(peakFull, f.limit("ep_f"))
	}
	if got := f.limit("ep_n"); got < 4 {
		t.Errorf("a receiver with 30%% background timeouts sits at %d (peak %d); want it to keep 4 or more", got, peakNoisy)
	}
	if got := f.limit("ep_f"); got > 3 {
		t.Errorf("a receiver that times out above 2 at once sits at %d (peak %d); want 3 at most", got, peakFull)
	}
}

// TestLanes_FairShares: two tenants with backlogs of 10:1 are served in
// turn, one attempt each, until the smaller backlog is done; a tenant of
// weight 2 gets two turns for the other's one; within a tenant, its lanes
// take turns too.
func TestLanes_FairShares(t *testing.T) {
	t.Parallel()
	t.Run("Alternate", func(t *testing.T) {
		f := newLaneFixture(t)
		f.queueN("org_big", "ep_big", 1, 100)
		f.queueN("org_small", "ep_small", 1001, 10)
		var order []string
		for range 20 {
			items := f.take(1)
			if len(items) != 1 {
				t.Fatalf("took %d", len(items))
			}
			order = append(order, items[0].TenantID)
			// Free the slot at once: this test is about turns, not limits.
			f.release(releaseOp{Item: items[0]})
		}
		for i := 0; i < 20; i += 2 {
			if order[i] == order[i+1] {
				t.Fatalf("turns not alternating: %v", order)
			}
		}
	})
	t.Run("Weights", func(t *testing.T) {
		f := newLaneFixture(t)
		ops := make([]admitOp, 0, 60)
		for i := range 30 {
			ops = append(ops, admitOp{ID: int64(i + 1), EndpointID: "ep_gold", TenantID: "org_gold", Weight: 2},
				admitOp{ID: int64(i + 101), EndpointID: "ep_std", TenantID: "org_std", Weight: 1})
		}
		f.admit(ops...)
		count := map[string]int{}
		for range 30 {
			for _, it := range f.take(1) {
				count[it.TenantID]++
				f.release(releaseOp{Item: it})
			}
		}
		if count["org_gold"] < 19 || count["org_gold"] > 21 {
			t.Errorf("of 30 turns, weight 2 got %d and weight 1 %d; want about 20 and 10", count["org_gold"], count["org_std"])
		}
	})
	t.Run("LanesOfATenant", func(t *testing.T) {
		f := newLaneFixture(t)
		f.queueN("org_x", "ep_1", 1, 50)
		f.queueN("org_x", "ep_2", 101, 5)
		var order []string
		for range 10 {
			for _, it := range f.take(1) {
				order = append(order, it.EndpointID)
				f.release(releaseOp{Item: it})
			}
		}
		if got := strings.Count(strings.Join(order, ","), "ep_2"); got != 5 {
			t.Errorf("the smaller lane got %d of the first 10 turns, want 5: %v", got, order)
		}
	})
}

// TestLanes_LeaseAndTimers: a slot whose lease ends goes back to waiting,
// due at once; a delivery due later is not taken before its time; a
// Retry-After pauses the whole lane.
func TestLanes_LeaseAndTimers(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	f.queueN("org_l", "ep_l", 1, 1)
	items := f.take(1)
	if len(items) != 1 {
		t.Fatal("nothing to take")
	}
	if again := f.take(1); len(again) != 0 {
		t.Fatal("a held delivery was taken twice")
	}
	f.advance(f.l.lease + time.Millisecond)
	if again := f.take(1); len(again) != 1 || again[0].ID != 1 {
		t.Fatalf("after the lease: took %+v, want delivery 1 again", again)
	}
	// Due later.
	f.release(releaseOp{Item: items[0], Next: f.l.now().Add(time.Minute)})
	if got := f.take(1); len(got) != 0 {
		t.Fatalf("took %+v before its time", got)
	}
	// Timers may fire early, never late: the lane's next moment is at
	// or before the delivery's.
	_, next, _, err := f.l.take(context.Background(), 1)
	if err != nil || next.IsZero() || next.After(f.l.now().Add(time.Minute)) {
		t.Fatalf("next moment %v (%v), want at most a minute from now", next, err)
	}
	f.advance(time.Minute)
	if got := f.take(1); len(got) != 1 {
		t.Fatalf("took %d at its time, want 1", len(got))
	}
	// A 503 with Retry-After: 30 s pauses the lane, this delivery and any
	// other.
	f.queueN("org_l", "ep_l", 2, 1)
	f.release(releaseOp{Item: laneItem{ID: 1, EndpointID: "ep_l", TenantID: "org_l"}, Next: f.l.now(),
		Signal: signalCongestion, PauseUntil: f.l.now().Add(30 * time.Second)})
	if got := f.take(2); len(got) != 0 {
		t.Fatalf("took %+v from a paused lane", got)
	}
	f.advance(30 * time.Second)
	if got := f.take(2); len(got) != 2 {
		t.Fatalf("took %d after the pause, want 2", len(got))
	}
}

// TestLanes_Missing: the sweeper's check finds exactly the deliveries that
// are in no lane.
func TestLanes_Missing(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	f.queueN("org_m", "ep_m", 1, 2)
	f.take(1) // delivery 1 in flight, 2 waiting
	pos, err := f.l.missing(context.Background(), []string{"ep_m", "ep_m", "ep_m", "ep_other"}, []int64{1, 2, 3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pos) != "[2 3]" {
		t.Errorf("missing positions %v, want [2 3]", pos)
	}
}

// TestLanes_ThrottledReport: a lane that sits at 1 below its cap for
// throttledAfter is reported once; full lanes with waiting deliveries
// are listed, most waiting first.
func TestLanes_ThrottledReport(t *testing.T) {
	t.Parallel()
	f := newLaneFixture(t)
	it := laneItem{ID: 1, EndpointID: "ep_t", TenantID: "org_t"}
	f.admit(admitOp{ID: 1, EndpointID: "ep_t", TenantID: "org_t"})
	f.take(1)
	for range 4 {
		f.advance(time.Millisecond)
		f.release(releaseOp{Item: it, Signal: signalCongestion, AppID: "app_t"})
	}
	if got := f.limit("ep_t"); got != 1 {
		t.Fatalf("limit %d, want 1", got)
	}
	f.advance(f.l.throttledAfter)
	out := f.release(releaseOp{Item: it, Signal: signalCongestion, AppID: "app_t"})
	if len(out) != 1 || out[0].EndpointID != "ep_t" || out[0].AppID != "app_t" {
		t.Fatalf("reported %+v, want ep_t", out)
	}
	if again := f.release(releaseOp{Item: it, Signal: signalCongestion}); len(again) != 0 {
		t.Fatalf("reported twice: %+v", again)
	}
	f.queueN("org_t", "ep_t", 10, 3)
	f.take(1)
	th, err := f.l.throttled(context.Background(), "org_t", 5)
	st := th.Top
	if err != nil || th.Total != 1 || th.Parked != 2 || len(st) != 1 || st[0].Waiting != 2 || st[0].InFlight != 1 || st[0].Limit != 1 || st[0].AtOneSince == nil {
		t.Fatalf("throttled lanes %+v (%v)", th, err)
	}
	// Another tenant's lanes are not its to see.
	if other, err := f.l.throttled(context.Background(), "org_other", 5); err != nil || other.Total != 0 || len(other.Top) != 0 {
		t.Errorf("another tenant sees %+v (%v)", other, err)
	}
}

// An idle worker's wait for a wake-up may be longer than the Redis
// client's read timeout: it must end as a wait that timed out (nothing to
// do), not as a broken connection, and a wake-up must still end it at once.
func TestLanes_WaitOutlastsReadTimeout(t *testing.T) {
	url, ns := redistest.Namespace(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ReadTimeout = 500 * time.Millisecond
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	l := newLanes(rc, ns, 30*time.Second)
	ctx := context.Background()

	start := time.Now()
	woke, err := l.wait(ctx, 2*time.Second)
	if err != nil {
		t.Fatalf("a 2 s wait with a 500 ms read timeout: %v", err)
	}
	if woke {
		t.Fatal("woken with no wake-up pushed")
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("the wait returned after %v, before its time", waited)
	}

	l.wakeOthers(ctx)
	if woke, err := l.wait(ctx, 2*time.Second); err != nil || !woke {
		t.Fatalf("wait after a wake-up: woke %v, err %v", woke, err)
	}
}
