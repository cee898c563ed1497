package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store/storetest"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runningAll is a `hookline all` started by a test.
type runningAll struct {
	base string
	env  map[string]string
	stop context.CancelFunc
	done chan error

	once sync.Once
	err  error
}

// wait returns run's result once it has returned (stopped), waiting at
// most d. It may be called again.
func (r *runningAll) wait(d time.Duration) (stopped bool, err error) {
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err; close(r.done) })
	case <-time.After(d):
		return false, nil
	}
	return true, r.err
}

// startAll runs `hookline all` as main does, on a fresh database and Redis
// namespace with private targets allowed and at most 8 PostgreSQL
// connections, once it answers /readyz. extra adds or overrides variables.
// The process is stopped when the test ends, if the test has not stopped
// it.
func startAll(t *testing.T, extra map[string]string) *runningAll {
	t.Helper()
	return startInProcess(t, "all", extra)
}

// startInProcess is startAll for any long-running role (all, serve,
// worker): each answers /readyz on HOOKLINE_LISTEN.
func startInProcess(t *testing.T, role string, extra map[string]string) *runningAll {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	redisURL, ns := redistest.Namespace(t)
	port := freePort(t)
	env := testSecrets(dsn)
	env["HOOKLINE_REDIS_URL"] = redisURL
	env["HOOKLINE_QUEUE"] = ns
	env["HOOKLINE_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
	env["HOOKLINE_ALLOW_PRIVATE_TARGETS"] = "true"
	// Not the default 40: these tests run in parallel, beside other
	// packages' tests, on a PostgreSQL of 100 connections.
	env["HOOKLINE_DB_MAX_CONNS"] = "8"
	for k, v := range extra {
		env[k] = v
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &runningAll{base: "http://127.0.0.1:" + strconv.Itoa(port), env: env, stop: stop, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, []string{role}, envMap(env), io.Discard, &syncWriter{w: io.Discard}) }()
	t.Cleanup(func() {
		stop()
		r.wait(15 * time.Second)
	})
	waitUntil(t, 10*time.Second, func() bool {
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

// TestAll_EndToEnd runs the binary's `all` role as main does, provisions a
// tenant through the operator API, sends a message and sees it delivered,
// then stops it the way SIGTERM does.
func TestAll_EndToEnd(t *testing.T) {
	t.Parallel()
	var got atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") != "" {
			got.Add(1)
		}
	}))
	defer recv.Close()
	app := startAll(t, map[string]string{
		"HOOKLINE_ADMIN_TOKEN": "op-token-for-the-all-test-0123456789", "HOOKLINE_SHUTDOWN_TIMEOUT": "3s", "HOOKLINE_DRAIN_DELAY": "1s",
	})
	base := app.base

	do := func(method, path, token, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	created := do("POST", "/admin/v1/tenants", "op-token-for-the-all-test-0123456789", `{"name":"Acme"}`)
	key := created["apiKey"].(map[string]any)["key"].(string)
	do("POST", "/api/v1/app", key, `{"name":"shop","uid":"shop"}`)
	do("POST", "/api/v1/app/shop/endpoint", key, `{"url":"`+recv.URL+`"}`)
	do("POST", "/api/v1/app/shop/msg", key, `{"eventType":"order.paid","payload":{"id":7}}`)
	waitUntil(t, 10*time.Second, func() bool { return got.Load() == 1 })

	app.stop()
	// While draining, readiness fails but the server still answers.
	waitUntil(t, time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	stopped, err := app.wait(10 * time.Second)
	if !stopped {
		t.Fatal("hookline all did not stop within 10 s of its signal")
	}
	if err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncWriter serialises writes from the process's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
