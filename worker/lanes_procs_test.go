package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// concurrencyReceiver answers 200 after a pause, records the most
// requests it ever had at once, and which messages' requests were cut off
// (their connection closed by a dead process).
type concurrencyReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	now     int
	most    int
	aborted []string // webhook-ids
}

func newConcurrencyReceiver(t *testing.T, pause time.Duration) *concurrencyReceiver {
	cr := &concurrencyReceiver{}
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		cr.mu.Lock()
		cr.now++
		cr.most = max(cr.most, cr.now)
		cr.mu.Unlock()
		defer func() { cr.mu.Lock(); cr.now--; cr.mu.Unlock() }()
		select {
		case <-time.After(pause): // the receiver's own work
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
			cr.mu.Lock()
			cr.aborted = append(cr.aborted, r.Header.Get("webhook-id"))
			cr.mu.Unlock()
		}
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *concurrencyReceiver) inFlight() int { cr.mu.Lock(); defer cr.mu.Unlock(); return cr.now }
func (cr *concurrencyReceiver) peak() int     { cr.mu.Lock(); defer cr.mu.Unlock(); return cr.most }
func (cr *concurrencyReceiver) cutOff() []string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return append([]string(nil), cr.aborted...)
}

// TestLanes_LimitAcrossProcesses: two worker processes of 2 slots each
// share an endpoint capped at 3 attempts at once. The receiver sees 3 at
// once (both processes serve it), never 4. Then one process is SIGKILLed
// with requests in flight: its slots stay taken until their lease ends
// (the survivor keeps within the cap meanwhile), then come back, and
// every message is delivered.
func TestLanes_LimitAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("worker processes skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dsn, st := procDatabase(t)
	sql := storetest.SQL(t, dsn)
	rds := startRedis(t, freePort(t))
	redisURL := "redis://" + rds.addr() + "/0"
	const queue = "procs"
	rc := redis.NewClient(&redis.Options{Addr: rds.addr()})
	t.Cleanup(func() { rc.Close() })

	// Half a second a request, so that the process killed once the lane
	// is full is still in the middle of one (at 100 ms, a loaded machine's
	// pause between seeing the lane full and the kill let the process
	// finish its request first, and nothing was cut off).
	recv := newConcurrencyReceiver(t, 500*time.Millisecond)
	tn, _ := st.CreateTenant(ctx, "procs")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "a"})
	three := 3
	ep, err := st.CreateEndpoint(ctx, tn.ID, app.ID, tenants.EndpointInput{URL: recv.URL, MaxConcurrency: &three})
	if err != nil {
		t.Fatal(err)
	}
	client := worker.NewClient(rc, queue, 2*time.Second) // as the processes' timeout: the same lease
	const n = 24
	var delivery []int64
	for i := range n {
		_, ids, err := st.CreateMessage(ctx, tn.ID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		delivery = append(delivery, ids...)
	}
	if err := client.EnqueueDeliveries(ctx, tn.ID, ep.ID, delivery); err != nil {
		t.Fatal(err)
	}
	w1 := startWorkerProc(t, dsn, redisURL, queue, "CHAOS_CONCURRENCY=2", "CHAOS_TIMEOUT=2s")
	startWorkerProc(t, dsn, redisURL, queue, "CHAOS_CONCURRENCY=2", "CHAOS_TIMEOUT=2s")
	settled := func() int {
		var done int
		if err := sql.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 0`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		return done
	}
	// Kill one process while the lane is full: it holds at least one of
	// the 3 slots (the other has only 2).
	waitFor(t, 30*time.Second, "a quarter delivered and the lane full", func() bool { return settled() >= n/4 && recv.inFlight() == 3 })
	if p := recv.peak(); p != 3 {
		t.Errorf("the receiver had at most %d requests at once; want 3 (the cap, reached only with both processes' slots)", p)
	}
	w1.kill()
	killed := time.Now()
	waitFor(t, 5*time.Second, "the dead process's requests to be cut off", func() bool { return len(recv.cutOff()) > 0 })
	lease := client.Lease()
	waitFor(t, lease+30*time.Second, "every message to be delivered", func() bool { return settled() == n })
	if p := recv.peak(); p > 3 {
		t.Errorf("the receiver had %d requests at once; the cap is 3", p)
	}
	// The dead process's deliveries came back when their slots' lease
	// ended: not before (the slots were still counted), not much after.
	for _, msgID := range recv.cutOff() {
		var at time.Time
		err := sql.QueryRow(ctx, `SELECT created_at FROM attempts WHERE msg_id = $1 AND status = 0`, msgID).Scan(&at)
		if err != nil {
			t.Fatalf("the delivered attempt of %s, cut off by the kill: %v", msgID, err)
		}
		if d := at.Sub(killed); d > lease+5*time.Second {
			t.Errorf("message %s, cut off by the kill, was delivered %v after it; the lease is %v", msgID, d, lease)
		}
	}
	t.Logf("the killed process held %d slots; all %d messages delivered, the receiver never above %d at once", len(recv.cutOff()), n, recv.peak())
}

// TestLanes_ParkedSurviveRedisLoss: an endpoint capped at one attempt at
// a time has most of 20 deliveries parked in its lane when Redis dies and
// comes back empty; the sweeper restores them from PostgreSQL and every
// message is delivered, the restored lane starting at one attempt at a
// time (its cap unknown until a release brings it).
func TestLanes_ParkedSurviveRedisLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("worker processes skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dsn, st := procDatabase(t)
	sql := storetest.SQL(t, dsn)
	port := freePort(t)
	rds := startRedis(t, port)
	redisURL := "redis://" + rds.addr() + "/0"
	const queue = "parked"
	rc := redis.NewClient(&redis.Options{Addr: rds.addr()})
	t.Cleanup(func() { rc.Close() })

	recv := newConcurrencyReceiver(t, 200*time.Millisecond)
	tn, _ := st.CreateTenant(ctx, "parked")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "a"})
	one := 1
	ep, err := st.CreateEndpoint(ctx, tn.ID, app.ID, tenants.EndpointInput{URL: recv.URL, MaxConcurrency: &one})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var delivery []int64
	for i := range n {
		_, ids, err := st.CreateMessage(ctx, tn.ID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		delivery = append(delivery, ids...)
	}
	if err := worker.NewClient(rc, queue, 2*time.Second).EnqueueDeliveries(ctx, tn.ID, ep.ID, delivery); err != nil {
		t.Fatal(err)
	}
	startWorkerProc(t, dsn, redisURL, queue, "CHAOS_TIMEOUT=2s")
	settled := func() int {
		var done int
		if err := sql.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 0`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		return done
	}
	waitFor(t, 20*time.Second, "the first delivery", func() bool { return settled() >= 1 })
	waiting, held := laneCounts(t, rc, queue)
	if waiting < 10 || held > 1 {
		t.Fatalf("before the loss: %d parked, %d in flight; want most of %d parked behind one", waiting, held, n)
	}
	if p := recv.peak(); p > 1 {
		t.Errorf("the receiver had %d requests at once; the cap is 1", p)
	}
	rds.kill()
	startRedis(t, port) // empty: no persistence
	waitFor(t, 60*time.Second, "every message to be delivered", func() bool { return settled() == n })
	// The attempt in flight when Redis was lost lost its slot with it: the
	// new lane may start one beside it, never more.
	if p := recv.peak(); p > 2 {
		t.Errorf("the receiver had %d requests at once after the loss; the cap is 1 (and one attempt lost its slot)", p)
	}
	t.Logf("%d deliveries were parked when Redis was lost; all %d delivered", waiting, n)
}
