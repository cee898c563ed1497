// Package billingtest helps tests talk to Stripe's official mock server:
// it starts stripe-mock on a free port and records what stripe-go sent.
// Only tests import it.
package billingtest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// StripeMockVersion is the stripe-mock the tests are written against.
const StripeMockVersion = "v0.203.0"

// StripeMockPath finds the stripe-mock binary: $HOOKLINE_STRIPE_MOCK, then
// PATH, then $(go env GOPATH)/bin, where `go install` puts it.
func StripeMockPath() (string, error) {
	if p := os.Getenv("HOOKLINE_STRIPE_MOCK"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("HOOKLINE_STRIPE_MOCK=%s: %w; install stripe-mock with `go install github.com/stripe/stripe-mock@%s`", p, err, StripeMockVersion)
		}
		return p, nil
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("stripe-mock not found on PATH nor in $(go env GOPATH)/bin: install it with "+
		"`go install github.com/stripe/stripe-mock@%s` (`make test` does this), or set HOOKLINE_STRIPE_MOCK to its path", StripeMockVersion)
}

var listenRE = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// StartStripeMock starts stripe-mock on a free port and returns its base
// URL; it stops when tb ends. A missing binary fails the test with how to
// install it.
func StartStripeMock(tb testing.TB) string {
	tb.Helper()
	u, stop, err := startStripeMock()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return u
}

// StartStripeMockMain is StartStripeMock for TestMain, where there is no
// testing.TB: it returns the URL and a stop function.
func StartStripeMockMain() (string, func(), error) { return startStripeMock() }

func startStripeMock() (string, func(), error) {
	bin, err := StripeMockPath()
	if err != nil {
		return "", nil, err
	}
	// Port 0 lets the system choose; stripe-mock prints the address.
	// (-http-port alone also keeps it from opening its fixed HTTPS port,
	// which parallel test processes would fight over.)
	cmd := exec.Command(bin, "-http-port", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr := make(chan string, 1)
	var log bytes.Buffer
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			log.WriteString(line + "\n")
			logMu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		// Keep draining so stripe-mock never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		port := a[strings.LastIndex(a, ":")+1:]
		base := "http://127.0.0.1:" + port
		if err := waitReady(base); err != nil {
			stop()
			return "", nil, err
		}
		return base, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		logMu.Lock()
		defer logMu.Unlock()
		return "", nil, fmt.Errorf("stripe-mock did not start within 30s; its output:\n%s", log.String())
	}
}

func waitReady(base string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/v1/customers", nil)
		req.SetBasicAuth("sk_test_123", "")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stripe-mock at %s does not answer: %w", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Request is one request stripe-go sent.
type Request struct {
	Method string
	Path   string
	// Form is the decoded form body (stripe-go sends application/x-www-form-urlencoded).
	Form           url.Values
	IdempotencyKey string
	// Status is the answer's status code (0 when none arrived).
	Status int
}

// Recorder is an http.RoundTripper that records every request before
// passing it on. It is safe for concurrent use.
type Recorder struct {
	// Next carries the requests; nil means http.DefaultTransport.
	Next http.RoundTripper

	mu   sync.Mutex
	reqs []Request
}

// RoundTrip records r and sends it on.
func (rec *Recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	next := rec.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	req := Request{Method: r.Method, Path: r.URL.Path, Form: form, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if resp != nil {
		req.Status = resp.StatusCode
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, req)
	rec.mu.Unlock()
	return resp, err
}

// Requests returns what was sent so far, optionally only to method and
// path (empty matches any).
func (rec *Recorder) Requests(method, path string) []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []Request
	for _, r := range rec.reqs {
		if (method == "" || r.Method == method) && (path == "" || r.Path == path) {
			out = append(out, r)
		}
	}
	return out
}

// Client returns an *http.Client whose transport is rec.
func (rec *Recorder) Client() *http.Client {
	return &http.Client{Transport: rec, Timeout: 30 * time.Second}
}

// SignStripe returns the Stripe-Signature header Stripe would send with
// payload at t, signed with secret: "t=<unix>,v1=<hex hmac>".
func SignStripe(payload []byte, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(webhook.ComputeSignature(t, payload, secret)))
}
