//go:build scale

package main

// Helpers for the scale tests (make test-scale, build tag "scale"): real
// redis-server, sentinel, cluster and pgbouncer processes started on free
// loopback ports, Hookline roles run as main runs them, a receiver that
// verifies signatures, and a steady sender through the Svix SDK.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/redistest"
)

// proc is a server process a test started; it is killed when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProc runs name with args, its output in a file shown if the test fails.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, nil, name, args...)
}

// startProcEnv is startProc with the environment env (nil: the test's).
func startProcEnv(t *testing.T, env map[string]string, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Servers die with the test binary even if it is killed before its
	// cleanups run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if env != nil {
		cmd.Env = []string{}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- %s %v (tail of its log):\n%s", name, args, b)
		}
	})
	return p
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// startRedisConf starts redis-server with a config file made of lines
// (writable, as sentinels rewrite theirs); sentinel runs it as one.
func startRedisConf(t *testing.T, port int, sentinel bool, lines ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	conf := append([]string{"bind 127.0.0.1", "port " + strconv.Itoa(port), "dir " + dir, `save ""`, "appendonly no", "protected-mode no"}, lines...)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{path}
	if sentinel {
		args = append(args, "--sentinel")
	}
	p := startProc(t, "redis-server", args...)
	waitUntil(t, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr(port), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return p
}

// runningRole is a Hookline role run in this process the way main runs it.
type runningRole struct {
	base string
	stop context.CancelFunc
	done chan error
	logs *lockedBuffer
}

// scaleOpToken is the operator token the scale tests' processes run with
// (HOOKLINE_ADMIN_TOKEN must be at least 32 characters).
const scaleOpToken = "op-token-for-the-scale-tests-0123456789"

// startRole runs `hookline NAME` with env (secrets, database and Redis
// included) listening on a free port, once /readyz answers 200.
func startRole(t *testing.T, name string, env map[string]string) *runningRole {
	t.Helper()
	port := freePort(t)
	e := map[string]string{"HOOKLINE_LISTEN": addr(port), "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true", "HOOKLINE_ADMIN_TOKEN": scaleOpToken, "HOOKLINE_LOG_FORMAT": "text"}
	for k, v := range env {
		e[k] = v
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &runningRole{base: "http://" + addr(port), stop: stop, done: make(chan error, 1), logs: &lockedBuffer{}}
	go func() { r.done <- run(ctx, []string{name}, envMap(e), io.Discard, r.logs) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Errorf("hookline %s did not stop within 30 s", name)
		}
		if t.Failed() {
			s := r.logs.String()
			if len(s) > 6000 {
				s = s[len(s)-6000:]
			}
			t.Logf("--- hookline %s log (tail):\n%s", name, s)
		}
	})
	waitUntil(t, 20*time.Second, func() bool {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			t.Fatalf("hookline %s stopped: %v\n%s", name, err, r.logs.String())
		default:
		}
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return r
}

// provision creates a tenant through the operator API and returns its key.
func provision(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/admin/v1/tenants", strings.NewReader(`{"name":"Scale"}`))
	req.Header.Set("Authorization", "Bearer "+scaleOpToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		APIKey struct {
			Key string `json:"key"`
		} `json:"apiKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode/100 != 2 || out.APIKey.Key == "" {
		t.Fatalf("create tenant: %d %v", resp.StatusCode, err)
	}
	return out.APIKey.Key
}

func sdk(t *testing.T, base, key string) *svix.Svix {
	t.Helper()
	c, err := svix.New(key, &svix.SvixOptions{ServerUrl: mustURL(t, base)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// receiver is a webhook receiver that verifies every signature and counts
// deliveries per message id. fail, when set, gives the status to answer
// for a message's nth (from 1) delivery (0: the usual 204).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	got      map[string]int // msg id -> deliveries
	badSig   int
	fail     func(msgID string, n int, body []byte) int
	delay    time.Duration // before answering, so deliveries are in flight
	listener net.Listener
}

func newReceiver(t *testing.T, ln net.Listener) *receiver {
	t.Helper()
	rc := &receiver{got: map[string]int{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		rc.mu.Lock()
		secret, delay := rc.secret, rc.delay
		rc.mu.Unlock()
		time.Sleep(delay)
		if secret != "" {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err == nil {
				err = wh.Verify(body, r.Header)
			}
			if err != nil {
				rc.mu.Lock()
				rc.badSig++
				rc.mu.Unlock()
				w.WriteHeader(400)
				return
			}
		}
		rc.mu.Lock()
		rc.got[id]++
		n := rc.got[id]
		fail := rc.fail
		rc.mu.Unlock()
		if fail != nil {
			if code := fail(id, n, body); code != 0 {
				w.WriteHeader(code)
				return
			}
		}
		w.WriteHeader(204)
	})
	if ln == nil {
		rc.Server = httptest.NewServer(h)
	} else {
		rc.Server = httptest.NewUnstartedServer(h)
		rc.Server.Listener.Close()
		rc.Server.Listener = ln
		rc.Server.Start()
	}
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setSecret(s string) { rc.mu.Lock(); rc.secret = s; rc.mu.Unlock() }

func (rc *receiver) count(id string) int { rc.mu.Lock(); defer rc.mu.Unlock(); return rc.got[id] }

// missing returns the ids among want that were never delivered.
func (rc *receiver) missing(want []string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, id := range want {
		if rc.got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// setupApp creates an application with one endpoint at url, tells rc the
// endpoint's secret, and returns the app id.
func setupApp(t *testing.T, c *svix.Svix, url string, rc *receiver) string {
	t.Helper()
	ctx := context.Background()
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "scale"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc != nil {
		s, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
		if err != nil {
			t.Fatal(err)
		}
		rc.setSecret(s.Key)
	}
	return app.Id
}

// sender sends messages steadily through the SDK, from several clients,
// and keeps the id of every message that was accepted (2xx).
type sender struct {
	mu       sync.Mutex
	accepted []string
	failed   int
	stop     chan struct{}
	wg       sync.WaitGroup
}

// startSender sends to appID through each of clients in turn (a client
// whose request fails retries on the next, as a client behind a load
// balancer would), workers goroutines at once, a message every gap each,
// until stopped or max messages were accepted.
func startSender(t *testing.T, clients []*svix.Svix, appID string, workers int, gap time.Duration, max int) *sender {
	s := &sender{stop: make(chan struct{})}
	for w := range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-s.stop:
					return
				case <-time.After(gap):
				}
				s.mu.Lock()
				done := len(s.accepted) >= max
				s.mu.Unlock()
				if done {
					return
				}
				// One idempotency key per message, reused on the retry
				// through the other host: what a careful client does.
				key := fmt.Sprintf("scale-%d-%d-%d", time.Now().UnixNano(), w, i)
				for try := range 2 * len(clients) {
					c := clients[(w+i+try)%len(clients)]
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					m, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "scale.tick", Payload: map[string]any{"w": w, "i": i}},
						&svix.MessageCreateOptions{IdempotencyKey: &key})
					cancel()
					s.mu.Lock()
					if err == nil {
						s.accepted = append(s.accepted, m.Id)
					} else {
						s.failed++
					}
					s.mu.Unlock()
					if err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond) // the client's back-off before its retry (behaviour, not a wait)
				}
			}
		}()
	}
	t.Cleanup(s.halt)
	return s
}

func (s *sender) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

func (s *sender) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, id := range s.accepted {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// waitDelivered waits until every accepted message reached rc.
func waitDelivered(t *testing.T, rc *receiver, ids []string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		miss := rc.missing(ids)
		if len(miss) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted messages never delivered within %v (e.g. %v)", len(miss), len(ids), d, miss[:min(5, len(miss))])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func redisPing(a, password string) error {
	c := redis.NewClient(&redis.Options{Addr: a, Password: password, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func redisClient(a, password string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: a, Password: password, DialTimeout: 500 * time.Millisecond})
}

func bgctx() context.Context { return context.Background() }

// redistestNamespace is a Redis namespace on the machine's Redis.
func redistestNamespace(t *testing.T) (string, string) { return redistest.Namespace(t) }
