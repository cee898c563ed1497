package main

// Benchmarks of destinations (issue 21's targets), with Hookline in a
// process of its own: this test binary started again as `hookline serve`
// or `hookline worker` (HOOKLINE_TEST_AS_MAIN, see TestMain), on a fresh
// database, while the benchmark process sets up through the store, reads
// through HTTP as a consumer does, and runs the FIFO receiver.
//
//	go test -run '^$' -bench 'Destinations' -benchtime 50000x ./cmd/hookline/
//
// One op is one message. Each figure is also reported as msgs/s.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// init profiles a process the benchmarks started, when asked: with
// HOOKLINE_BENCH_PROFILE=DIR in the benchmark's environment, the started
// process writes DIR/ROLE.pprof, a CPU profile of its life until the
// benchmark sends it SIGUSR1 before killing it.
func init() {
	path := os.Getenv("HOOKLINE_BENCH_CPUPROFILE")
	if os.Getenv("HOOKLINE_TEST_AS_MAIN") != "1" || path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		f.Close()
	}()
}

// benchStack is a database, a store over it in the benchmark process, and
// a tenant with an API key and an application.
type benchStack struct {
	dsn, redisURL, queue string
	st                   *store.Store
	tenant, key, app     string
}

func newBenchStack(b *testing.B) *benchStack {
	b.Helper()
	ctx := context.Background()
	dsn := storetest.NewDatabase(b)
	db, err := store.Open(ctx, dsn, 8, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	// storetest's cipher has the key testSecrets gives the processes.
	st := store.New(db, storetest.TestCipher(b), nil)
	ten, err := st.CreateTenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, ten.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	redisURL, ns := redistest.Namespace(b)
	return &benchStack{dsn: dsn, redisURL: redisURL, queue: ns, st: st, tenant: ten.ID, key: key, app: app.ID}
}

// start runs this binary as `hookline role` against the stack, listening
// on port (the API, or the metrics of a worker), and returns once it
// answers there. It is SIGKILLed when the benchmark ends.
func (s *benchStack) start(b *testing.B, role string, port int) {
	b.Helper()
	env := testSecrets(s.dsn)
	env["HOOKLINE_TEST_AS_MAIN"] = "1"
	env["PATH"] = os.Getenv("PATH")
	env["HOOKLINE_REDIS_URL"] = s.redisURL
	env["HOOKLINE_QUEUE"] = s.queue
	env["HOOKLINE_ALLOW_PRIVATE_TARGETS"] = "true"
	env["HOOKLINE_API_RATE_LIMIT"] = "0"
	env["HOOKLINE_LOG_LEVEL"] = "warn"
	env["HOOKLINE_DB_MAX_CONNS"] = "16"
	// The FIFO figure enables its destination in the database, not
	// through the API, which would wake the senders: let them check often.
	env["HOOKLINE_SENDERS_CHECK_INTERVAL"] = "200ms"
	if dir := os.Getenv("HOOKLINE_BENCH_PROFILE"); dir != "" {
		env["HOOKLINE_BENCH_CPUPROFILE"] = filepath.Join(dir, role+".pprof")
	}
	probe := "http://127.0.0.1:" + strconv.Itoa(port)
	if role == "serve" {
		env["HOOKLINE_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
		probe += "/readyz"
	} else {
		env["HOOKLINE_METRICS_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
		probe += "/metrics"
	}
	cmd := exec.Command(os.Args[0], role)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(b.TempDir(), role+".log")
	f, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	b.Cleanup(func() {
		if env["HOOKLINE_BENCH_CPUPROFILE"] != "" {
			_ = cmd.Process.Signal(syscall.SIGUSR1)
			time.Sleep(500 * time.Millisecond) // the profile is written
		}
		_ = cmd.Process.Kill()
		<-done
		if b.Failed() {
			out, _ := os.ReadFile(logPath)
			b.Logf("%s log:\n%s", role, out)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(probe)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("hookline %s did not answer %s", role, probe)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// preload stores n messages of the stack's application, 1,000 a
// statement, as the outbox's group commits do.
func (s *benchStack) preload(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		k := min(1000, n-done)
		specs := make([]tenants.MessageSpec, k)
		for i := range specs {
			specs[i] = tenants.MessageSpec{TenantID: s.tenant, AppID: s.app, In: tenants.MessageInput{EventType: "order.paid",
				Payload: []byte(`{"order":"ord_` + strconv.Itoa(done+i) + `","amount":4200,"currency":"EUR","customer":{"id":"cus_1","email":"a@example.com"}}`)}}
		}
		if _, err := s.st.CreateMessages(ctx, specs); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

// BenchmarkDestinations_PollConsumer: one consumer of a polling endpoint
// reads a backlog of b.N messages through GET …/poller/{sink}/consumer/{c}
// in pages of 250, decoding each page as a consumer does. Target: 5,000
// messages/s.
func BenchmarkDestinations_PollConsumer(b *testing.B) {
	s := newBenchStack(b)
	port := freePortB(b)
	s.start(b, "serve", port)
	ctx := context.Background()
	d, err := s.st.CreateDestination(ctx, s.tenant, s.app, tenants.DestinationInput{Type: tenants.DestinationPolling, BatchSize: 100})
	if err != nil {
		b.Fatal(err)
	}
	s.preload(b, b.N)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1/app/" + s.app + "/poller/" + d.ID + "/consumer/bench?limit=250"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	type page struct {
		Data []struct {
			ID        string          `json:"id"`
			EventType string          `json:"eventType"`
			Payload   json.RawMessage `json:"payload"`
			Timestamp time.Time       `json:"timestamp"`
		} `json:"data"`
		Iterator string `json:"iterator"`
		Done     bool   `json:"done"`
	}
	load := loadAverage()
	b.ResetTimer()
	start := time.Now()
	read, polls := 0, 0
	for read < b.N {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+s.key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("poll: %d %s", resp.StatusCode, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
		read += len(p.Data)
		polls++
		if p.Done && read < b.N && len(p.Data) == 0 {
			time.Sleep(time.Millisecond) // the snapshot horizon has not passed the last commits yet
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(read)/elapsed.Seconds(), "msgs/s")
	b.Logf("%d messages in %d polls in %s: %.0f messages/s; load average before %s, after %s",
		read, polls, elapsed.Round(time.Millisecond), float64(read)/elapsed.Seconds(), load, loadAverage())
}

// fifoBenchReceiver is a fast FIFO receiver: it verifies each batch's
// signature, counts its events and answers 204.
type fifoBenchReceiver struct {
	*httptest.Server
	wh          *standardwebhooks.Webhook
	events      atomic.Int64
	batches     atomic.Int64
	badSigs     atomic.Int64
	mu          sync.Mutex
	first, last time.Time
}

func newFIFOBenchReceiver(b *testing.B) *fifoBenchReceiver {
	r := &fifoBenchReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.wh != nil {
			if err := r.wh.Verify(body, req.Header); err != nil {
				r.badSigs.Add(1)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		var events []json.RawMessage
		if err := json.Unmarshal(body, &events); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		now := time.Now()
		r.mu.Lock()
		if r.first.IsZero() {
			r.first = now
		}
		r.last = now
		r.mu.Unlock()
		r.batches.Add(1)
		r.events.Add(int64(len(events)))
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.Close)
	return r
}

// BenchmarkDestinations_FIFO: a FIFO destination (batchSize 100) with a
// backlog of b.N messages is enabled, and a worker process sends it to a
// fast receiver in this process, batch after batch, each recorded in
// PostgreSQL before and after it is sent. Target: 1,000 messages/s. The
// figure is from the enabling to the last batch received (it includes up
// to a second and a half of the worker noticing); "steady msgs/s" is from
// the first batch received to the last.
func BenchmarkDestinations_FIFO(b *testing.B) {
	s := newBenchStack(b)
	ctx := context.Background()
	recv := newFIFOBenchReceiver(b)
	d, err := s.st.CreateDestination(ctx, s.tenant, s.app, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: recv.URL, BatchSize: 100, Disabled: true})
	if err != nil {
		b.Fatal(err)
	}
	secret, err := s.st.DestinationSecret(ctx, s.tenant, s.app, d.ID)
	if err != nil {
		b.Fatal(err)
	}
	if recv.wh, err = standardwebhooks.NewWebhook(secret); err != nil {
		b.Fatal(err)
	}
	s.start(b, "worker", freePortB(b))
	s.preload(b, b.N)
	load := loadAverage()
	b.ResetTimer()
	start := time.Now()
	off := false
	if _, err := s.st.PatchDestination(ctx, s.tenant, s.app, d.ID, tenants.DestinationPatch{Disabled: &off}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10*time.Minute + time.Duration(b.N)*time.Millisecond)
	for recv.events.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("the receiver got %d of %d messages", recv.events.Load(), b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	recv.mu.Lock()
	steady := recv.last.Sub(recv.first)
	recv.mu.Unlock()
	if n := recv.badSigs.Load(); n > 0 {
		b.Errorf("%d batches with a bad signature", n)
	}
	got := recv.events.Load()
	b.ReportMetric(float64(got)/elapsed.Seconds(), "msgs/s")
	if steady > 0 {
		b.ReportMetric(float64(got)/steady.Seconds(), "steady_msgs/s")
	}
	b.Logf("%d messages in %d batches in %s (%s from the first batch to the last): %.0f messages/s; load average before %s, after %s",
		got, recv.batches.Load(), elapsed.Round(time.Millisecond), steady.Round(time.Millisecond), float64(got)/elapsed.Seconds(), load, loadAverage())
}

func freePortB(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
