package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// The worker finds the senders' store by assertion: the one store must
// keep implementing it, or destinations silently never send.
var _ worker.SinkStore = (*store.Store)(nil)

// rawAPI calls the API with the tenant's key (the Svix Go SDK v1.99.1 has
// no destination methods) and returns the status and body, which must
// match the OpenAPI document.
func rawAPI(t *testing.T, env *testenv.Env, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testenv.ValidatingClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func setDestTransformation(t *testing.T, env *testenv.Env, appID, destID, code string, vars map[string]string) {
	t.Helper()
	body := map[string]any{"code": code}
	if vars != nil {
		body["variables"] = vars
	}
	if st, b := rawAPI(t, env, "PATCH", "/api/v1/app/"+appID+"/destination/"+destID+"/transformation", toJSON(body)); st != 200 {
		t.Fatalf("patch destination transformation: %d %s", st, b)
	}
}

// slowSchedule retries a failed batch many times, 100 ms apart: long
// enough for a test to fix the code before the retries run out.
func slowSchedule() []time.Duration {
	s := make([]time.Duration, 100)
	for i := range s {
		s[i] = 100 * time.Millisecond
	}
	return s
}

type capturedRequest struct {
	method string
	header http.Header
	body   []byte
	sigErr error
}

// TestDestinationTransform_FIFO: a FIFO endpoint's transformation decides
// the request (body, method, headers), signed over the transformed body;
// cancel records the batch canceled and moves on; a throwing handler
// fails the attempt with a clear transformation_error and blocks the
// batches after it until the code is fixed. last-acked-event and
// next-event follow.
func TestDestinationTransform_FIFO(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: slowSchedule()})})
	ctx := context.Background()
	var (
		mu  sync.Mutex
		got []capturedRequest
		wh  *standardwebhooks.Webhook
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, capturedRequest{method: r.Method, header: r.Header.Clone(), body: b, sigErr: wh.Verify(b, r.Header)})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	requests := func() []capturedRequest { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }

	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "fifo-tf"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: recv.URL, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := env.Store.DestinationSecret(ctx, env.TenantID, app.ID, d.ID)
	if wh, err = standardwebhooks.NewWebhook(secret); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.ID + "/destination/" + d.ID
	if st, b := rawAPI(t, env, "GET", base+"/last-acked-event", ""); st != 404 {
		t.Fatalf("last-acked-event before any delivery: %d %s; want 404", st, b)
	}
	setDestTransformation(t, env, app.ID, d.ID, `function handler(input) {
		if (input.events[0].payload.i === 1) { return {cancel: true}; }
		return {method: "PUT", headers: {"X-Batch": input.method + " " + input.url.length},
			payload: {count: input.events.length, ids: input.events.map(function (e) { return e.id; }), key: input.variables.k}};
	}`, map[string]string{"k": "sekret-value"})

	c := env.SDK(env.APIKey)
	m0, err := c.Message.Create(ctx, app.ID, svixMessage("tf.event", 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := c.Message.Create(ctx, app.ID, svixMessage("tf.event", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	attemptsOf := func(status tenants.Status) int {
		var n int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM destination_attempts WHERE destination_id = $1 AND status = $2`, d.ID, int16(status)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, 30*time.Second, "the transformed batch and the canceled one", func() bool {
		return len(requests()) >= 1 && attemptsOf(tenants.StatusCanceled) >= 1
	})
	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("the receiver got %d requests; the canceled batch must send nothing", len(reqs))
	}
	r := reqs[0]
	if r.sigErr != nil {
		t.Fatalf("signature over the transformed body: %v", r.sigErr)
	}
	want := toJSON(map[string]any{"count": 1, "ids": []string{m0.Id}, "key": "sekret-value"})
	if string(r.body) != want || r.method != "PUT" || r.header.Get("X-Batch") == "" || !strings.HasPrefix(r.header.Get("X-Batch"), "POST ") {
		t.Fatalf("got %s %s (X-Batch %q); want PUT %s", r.method, r.body, r.header.Get("X-Batch"), want)
	}

	var ev struct {
		EventType string    `json:"eventType"`
		Payload   string    `json:"payload"`
		Timestamp time.Time `json:"timestamp"`
	}
	st, b := rawAPI(t, env, "GET", base+"/last-acked-event", "")
	if st != 200 || json.Unmarshal(b, &ev) != nil || ev.EventType != "tf.event" || !strings.Contains(ev.Payload, `"i":0`) {
		t.Fatalf("last-acked-event: %d %s; want message 0 (%s): the canceled one was not acknowledged", st, b, m0.Id)
	}
	if st, b := rawAPI(t, env, "GET", base+"/next-event", ""); st != 404 {
		t.Fatalf("next-event when caught up: %d %s; want 404", st, b)
	}
	_ = m1

	// A handler that loops, then one that throws, fails the attempt,
	// clearly, and is retried.
	failedWith := func(want string) func() bool {
		return func() bool {
			var list struct {
				Data []struct {
					Response string `json:"response"`
				} `json:"data"`
			}
			st, b := rawAPI(t, env, "GET", base+"/attempt?status=2", "")
			if st != 200 || json.Unmarshal(b, &list) != nil {
				t.Fatalf("attempts: %d %s", st, b)
			}
			for _, a := range list.Data {
				if strings.HasPrefix(a.Response, "transformation_error: ") && strings.Contains(a.Response, want) {
					return true
				}
			}
			return false
		}
	}
	setDestTransformation(t, env, app.ID, d.ID, `function handler(input) { while (true) {} }`, nil)
	if _, err := c.Message.Create(ctx, app.ID, svixMessage("tf.event", 2), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "an attempt failed by the time limit", failedWith("did not finish within"))
	setDestTransformation(t, env, app.ID, d.ID, `function handler(input) { throw new Error("boom in batch"); }`, nil)
	waitFor(t, 30*time.Second, "an attempt failed by the exception", failedWith("boom in batch"))
	st, b = rawAPI(t, env, "GET", base+"/next-event", "")
	if st != 200 || json.Unmarshal(b, &ev) != nil || !strings.Contains(ev.Payload, `"i":2`) {
		t.Fatalf("next-event while the batch fails: %d %s; want message 2", st, b)
	}
	if n := len(requests()); n != 1 {
		t.Fatalf("the receiver got %d requests while the handler threw", n)
	}

	// Fixed (returning the input sends the batch as it is): it goes.
	setDestTransformation(t, env, app.ID, d.ID, `function handler(input) { return input; }`, nil)
	waitFor(t, 30*time.Second, "the batch after the fix", func() bool { return len(requests()) >= 2 })
	r = requests()[1]
	var events []struct {
		ID      string          `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	if r.sigErr != nil || r.method != "POST" || json.Unmarshal(r.body, &events) != nil || len(events) != 1 || string(events[0].Payload) != `{"i":2}` {
		t.Fatalf("after the fix: %s %s (signature: %v); want the untransformed batch", r.method, r.body, r.sigErr)
	}
	// The receiver answered; the outcome is recorded just after.
	waitFor(t, 10*time.Second, "last-acked-event to be message 2", func() bool {
		st, b := rawAPI(t, env, "GET", base+"/last-acked-event", "")
		return st == 200 && json.Unmarshal(b, &ev) == nil && strings.Contains(ev.Payload, `"i":2`)
	})
}

// TestDestinationTransform_RabbitMQ: a RabbitMQ destination's handler
// returns payloads, and each is one message on the real broker, in order,
// signed over what was published.
func TestDestinationTransform_RabbitMQ(t *testing.T) {
	t.Parallel()
	queue, ch := rabbitQueue(t)
	deliveries, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: slowSchedule()})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit-tf"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: rabbitURL, RoutingKey: queue, BatchSize: 10, MaxWait: 1})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := env.Store.DestinationSecret(ctx, env.TenantID, app.ID, d.ID)
	verify, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	setDestTransformation(t, env, app.ID, d.ID, `function handler(input) {
		var payloads = [];
		input.events.forEach(function (e) {
			payloads.push(JSON.stringify({id: e.id, type: e.eventType}));
			payloads.push({n: e.payload.i, tag: input.variables.tag});
		});
		return {payloads: payloads};
	}`, map[string]string{"tag": "t1"})

	c := env.SDK(env.APIKey)
	var want []string
	for i := range 3 {
		m, err := c.Message.Create(ctx, app.ID, svixMessage("rabbit.tf", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, toJSON(map[string]any{"id": m.Id, "type": "rabbit.tf"}), toJSON(map[string]any{"n": i, "tag": "t1"}))
	}
	var bodies []string
	deadline := time.After(30 * time.Second)
	for len(bodies) < len(want) {
		select {
		case m := <-deliveries:
			h := http.Header{}
			for k, v := range m.Headers {
				if s, ok := v.(string); ok {
					h.Set(k, s)
				}
			}
			if err := verify.Verify(m.Body, h); err != nil {
				t.Fatalf("message %d: signature over the published body: %v", len(bodies), err)
			}
			bodies = append(bodies, string(m.Body))
		case <-deadline:
			t.Fatalf("the queue got %d of %d payloads: %q", len(bodies), len(want), bodies)
		}
	}
	if !slices.Equal(bodies, want) {
		t.Fatalf("published %q; want %q", bodies, want)
	}
}
