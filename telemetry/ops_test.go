package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

func ptr[T any](v T) *T { return &v }

// idPattern matches any Hookline id (a prefix and a 27-character KSUID).
var idPattern = regexp.MustCompile(`(org|app|ep|msg|atmpt|key)_[0-9A-Za-z]{27}`)

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scrape fetches /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// series returns the series of metric name whose labels include labels.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s is missing", name)
	}
	for _, m := range f.GetMetric() {
		if labelsMatch(m, labels) {
			return m
		}
	}
	t.Fatalf("metric %s has no series %v", name, labels)
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return series(t, fams, name, labels).GetCounter().GetValue()
}

func histogramCount(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	t.Helper()
	return series(t, fams, name, labels).GetHistogram().GetSampleCount()
}

// TestMetrics scrapes /metrics after one successful delivery, one 500 and
// one timeout, and reads each counter and histogram back.
func TestMetrics(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: worker.Options{
		RetrySchedule: []time.Duration{}, DeliveryTimeout: 300 * time.Millisecond,
	}})
	mk := func(h http.HandlerFunc) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	okURL := mk(func(w http.ResponseWriter, r *http.Request) {})
	failURL := mk(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	slowURL := mk(func(w http.ResponseWriter, r *http.Request) { time.Sleep(600 * time.Millisecond) })
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{okURL, failURL, slowURL} {
		if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: u}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "a.b", Payload: map[string]any{"k": 1}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "three attempts", func() bool {
		f := scrape(t, env.URL)
		return counter(t, f, "hookline_deliveries_total", map[string]string{"outcome": "success"})+
			counter(t, f, "hookline_deliveries_total", map[string]string{"outcome": "http_error"})+
			counter(t, f, "hookline_deliveries_total", map[string]string{"outcome": "timeout"}) == 3
	})
	f := scrape(t, env.URL)
	for outcome, want := range map[string]float64{"success": 1, "http_error": 1, "timeout": 1, "connection_error": 0, "ssrf_blocked": 0, "throttled": 0, "circuit_open": 0} {
		if got := counter(t, f, "hookline_deliveries_total", map[string]string{"outcome": outcome}); got != want {
			t.Errorf("deliveries{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if n := histogramCount(t, f, "hookline_receiver_response_seconds", nil); n != 3 {
		t.Errorf("receiver response histogram has %d samples, want 3", n)
	}
	if n := histogramCount(t, f, "hookline_delivery_latency_seconds", nil); n != 1 {
		t.Errorf("end-to-end latency histogram has %d samples, want 1 (the one success)", n)
	}
	// RED for the API, by route template.
	if got := counter(t, f, "hookline_http_requests_total", map[string]string{"route": "/api/v1/app/:app_id/msg", "method": "POST", "status_class": "2xx"}); got != 1 {
		t.Errorf("requests{route=msg create, 2xx} = %v, want 1", got)
	}
	if got := counter(t, f, "hookline_http_requests_total", map[string]string{"route": "/api/v1/app/:app_id/endpoint", "method": "POST", "status_class": "2xx"}); got != 3 {
		t.Errorf("requests{route=endpoint create, 2xx} = %v, want 3", got)
	}
	if n := histogramCount(t, f, "hookline_http_request_duration_seconds", map[string]string{"route": "/api/v1/app", "method": "POST"}); n != 1 {
		t.Errorf("request duration samples for POST /api/v1/app = %d, want 1", n)
	}
	// No series carries an id.
	for name, fam := range f {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if idPattern.MatchString(l.GetValue()) {
					t.Errorf("%s carries an id in label %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestTracing: one trace runs from the API request through the enqueue to
// the delivery attempt, and the receiver gets its traceparent.
func TestTracing(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	env := testenv.New(t, testenv.Options{Worker: true, Tracer: tp})
	var mu sync.Mutex
	var traceparent string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparent = r.Header.Get("traceparent")
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "t"}, nil)
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: recv.URL}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "a.b", Payload: map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	var spans map[string]sdktrace.ReadOnlySpan
	waitFor(t, 10*time.Second, "the delivery span", func() bool {
		spans = map[string]sdktrace.ReadOnlySpan{}
		for _, s := range rec.Ended() {
			spans[s.Name()] = s
		}
		_, ok := spans["webhook:deliver"]
		return ok
	})
	api, enq, del, post := spans["POST /api/v1/app/:app_id/msg"], spans["enqueue deliveries"], spans["webhook:deliver"], spans["POST webhook"]
	for name, s := range map[string]sdktrace.ReadOnlySpan{"api": api, "enqueue": enq, "deliver": del, "post": post} {
		if s == nil {
			t.Fatalf("no %s span; have %v", name, keys(spans))
		}
	}
	id := api.SpanContext().TraceID()
	for name, s := range map[string]sdktrace.ReadOnlySpan{"enqueue": enq, "deliver": del, "post": post} {
		if s.SpanContext().TraceID() != id {
			t.Errorf("%s span is in trace %s, the request in %s", name, s.SpanContext().TraceID(), id)
		}
	}
	if enq.Parent().SpanID() != api.SpanContext().SpanID() || del.Parent().SpanID() != enq.SpanContext().SpanID() ||
		post.Parent().SpanID() != del.SpanContext().SpanID() {
		t.Error("spans are not chained request -> enqueue -> deliver -> POST")
	}
	if del.SpanKind() != trace.SpanKindConsumer || post.SpanKind() != trace.SpanKindClient {
		t.Errorf("span kinds: deliver %v, post %v", del.SpanKind(), post.SpanKind())
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(traceparent, id.String()) {
		t.Errorf("receiver's traceparent %q does not carry trace %s", traceparent, id)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogs_NoSecretsAndRequestID: every line is JSON; the request id given
// by the caller is echoed and follows the message into its delivery's log
// line; no API key, token, endpoint secret, sensitive header or payload
// appears anywhere in the log.
func TestLogs_NoSecretsAndRequestID(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := testenv.New(t, testenv.Options{Worker: true, Log: log})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer receiver-credential-7f3a" {
			w.WriteHeader(401)
		}
	}))
	t.Cleanup(recv.Close)
	ctx := context.Background()
	secrets := []string{env.APIKey, env.JWT, "receiver-credential-7f3a", "payload-marker-91c2"}
	for _, token := range []string{env.APIKey, env.JWT} {
		c := env.SDK(token)
		app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "l"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: recv.URL,
			Headers: &map[string]string{"Authorization": "Bearer receiver-credential-7f3a"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sec, _ := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
		_ = c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{}, nil)
		sec2, _ := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
		secrets = append(secrets, sec.Key, sec.Key[len("whsec_"):], sec2.Key, sec2.Key[len("whsec_"):])
		// A message sent with a request id of the caller's.
		body := `{"eventType":"a.b","payload":{"card":"payload-marker-91c2"}}`
		req, _ := http.NewRequest("POST", env.URL+"/api/v1/app/"+app.Id+"/msg", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Request-Id", "req-from-caller-"+token[:3])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-Id"); got != "req-from-caller-"+token[:3] {
			t.Errorf("X-Request-Id echoed as %q", got)
		}
		_, _ = c.Message.List(ctx, app.Id, &svix.MessageListOptions{WithContent: ptr(true)})
		// A bad request, so error paths log too.
		r2, _ := http.NewRequest("POST", env.URL+"/api/v1/app/"+app.Id+"/msg", strings.NewReader(`{"payload":"payload-marker-91c2"`))
		r2.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(r2); err == nil {
			resp.Body.Close()
		}
	}
	// A failed authentication with a wrong key.
	r3, _ := http.NewRequest("GET", env.URL+"/api/v1/app", nil)
	r3.Header.Set("Authorization", "Bearer sk_wrong-key-that-must-not-be-logged")
	secrets = append(secrets, "sk_wrong-key-that-must-not-be-logged")
	if resp, err := http.DefaultClient.Do(r3); err == nil {
		resp.Body.Close()
	}
	waitFor(t, 10*time.Second, "both deliveries' log lines", func() bool {
		return strings.Count(buf.String(), `"msg":"delivery attempt"`) >= 2
	})

	out := buf.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the log contains a secret: %.12s…", s)
		}
	}
	foundDelivery := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "delivery attempt" {
			rid, _ := rec["request_id"].(string)
			if !strings.HasPrefix(rid, "req-from-caller-") {
				t.Errorf("delivery log line without the caller's request id: %s", line)
			}
			for _, k := range []string{"msg_id", "endpoint_id", "attempt", "status_code", "duration_ms"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("delivery log line lacks %s: %s", k, line)
				}
			}
			foundDelivery++
		}
		if rec["msg"] == "http request" {
			for _, k := range []string{"request_id", "tenant_id", "route", "status", "duration_ms"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("access log line lacks %s: %s", k, line)
				}
			}
		}
	}
	if foundDelivery < 2 {
		t.Errorf("%d delivery log lines, want 2", foundDelivery)
	}
}
