package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// The chaos test runs workers as separate processes (this test binary,
// re-executed) so that one can be killed with SIGKILL mid-delivery.
const chaosWorkerEnv = "HOOKLINE_CHAOS_WORKER"

func TestMain(m *testing.M) {
	// go-redis logs each failed dial; the chaos test makes many on purpose.
	redis.SetLogger(quietRedisLogger{})
	if os.Getenv(chaosWorkerEnv) == "1" {
		runChaosWorker()
		return
	}
	os.Exit(m.Run())
}

type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

var chaosSchedule = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond,
	500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond,
	time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second,
}

// runChaosWorker is the body of a worker process: the real worker, over
// the database and Redis named in its environment, until it is killed.
func runChaosWorker() {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, os.Getenv("CHAOS_DSN"), 20, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker:", err)
		os.Exit(3)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	cipher, _ := tenants.NewCipher(key)
	opt, _ := redis.ParseURL(os.Getenv("CHAOS_REDIS"))
	rc := redis.NewClient(opt)
	// Production defaults (the circuit breaker on among them) except:
	// loopback receivers; 8 slots (or CHAOS_CONCURRENCY), so a killed
	// process holds few deliveries; a 400 ms timeout (or CHAOS_TIMEOUT)
	// and a retry schedule of 0.1 to 1 s with fast polling, so a run with
	// hundreds of retries is short; and the sweeper every
	// 200 ms with a full pass every 5 s (production: 2 s and 10 min), so
	// what a Redis restart lost comes back within the test.
	conc := 8
	if n, err := strconv.Atoi(os.Getenv("CHAOS_CONCURRENCY")); err == nil {
		conc = n
	}
	timeout := 400 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("CHAOS_TIMEOUT")); err == nil {
		timeout = d
	}
	w := worker.New(worker.Deps{Store: store.New(db, cipher, nil), Redis: rc, Log: log}, worker.Options{
		Queue: os.Getenv("CHAOS_QUEUE"), AllowPrivateTargets: true, Concurrency: conc,
		DeliveryTimeout: timeout, RetrySchedule: chaosSchedule,
		TaskCheckInterval: 5 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
		SweepInterval: 200 * time.Millisecond, SweepGrace: time.Second, FullSweepInterval: 5 * time.Second,
	})
	if err := w.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	select {} // until killed
}

// privateRedis is a redis-server of the test's own, without persistence,
// that the test can kill and restart (empty) on the same port.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startRedis(t *testing.T, port int) *privateRedis {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for the chaos test: %v", err)
	}
	r := &privateRedis{t: t, port: port}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	waitFor(t, 5*time.Second, "private redis", func() bool { return c.Ping(context.Background()).Err() == nil })
	t.Cleanup(r.kill)
	return r
}

func (r *privateRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *privateRedis) kill() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = r.cmd.Process.Wait()
	}
}

type workerProc struct {
	cmd *exec.Cmd
}

// procDatabase gives a test whose worker processes (startWorkerProc)
// share its database a fresh one, and a store over it in this process
// sealing with the processes' key.
func procDatabase(t *testing.T) (dsn string, st *store.Store) {
	t.Helper()
	dsn = storetest.NewDatabase(t)
	db, err := store.Open(context.Background(), dsn, 10, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return dsn, store.New(db, storetest.TestCipher(t), nil)
}

func startWorkerProc(t *testing.T, dsn, redisURL, queue string, env ...string) *workerProc {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), chaosWorkerEnv+"=1", "CHAOS_DSN="+dsn, "CHAOS_REDIS="+redisURL, "CHAOS_QUEUE="+queue)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("worker process did not start")
	}
	w := &workerProc{cmd: cmd}
	t.Cleanup(w.kill)
	return w
}

func (w *workerProc) kill() {
	if w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = w.cmd.Process.Wait()
	}
}

// chaosReceiver answers at random: 500s, dropped connections, stalls past
// the delivery timeout, and successes. It verifies every signature and
// counts successful answers per message.
type chaosReceiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	ok     map[string]int // webhook-id -> 200s answered
	calls  atomic.Int64
	badSig atomic.Int64
}

func newChaosReceiver(t *testing.T) *chaosReceiver {
	cr := &chaosReceiver{ok: map[string]int{}}
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch p := rand.Float64(); {
		case p < 0.30:
			w.WriteHeader(500)
			return
		case p < 0.40: // drop the connection without an answer
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, err := hj.Hijack()
				if err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(502)
			return
		case p < 0.47: // stall past the worker's timeout
			time.Sleep(600 * time.Millisecond)
			w.WriteHeader(200)
			return // the worker gave up: not a success it saw
		}
		wh, _ := svix.NewWebhook(cr.secret)
		if err := wh.Verify(body, r.Header); err != nil {
			cr.badSig.Add(1)
			w.WriteHeader(400)
			return
		}
		cr.mu.Lock()
		cr.ok[r.Header.Get("webhook-id")]++
		cr.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *chaosReceiver) delivered(id string) int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.ok[id]
}

// TestChaos_NoAcceptedMessageIsLost sends messages through the API while a
// receiver misbehaves at random, a worker process is SIGKILLed mid-run,
// and the (private, non-persistent) Redis is killed with deliveries queued
// and retries scheduled, messages keep coming while it is down, and it
// comes back empty. Every message that got a 2xx must reach the receiver.
func TestChaos_NoAcceptedMessageIsLost(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	db, err := store.Open(ctx, dsn, 20, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cipher, _ := tenants.NewCipher([]byte("0123456789abcdef0123456789abcdef"))
	st := store.New(db, cipher, nil)
	port := freePort(t)
	rds := startRedis(t, port)
	redisURL := "redis://" + rds.addr() + "/0"
	queue := "chaos"

	// The API, in process, on the private Redis.
	opt, _ := redis.ParseURL(redisURL)
	opt.MaxRetries = 0
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	tokens := api.NewTokens(testenv.JWTSecret, nil)
	log := testenv.Logger()
	ob := outbox.New(outbox.Deps{Store: st, Workers: worker.NewDispatcher(worker.NewClient(rc, queue, 400*time.Millisecond)), Log: log}, outbox.Options{})
	srv := api.NewServer(api.Deps{
		Store: st, Tokens: tokens, Auth: api.NewAuthenticator(st, tokens, log), Log: log, Outbox: ob,
	}, api.Options{})
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	tn, _ := st.CreateTenant(ctx, "chaos")
	_, key, _ := st.CreateAPIKey(ctx, tn.ID, "k")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "chaos"})
	recv := newChaosReceiver(t)
	ep, err := st.CreateEndpoint(ctx, tn.ID, app.ID, tenants.EndpointInput{URL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	recv.secret, _ = st.EndpointSecret(ctx, tn.ID, app.ID, ep.ID)

	w1 := startWorkerProc(t, dsn, redisURL, queue)
	startWorkerProc(t, dsn, redisURL, queue)

	var (
		mu       sync.Mutex
		accepted []string
		refused  atomic.Int64
	)
	sendBatch := func(n, conc int) {
		var wg sync.WaitGroup
		for c := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < n; i += conc {
					body := fmt.Sprintf(`{"eventType":"chaos.test","payload":{"i":%d,"pad":"%s"}}`, i, strings.Repeat("x", 64))
					req, _ := http.NewRequest("POST", hs.URL+"/api/v1/app/"+app.ID+"/msg", bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						refused.Add(1)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						refused.Add(1)
						continue
					}
					id := string(b[strings.Index(string(b), `"id":"`)+6:])
					id = id[:strings.IndexByte(id, '"')]
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}

	// Phase 1: load with a misbehaving receiver; kill a worker mid-run.
	done := make(chan struct{})
	go func() { sendBatch(500, 8); close(done) }()
	waitFor(t, 30*time.Second, "the workers to be busy with the load", func() bool { return recv.calls.Load() >= 50 })
	w1.kill()
	startWorkerProc(t, dsn, redisURL, queue)

	// Phase 2: Redis dies mid-load, once deliveries are queued (due or for
	// a retry) or in flight there; messages keep coming while it is down.
	rc2 := redis.NewClient(&redis.Options{Addr: rds.addr()})
	var waiting, held int64
	waitFor(t, 30*time.Second, "deliveries queued in Redis (else the outage tests nothing)", func() bool {
		waiting, held = laneCounts(t, rc2, queue)
		return waiting+held > 0
	})
	rc2.Close()
	rds.kill()
	t.Logf("Redis killed with %d deliveries waiting in lanes (due or for a retry) and %d in flight", waiting, held)
	sendBatch(100, 8) // the API keeps accepting: the messages are durable
	<-done
	// The outage goes on a while after the load (part of the scenario,
	// not a wait): workers keep meeting a dead Redis.
	time.Sleep(500 * time.Millisecond)
	startRedis(t, port) // empty: no persistence

	// Every accepted message must arrive.
	mu.Lock()
	ids := append([]string(nil), accepted...)
	mu.Unlock()
	deadline := time.Now().Add(120 * time.Second)
	missing := ids
	for time.Now().Before(deadline) {
		var still []string
		for _, id := range missing {
			if recv.delivered(id) == 0 {
				still = append(still, id)
			}
		}
		missing = still
		if len(missing) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	dups := 0
	for _, id := range ids {
		if n := recv.delivered(id); n > 1 {
			dups += n - 1
		}
	}
	t.Logf("chaos: %d messages accepted (%d refused while PostgreSQL was fine: expect 0), %d receiver calls, %d duplicate successful deliveries, %d still missing",
		len(ids), refused.Load(), recv.calls.Load(), dups, len(missing))
	if len(missing) > 0 {
		t.Fatalf("%d accepted messages were never delivered, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if refused.Load() > 0 {
		t.Errorf("%d messages were refused although PostgreSQL was up", refused.Load())
	}
	if n := recv.badSig.Load(); n > 0 {
		t.Errorf("%d deliveries failed signature verification", n)
	}
	if len(ids) != 600 {
		t.Errorf("%d messages accepted, want 600", len(ids))
	}
}

// TestChaos_WorkerKilledMidDelivery: a worker process dies (SIGKILL) while
// its requests are in flight and Redis keeps its data. The lane slots it
// held come back when their lease ends (twice the delivery timeout, at
// least 5 s) and another worker delivers them: nothing is lost, and the
// receiver sees at most one extra copy of each.
func TestChaos_WorkerKilledMidDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dsn, st := procDatabase(t)
	sql := storetest.SQL(t, dsn)
	rds := startRedis(t, freePort(t))
	redisURL := "redis://" + rds.addr() + "/0"
	queue := "killed"

	var mu sync.Mutex
	got := map[string]int{}
	stall := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		got[id]++
		first := got[id] == 1
		mu.Unlock()
		if first {
			<-stall // hold the first request of each message until the worker is dead
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(recv.Close)
	t.Cleanup(func() { close(stall) })

	tn, _ := st.CreateTenant(ctx, "killed")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "a"})
	ep, err := st.CreateEndpoint(ctx, tn.ID, app.ID, tenants.EndpointInput{URL: recv.URL})
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	client := worker.NewClient(rc, queue, 400*time.Millisecond)
	var msgIDs []string
	for i := range 5 {
		m, ids, err := st.CreateMessage(ctx, tn.ID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		msgIDs = append(msgIDs, m.ID)
		if err := client.EnqueueDeliveries(ctx, tn.ID, ep.ID, ids); err != nil {
			t.Fatal(err)
		}
	}
	w1 := startWorkerProc(t, dsn, redisURL, queue)
	waitFor(t, 10*time.Second, "every message in flight at the first worker", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(msgIDs)
	})
	w1.kill()
	started := time.Now()
	startWorkerProc(t, dsn, redisURL, queue)
	waitFor(t, 90*time.Second, "the killed worker's deliveries to be recovered", func() bool {
		for _, id := range msgIDs {
			m, err := st.FindMessage(ctx, tn.ID, app.ID, id)
			if err != nil {
				return false
			}
			var status int
			if err := sql.QueryRow(ctx, `SELECT status FROM deliveries WHERE msg_id = $1`, m.ID).Scan(&status); err != nil || status != 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range msgIDs {
		if got[id] != 2 {
			t.Errorf("message %s reached the receiver %d times, want 2 (the killed attempt and its recovery)", id, got[id])
		}
	}
	t.Logf("a SIGKILLed worker's %d in-flight deliveries were recovered in %v", len(msgIDs), time.Since(started).Round(time.Second))
}
