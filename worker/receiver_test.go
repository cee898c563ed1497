package worker_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// received is one request a test receiver got.
type received struct {
	At      time.Time
	Header  http.Header
	Body    []byte
	Attempt int // 1-based, per webhook-id
	Method  string
	Path    string
}

// receiver is a real HTTP server that records what it gets and answers
// with a scripted status per attempt of each message.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	counts map[string]int
	// answer returns the status for attempt n (1-based) of message id.
	answer func(id string, n int, r *http.Request) int
	notify chan struct{}
}

func newReceiver(t *testing.T, answer func(id string, n int, r *http.Request) int) *receiver {
	rc := &receiver{counts: map[string]int{}, answer: answer, notify: make(chan struct{}, 1000)}
	if rc.answer == nil {
		rc.answer = func(string, int, *http.Request) int { return 200 }
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		if id == "" {
			id = r.Header.Get("svix-id")
		}
		rc.mu.Lock()
		rc.counts[id]++
		n := rc.counts[id]
		rc.got = append(rc.got, received{At: time.Now(), Header: r.Header.Clone(), Body: body, Attempt: n, Method: r.Method, Path: r.URL.Path})
		rc.mu.Unlock()
		status := rc.answer(id, n, r)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"ok":` + map[bool]string{true: "true", false: "false"}[status < 300] + `}`))
		select {
		case rc.notify <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
