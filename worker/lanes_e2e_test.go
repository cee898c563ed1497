package worker_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	svix "github.com/svix/svix-webhooks/go"
	models "github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// redisCalls returns how many times Redis has run each command (INFO
// commandstats: Lua scripts' own commands included), less INFO itself.
func redisCalls(t *testing.T, rc *redis.Client) map[string]int {
	t.Helper()
	info, err := rc.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":calls=")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		if err != nil {
			t.Fatalf("commandstats line %q: %v", sc.Text(), err)
		}
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls
}

// callsSince returns the commands run since before, in all and by name.
func callsSince(t *testing.T, rc *redis.Client, before map[string]int) (int, map[string]int) {
	t.Helper()
	total, by := 0, map[string]int{}
	for name, n := range redisCalls(t, rc) {
		if d := n - before[name]; d > 0 {
			by[name] = d
			total += d
		}
	}
	return total, by
}

// laneKeys returns the keys the queue's lanes hold for endpoints (waiting
// and in-flight sets): none once every delivery is settled.
func laneKeys(t *testing.T, rc *redis.Client, queue string) []string {
	t.Helper()
	keys, err := rc.Keys(context.Background(), "hl:{"+queue+"}:e:*:[wh]").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// laneCounts sums the deliveries waiting in the queue's lanes and those
// in flight.
func laneCounts(t *testing.T, rc *redis.Client, queue string) (waiting, held int64) {
	t.Helper()
	ctx := context.Background()
	for _, k := range laneKeys(t, rc, queue) {
		n, err := rc.ZCard(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(k, ":w") {
			waiting += n
		} else {
			held += n
		}
	}
	return waiting, held
}

// TestLanes_RedisCommandsPerDelivery: in `hookline all` (API and worker in
// one process, production defaults), a first attempt is made in process
// with its lane's slot taken at admission and released after, so that
// when every message is delivered no lane holds anything, and the whole
// path cost Redis a few commands per delivery, the lane scripts' own
// included (asynq's dequeue, lease and acknowledgement are not paid). The
// figure is logged (7.8 at these 8 clients on a quiet machine, whose
// small batches pay a script call each; the flat-out figure is in
// BENCHMARKS.md). On a loaded machine more deliveries find this process's
// workers busy and wait in their lane, which costs a few commands more
// (9.3 on a quiet machine, 13 in a CI run beside three other packages'
// tests): the bound leaves room for that, but the ~37 of a lane script
// that recomputed every set on every call fails it. The flat-out figure
// that the target is about is the bench's, processes apart.
func TestLanes_RedisCommandsPerDelivery(t *testing.T) {
	t.Parallel()
	rds := startRedis(t, freePort(t))
	env := testenv.New(t, testenv.Options{Worker: true, RedisURL: "redis://" + rds.addr() + "/0"})
	c := env.SDK(env.APIKey)
	ctx := context.Background()
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 300
	before := redisCalls(t, env.Redis)
	sendMessages(t, c, app.Id, n, 8, nil)
	waitFor(t, 20*time.Second, "every delivery to succeed and its lane to be empty", func() bool {
		var done int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 0`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		return done == n && len(laneKeys(t, env.Redis, env.Queue)) == 0
	})
	total, by := callsSince(t, env.Redis, before)
	perDelivery := float64(total) / n
	t.Logf("Redis commands per delivery, ingest to settled: %.1f (%d in all: %v)", perDelivery, total, by)
	if perDelivery > 20 {
		t.Errorf("%.1f Redis commands per delivery; the direct path needs about 8 at 8 clients, 13 on a loaded machine", perDelivery)
	}
	if got := len(rc.requests()); got != n {
		t.Errorf("the receiver got %d requests for %d messages", got, n)
	}
}

// TestLanes_FailedAttemptWaitsInLane: an attempt that fails leaves its
// delivery waiting in the endpoint's lane, due at the retry's time (in
// PostgreSQL and in Redis alike), and the retry delivers it. Retries in
// milliseconds: fast retries.
func TestLanes_FailedAttemptWaitsInLane(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, testenv.FastRetries(worker.Options{RetrySchedule: []time.Duration{1500 * time.Millisecond}}))
	ctx := context.Background()
	var once sync.Once
	failed := make(chan struct{})
	rc := newReceiver(t, func(_ string, n int, _ *http.Request) int {
		if n == 1 {
			defer once.Do(func() { close(failed) })
			return 500
		}
		return 200
	})
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "a.b", nil)
	<-failed
	var job tenants.DeliveryJob
	waitFor(t, 5*time.Second, "the failure to be recorded", func() bool {
		var err error
		job, err = env.Store.LoadDelivery(ctx, env.TenantID, deliveryOf(t, env, m.Id))
		return err == nil && job.Attempts == 1
	})
	zs, err := env.Redis.ZRangeWithScores(ctx, "hl:{"+env.Queue+"}:e:"+ep.Id+":w", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(zs) != 1 || zs[0].Member != strconv.FormatInt(job.ID, 10) || job.NextAttemptAt == nil ||
		int64(zs[0].Score) != job.NextAttemptAt.UnixMilli() {
		t.Fatalf("the lane holds %v; want delivery %d due at %v", zs, job.ID, job.NextAttemptAt)
	}
	waitFor(t, 10*time.Second, "the retry to deliver", func() bool {
		a := attemptsOf(t, c, appID, m.Id)
		return len(a) == 2 && a[1].Status == models.MESSAGESTATUS_SUCCESS
	})
	waitFor(t, 5*time.Second, "the lane to be empty", func() bool { return len(laneKeys(t, env.Redis, env.Queue)) == 0 })
}

// TestLanes_SlotOfDeadProcessReturns: a delivery whose slot a process took
// and never released (it died mid-attempt) goes back to waiting when the
// slot's lease ends, and a worker delivers it, once. The lease is the
// shortest (5 s; twice the delivery timeout otherwise).
func TestLanes_SlotOfDeadProcessReturns(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
	ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, ids, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The dead process's side: a delivery timeout of 1 s gives the
	// shortest lease.
	client := worker.NewClient(env.Redis, env.Queue, time.Second)
	taken := time.Now()
	if err := client.HoldSlots(ctx, env.TenantID, ep.ID, ids); err != nil {
		t.Fatal(err)
	}
	// Another worker delivers it once the lease has ended, not before.
	deliveredByAnotherWorker(t, env, ids[0], 15*time.Second)
	if since := time.Since(taken); since < client.Lease() {
		t.Errorf("delivered %s after the slot was taken, before its lease of %s ended", since, client.Lease())
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}
}

// deliveredByAnotherWorker starts a worker of its own on env's queue (as
// another process would run it) and waits until it has delivered delivery
// id.
func deliveredByAnotherWorker(t *testing.T, env *testenv.Env, id int64, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	w := worker.New(worker.Deps{Store: env.Store, Redis: env.Redis, Log: env.Log},
		testenv.FastPolling(worker.Options{Queue: env.Queue, AllowPrivateTargets: true}))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	waitFor(t, within, "delivery by another worker", func() bool {
		j, err := env.Store.LoadDelivery(ctx, env.TenantID, id)
		return err == nil && j.Status == tenants.StatusSuccess
	})
}

// deliveryOf returns the id of the (one) delivery of message msgID.
func deliveryOf(t *testing.T, env *testenv.Env, msgID string) int64 {
	t.Helper()
	var id int64
	if err := env.SQL.QueryRow(context.Background(), `SELECT id FROM deliveries WHERE msg_id = $1`, msgID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLanes_FairnessEndToEnd: through the API and one worker slot (so
// that turns are visible as the receivers' order), tenant A queues 60
// messages, then tenant B 10. From B's first arrival on, the two are
// served in turn: B's 10 arrive within 20 arrivals, not behind A's
// backlog (10:1 backlogs get alternating service, not 10:1).
func TestLanes_FairnessEndToEnd(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: worker.Options{Concurrency: 1}})
	ctx := context.Background()
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		time.Sleep(10 * time.Millisecond) // the receiver's work: turns must be visible
	}))
	t.Cleanup(srv.Close)
	tenant := func(name string) (*svix.Svix, string) {
		tn, err := env.Store.CreateTenant(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := env.Store.CreateAPIKey(ctx, tn.ID, "k")
		if err != nil {
			t.Fatal(err)
		}
		c := env.SDK(key)
		app, err := c.Application.Create(ctx, models.ApplicationIn{Name: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: srv.URL + "/" + name}, nil); err != nil {
			t.Fatal(err)
		}
		return c, app.Id
	}
	ca, appA := tenant("a")
	cb, appB := tenant("b")
	sendMessages(t, ca, appA, 60, 4, nil)
	sendMessages(t, cb, appB, 10, 4, nil)
	waitFor(t, 30*time.Second, "every message to arrive", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 70 })
	mu.Lock()
	defer mu.Unlock()
	first := slices.Index(order, "/b")
	last := first
	for i, p := range order {
		if p == "/b" {
			last = i
		}
	}
	if span := last - first + 1; span > 20 {
		t.Errorf("B's 10 messages arrived over %d arrivals after its first (want about 19, alternating): %v", span, order)
	}
}
