package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// fifoReceiver is a FIFO endpoint: it verifies each batch's signature,
// refuses a share of requests (500), and records the batches it accepted
// in the order it accepted them, and how many requests it ever had at once.
type fifoReceiver struct {
	*httptest.Server
	t        *testing.T
	verify   *standardwebhooks.Webhook
	failRate float64

	mu       sync.Mutex
	accepted [][]string // message ids of each accepted batch
	batchIDs []string   // webhook-id of each accepted batch
	requests int
	now      int
	most     int
	badSigs  int
	resent   int // batches that came again after being accepted
}

func newFIFOReceiver(t *testing.T, failRate float64) *fifoReceiver {
	f := &fifoReceiver{t: t, failRate: failRate}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests++
		f.now++
		f.most = max(f.most, f.now)
		verify, failRate := f.verify, f.failRate
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.now--; f.mu.Unlock() }()
		if verify != nil {
			if err := verify.Verify(body, r.Header); err != nil {
				f.mu.Lock()
				f.badSigs++
				f.mu.Unlock()
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		if rand.Float64() < failRate {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var events []struct {
			ID        string          `json:"id"`
			EventType string          `json:"eventType"`
			Timestamp time.Time       `json:"timestamp"`
			Payload   json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(body, &events); err != nil || len(events) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		f.mu.Lock()
		// A batch whose answer the sender never got comes again with the
		// same webhook-id: accept it without taking it twice, as a
		// Standard Webhooks receiver does.
		if slices.Contains(f.batchIDs, r.Header.Get("webhook-id")) {
			f.resent++
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		f.accepted = append(f.accepted, ids)
		f.batchIDs = append(f.batchIDs, r.Header.Get("webhook-id"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fifoReceiver) setSecret(secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.verify = wh
	f.mu.Unlock()
}

// received returns every accepted message id in acceptance order, and the
// batches.
func (f *fifoReceiver) received() ([]string, [][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []string
	for _, b := range f.accepted {
		all = append(all, b...)
	}
	return all, slices.Clone(f.accepted)
}

// checkFIFO fails unless got is want in order, each exactly once, in
// batches of at most size.
func checkFIFO(t *testing.T, f *fifoReceiver, want []string, size int) {
	t.Helper()
	got, batches := f.received()
	if !slices.Equal(got, want) {
		seen := map[string]int{}
		dups := 0
		for _, id := range got {
			if seen[id]++; seen[id] == 2 {
				dups++
			}
		}
		t.Fatalf("the FIFO endpoint accepted %d messages (%d twice); want the %d in creation order, each once (first difference at %d)",
			len(got), dups, len(want), firstDiffIdx(got, want))
	}
	for _, b := range batches {
		if len(b) > size {
			t.Fatalf("a batch of %d; batchSize is %d", len(b), size)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.most != 1 {
		t.Errorf("the FIFO endpoint had %d requests at once; want 1", f.most)
	}
	if f.badSigs != 0 {
		t.Errorf("%d batches had a bad signature", f.badSigs)
	}
}

func firstDiffIdx(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFIFO_OrderedSignedBatches: a FIFO destination whose receiver fails
// 30 % of requests gets 500 messages, sent through the API while the
// worker runs, in creation order, each accepted exactly once, in signed
// batches of at most batchSize, one request at a time; every attempt is
// on record with its batch's first and last message.
func TestFIFO_OrderedSignedBatches(t *testing.T) {
	t.Parallel()
	// 20 fast retries: a batch failing 21 times in a row at 30 % does not
	// happen; the default schedule would make the test hours long.
	sched := make([]time.Duration, 20)
	for i := range sched {
		sched[i] = 20 * time.Millisecond
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: sched})})
	ctx := context.Background()
	recv := newFIFOReceiver(t, 0.3)
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: recv.URL, BatchSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := env.Store.DestinationSecret(ctx, env.TenantID, app.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	recv.setSecret(secret)

	const n = 500
	want := make([]string, 0, n)
	c := env.SDK(env.APIKey)
	for i := range n {
		m, err := c.Message.Create(ctx, app.ID, svixMessage("fifo.event", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.Id)
	}
	waitFor(t, 60*time.Second, "every message accepted", func() bool { got, _ := recv.received(); return len(got) >= n })
	checkFIFO(t, recv, want, 25)

	var attempts, ok, failed int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 0), count(*) FILTER (WHERE status = 2)
		FROM destination_attempts WHERE destination_id = $1`, d.ID).Scan(&attempts, &ok, &failed); err != nil {
		t.Fatal(err)
	}
	_, batches := recv.received()
	if ok != len(batches) || failed == 0 {
		t.Errorf("attempts on record: %d ok, %d failed; the receiver accepted %d batches (and refused some)", ok, failed, len(batches))
	}
	t.Logf("%d messages in %d batches, %d failed attempts", n, len(batches), failed)
}

// TestFIFO_CreatedWhileSendersRest: a worker process that found no FIFO or
// RabbitMQ destination rests — it takes no look for work, and checks for a
// destination again only every SendersCheckInterval (here a minute, so a
// test that relied on it would time out) — until a destination created
// through the API wakes it; the messages then go out at once.
func TestFIFO_CreatedWhileSendersRest(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{SendersCheckInterval: time.Minute})})
	ctx := context.Background()
	waitFor(t, 10*time.Second, "the senders to find no destination", env.Worker.SendersResting)

	recv := newFIFOReceiver(t, 0)
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	if st, b := rawAPI(t, env, "POST", "/api/v1/app/"+app.ID+"/destination",
		fmt.Sprintf(`{"type":"fifoEndpoint","config":{"url":%q}}`, recv.URL)); st != http.StatusCreated {
		t.Fatalf("create destination: %d %s", st, b)
	}
	waitFor(t, 10*time.Second, "the senders to wake", func() bool { return !env.Worker.SendersResting() })

	c := env.SDK(env.APIKey)
	for i := range 3 {
		if _, err := c.Message.Create(ctx, app.ID, svixMessage("fifo.event", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the batch", func() bool { got, _ := recv.received(); return len(got) >= 3 })
}

// TestFIFO_SkipAndExhaustion: a receiver that refuses everything makes the
// destination retry its first batch (status retrying) and then, past the
// schedule, disables it; skip moves past the batch and force-retry enables
// it again, so the next batch goes.
func TestFIFO_SkipAndExhaustion(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{
		RetrySchedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})})
	ctx := context.Background()
	recv := newFIFOReceiver(t, 1)
	// The tenant's operational webhook endpoint hears of the disabling.
	var (
		opsMu  sync.Mutex
		opsGot []string
	)
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		opsMu.Lock()
		opsGot = append(opsGot, string(b))
		opsMu.Unlock()
	}))
	t.Cleanup(ops.Close)
	if st, body := testenv.Call(t, env.URL, "POST", "/api/v1/operational-webhook/endpoint", env.APIKey, `{"url":"`+ops.URL+`"}`); st != 201 {
		t.Fatalf("create operational endpoint: %d %s", st, body)
	}
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "fifo"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: recv.URL, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := env.SDK(env.APIKey)
	var ids []string
	for i := range 4 {
		m, err := c.Message.Create(ctx, app.ID, svixMessage("fifo.event", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Id)
	}
	waitFor(t, 20*time.Second, "the destination disabled after its retries", func() bool {
		cur, err := env.Store.FindDestination(ctx, env.TenantID, app.ID, d.ID)
		return err == nil && cur.Disabled
	})
	cur, _ := env.Store.FindDestination(ctx, env.TenantID, app.ID, d.ID)
	if cur.Batch == nil || cur.Batch.FirstID != ids[0] || cur.Batch.Count != 2 || cur.FailureReason == nil {
		t.Fatalf("disabled destination's batch = %+v, reason %v", cur.Batch, cur.FailureReason)
	}
	// The attempts, through the API: three failures of the first batch.
	st, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+app.ID+"/destination/"+d.ID+"/attempt", env.APIKey, "")
	var attempts struct {
		Data []struct {
			ID         string `json:"id"`
			Status     int    `json:"status"`
			FirstMsgID string `json:"firstMsgId"`
			LastMsgID  string `json:"lastMsgId"`
			NumEvents  int    `json:"numEvents"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &attempts); st != 200 || err != nil || len(attempts.Data) != 3 {
		t.Fatalf("attempts: %d %s", st, body)
	}
	for _, a := range attempts.Data {
		if a.Status != 2 || a.FirstMsgID != ids[0] || a.LastMsgID != ids[1] || a.NumEvents != 2 {
			t.Fatalf("attempt %+v; want a failure of the first batch (%s..%s)", a, ids[0], ids[1])
		}
	}
	if st, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+app.ID+"/destination/"+d.ID+"/attempt/"+attempts.Data[0].ID, env.APIKey, ""); st != 200 || !strings.Contains(body, attempts.Data[0].ID) {
		t.Fatalf("get attempt: %d %s", st, body)
	}
	// Skip the first batch; the receiver now accepts; force-retry.
	recv.mu.Lock()
	recv.failRate = 0
	recv.mu.Unlock()
	for _, call := range []string{"/skip", "/force-retry"} {
		if st, body := testenv.Call(t, env.URL, "POST", "/api/v1/app/"+app.ID+"/destination/"+d.ID+call, env.APIKey, "{}"); st != 204 {
			t.Fatalf("%s: %d %s", call, st, body)
		}
	}
	waitFor(t, 20*time.Second, "the messages after the skipped batch", func() bool { got, _ := recv.received(); return len(got) >= 2 })
	if got, _ := recv.received(); !slices.Equal(got, ids[2:]) {
		t.Fatalf("after skip the receiver accepted %v; want %v", got, ids[2:])
	}
}

// TestFIFO_WorkerKilled: two worker processes serve a FIFO destination
// whose receiver fails 30 % of requests; one is SIGKILLed midway. The
// receiver accepts all 500 messages in order, each exactly once: the dead
// process's batch is sent again by the survivor once its lease ends.
func TestFIFO_WorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("worker processes skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dsn, st := procDatabase(t)
	redisURL, ns := redistest.Namespace(t)

	recv := newFIFOReceiver(t, 0.3)
	tn, _ := st.CreateTenant(ctx, "fifo-procs")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "a"})
	d, err := st.CreateDestination(ctx, tn.ID, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: recv.URL, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := st.DestinationSecret(ctx, tn.ID, app.ID, d.ID)
	recv.setSecret(secret)

	w1 := startWorkerProc(t, dsn, redisURL, ns)
	startWorkerProc(t, dsn, redisURL, ns)
	const n = 500
	want := make([]string, 0, n)
	for i := range n {
		m, _, err := st.CreateMessage(ctx, tn.ID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
		if i == n/3 {
			waitFor(t, 30*time.Second, "some batches accepted", func() bool { got, _ := recv.received(); return len(got) > 0 })
			w1.kill()
		}
	}
	waitFor(t, 90*time.Second, "every message accepted", func() bool { got, _ := recv.received(); return len(got) >= n })
	checkFIFO(t, recv, want, 10)
	recv.mu.Lock()
	t.Logf("%d requests; %d accepted batches came again after the kill or a lost answer", recv.requests, recv.resent)
	recv.mu.Unlock()
}

func svixMessage(eventType string, i int) models.MessageIn {
	return models.MessageIn{EventType: eventType, Payload: map[string]any{"i": i}}
}

// brokerProxy stands between the worker and the RabbitMQ broker so a test
// can take the broker away (every connection cut, new ones refused) and
// bring it back, without disturbing the machine's broker others use.
type brokerProxy struct {
	l    net.Listener
	mu   sync.Mutex
	down bool
	open []net.Conn
}

func newBrokerProxy(t *testing.T, target string) *brokerProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &brokerProxy{l: l}
	t.Cleanup(func() { l.Close(); p.setDown(true) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.open = append(p.open, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *brokerProxy) addr() string { return p.l.Addr().String() }

func (p *brokerProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.open {
			c.Close()
		}
		p.open = nil
	}
}

// rabbitURL is the machine's RabbitMQ (CI starts it; see .ci/run).
const rabbitURL = "amqp://guest:guest@127.0.0.1:5672/"

// TestRabbitMQ_EveryMessageThroughAnOutage: a RabbitMQ destination
// publishes every message to its routing key (a durable queue of the
// test's own on the local broker), persistent, with the event as JSON and
// a verifiable Standard Webhooks signature in the AMQP headers. Midway the
// broker becomes unreachable (connections cut and refused) for a while:
// the batch is retried, and in the end every message is in the queue, in
// order (at least once: a batch whose confirms were cut off may be there
// twice, never out of order among first arrivals).
func TestRabbitMQ_EveryMessageThroughAnOutage(t *testing.T) {
	t.Parallel()
	queue, ch := rabbitQueue(t)
	msgs, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newBrokerProxy(t, "127.0.0.1:5672")

	sched := make([]time.Duration, 20)
	for i := range sched {
		sched[i] = 100 * time.Millisecond
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: sched})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: "amqp://guest:guest@" + proxy.addr() + "/", RoutingKey: queue, BatchSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := env.Store.DestinationSecret(ctx, env.TenantID, app.ID, d.ID)
	verify, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		arrived   []string
		seen      = map[string]bool{}
		badSig    int
		transient int
	)
	go func() {
		for m := range msgs {
			h := http.Header{}
			for k, v := range m.Headers {
				if s, ok := v.(string); ok {
					h.Set(k, s)
				}
			}
			mu.Lock()
			if err := verify.Verify(m.Body, h); err != nil {
				badSig++
			}
			if m.DeliveryMode != amqp.Persistent {
				transient++
			}
			if !seen[m.MessageId] {
				seen[m.MessageId] = true
				arrived = append(arrived, m.MessageId)
			}
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(arrived) }

	const n = 300
	c := env.SDK(env.APIKey)
	var want []string
	send := func(k int) {
		for i := range k {
			m, err := c.Message.Create(ctx, app.ID, svixMessage("rabbit.event", i), nil)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, m.Id)
		}
	}
	send(n / 3)
	waitFor(t, 30*time.Second, "the first messages in the queue", func() bool { return count() > 0 })
	proxy.setDown(true)
	send(n / 3)
	waitFor(t, 30*time.Second, "a failed attempt while the broker is away", func() bool {
		var failed int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM destination_attempts WHERE destination_id = $1 AND status = 2`, d.ID).Scan(&failed)
		return failed > 0
	})
	proxy.setDown(false)
	send(n - 2*(n/3))
	waitFor(t, 60*time.Second, "every message in the queue", func() bool { return count() >= n })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(arrived, want) {
		t.Fatalf("the queue got %d distinct messages; want the %d in creation order (first difference at %d)", len(arrived), len(want), firstDiffIdx(arrived, want))
	}
	if badSig != 0 || transient != 0 {
		t.Fatalf("%d messages with a bad signature, %d not persistent", badSig, transient)
	}
}

// TestFIFO_MaxWaitFillsBatch: with maxWaitSecs, a short batch waits for
// more messages instead of going out one by one: three messages sent
// together arrive as one batch.
func TestFIFO_MaxWaitFillsBatch(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	recv := newFIFOReceiver(t, 0)
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "fifo"})
	if _, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO,
		URL: recv.URL, BatchSize: 10, MaxWait: 3}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 3 {
		m, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	waitFor(t, 20*time.Second, "the batch", func() bool { got, _ := recv.received(); return len(got) >= 3 })
	if _, batches := recv.received(); len(batches) != 1 || !slices.Equal(batches[0], want) {
		t.Fatalf("batches %v; want one batch of %v", batches, want)
	}
}
