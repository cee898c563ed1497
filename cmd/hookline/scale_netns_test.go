//go:build scale

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"golang.org/x/sys/unix"

	"github.com/hookline/hookline/store/storetest"
)

// netlab is a set of network namespaces made by a test: a hub namespace
// holding a bridge, Redis, a PostgreSQL forwarder and the receiver, and
// one namespace per Hookline host, each joined to the bridge by a veth
// pair. Its addresses (10.213.N.0/24) exist only inside these namespaces;
// the host's own network is not touched, and the test reaches the hub by
// creating its sockets there (setns on a locked thread).
type netlab struct {
	t      *testing.T
	prefix string // namespace name prefix
	subnet string // "10.213.N."
	hosts  map[string]string
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetlab makes the hub and one namespace per host name, or skips the
// test where namespaces cannot be made (not root, no ip, a sandbox).
func newNetlab(t *testing.T, hosts ...string) *netlab {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace test skipped: no ip command (iproute2)")
	}
	n := os.Getpid()%200 + 20
	lab := &netlab{t: t, prefix: fmt.Sprintf("hl%d", os.Getpid()), subnet: fmt.Sprintf("10.213.%d.", n), hosts: map[string]string{}}
	hub := lab.ns("hub")
	if err := ipCmd("netns", "add", hub); err != nil {
		t.Skipf("network namespace test skipped: cannot create a network namespace here (%v)", err)
	}
	t.Cleanup(func() {
		for _, h := range append([]string{"hub"}, hosts...) {
			_ = ipCmd("netns", "del", lab.ns(h))
		}
	})
	must := func(args ...string) {
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("-n", hub, "link", "set", "lo", "up")
	must("-n", hub, "link", "add", "br0", "type", "bridge")
	must("-n", hub, "addr", "add", lab.subnet+"1/24", "dev", "br0")
	must("-n", hub, "link", "set", "br0", "up")
	for i, h := range hosts {
		ns := lab.ns(h)
		must("netns", "add", ns)
		must("-n", ns, "link", "set", "lo", "up")
		peer := "v" + strconv.Itoa(i)
		must("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", hub)
		ip := lab.subnet + strconv.Itoa(10+i)
		must("-n", ns, "addr", "add", ip+"/24", "dev", "eth0")
		must("-n", ns, "link", "set", "eth0", "up")
		must("-n", hub, "link", "set", peer, "master", "br0")
		must("-n", hub, "link", "set", peer, "up")
		lab.hosts[h] = ip
	}
	return lab
}

func (l *netlab) ns(h string) string { return l.prefix + h }
func (l *netlab) hubIP() string      { return l.subnet + "1" }

// inHub runs f on a thread switched into the hub namespace, so sockets f
// creates live there.
func (l *netlab) inHub(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: a thread that fails to switch back dies with the goroutine
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + l.ns("hub"))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := setns(orig); err != nil {
			errc <- fmt.Errorf("switch back from the hub namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// httpClient dials from the hub namespace.
func (l *netlab) httpClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			var c net.Conn
			err := l.inHub(func() (err error) {
				c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, a)
				return err
			})
			return c, err
		},
		MaxIdleConnsPerHost: 16,
	}}
}

// listen opens a TCP listener on the hub's address.
func (l *netlab) listen() net.Listener {
	var ln net.Listener
	if err := l.inHub(func() (err error) { ln, err = net.Listen("tcp", l.hubIP()+":0"); return err }); err != nil {
		l.t.Fatal(err)
	}
	return ln
}

// exec starts a program inside host h's namespace ("hub" included).
func (l *netlab) exec(h string, env map[string]string, prog string, args ...string) *proc {
	l.t.Helper()
	p := startProcEnv(l.t, env, "ip", append([]string{"netns", "exec", l.ns(h), prog}, args...)...)
	return p
}

// TestScale_Netns runs two API hosts and two worker hosts, each in its own
// network namespace, on one Redis and (through a forwarder) the machine's
// PostgreSQL, all reached over a bridge. Under steady load through both
// API hosts, one worker host's link is cut (ip link set eth0 down) and
// restored, then one API host is SIGKILLed while clients retry on the
// other with the same idempotency key: every message that got a 2xx is
// delivered. Delivery settings are the production defaults, so tasks the
// cut worker held while its heartbeats failed come back through asynq's
// lease expiry, recoverer and retry schedule: up to about two minutes.
func TestScale_Netns(t *testing.T) {
	lab := newNetlab(t, "api1", "api2", "wrk1", "wrk2")
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("network namespace test skipped: socat is not installed")
	}
	bin := filepath.Join(t.TempDir(), "hookline")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	hub := lab.hubIP()
	lab.exec("hub", nil, "redis-server", "--bind", hub, "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no")
	// PostgreSQL listens on loopback and its Unix socket; the socket is
	// reachable from any namespace, so the hub forwards TCP to it.
	lab.exec("hub", nil, "socat", "TCP-LISTEN:5432,bind="+hub+",fork,reuseaddr", "UNIX-CONNECT:/var/run/postgresql/.s.PGSQL.5432")
	dsn := storetest.NewDatabase(t)
	u := mustURL(t, dsn)
	u.Host = hub + ":5432"
	env := testSecrets(u.String())
	env["HOOKLINE_REDIS_URL"] = "redis://" + hub + ":6379/0"
	env["HOOKLINE_ALLOW_PRIVATE_TARGETS"] = "true" // the receiver is on the bridge
	env["HOOKLINE_ADMIN_TOKEN"] = scaleOpToken
	env["HOOKLINE_LOG_FORMAT"] = "text"
	env["PATH"] = os.Getenv("PATH")
	hc := lab.httpClient()
	procs := map[string]*proc{}
	for _, h := range []string{"api1", "api2", "wrk1", "wrk2"} {
		e := map[string]string{"HOOKLINE_LISTEN": lab.hosts[h] + ":8080"}
		for k, v := range env {
			e[k] = v
		}
		roleName := "serve"
		if strings.HasPrefix(h, "wrk") {
			roleName = "worker"
		}
		procs[h] = lab.exec(h, e, bin, roleName)
	}
	for _, ip := range lab.hosts {
		waitUntil(t, 30*time.Second, func() bool {
			resp, err := hc.Get("http://" + ip + ":8080/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}

	rc := newReceiver(t, lab.listen())
	rc.delay = 150 * time.Millisecond // the cut catches deliveries in flight
	api1, api2 := "http://"+lab.hosts["api1"]+":8080", "http://"+lab.hosts["api2"]+":8080"
	key := provisionWith(t, hc, api1)
	client := func(base string) *svix.Svix {
		c, err := svix.New(key, &svix.SvixOptions{ServerUrl: mustURL(t, base), HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := client(api1), client(api2)
	appID := setupApp(t, c1, rc.URL, rc)
	s := startSender(t, []*svix.Svix{c1, c2}, appID, 4, 20*time.Millisecond, 100000)
	waitUntil(t, 20*time.Second, func() bool { return len(s.ids()) >= 100 })

	t0 := time.Now()
	// One worker host loses its link to Redis, PostgreSQL and receivers.
	if err := ipCmd("-n", lab.ns("wrk1"), "link", "set", "eth0", "down"); err != nil {
		t.Fatal(err)
	}
	cutAt := len(s.ids())
	waitUntil(t, 30*time.Second, func() bool { return len(s.ids()) >= cutAt+150 })
	time.Sleep(3 * time.Second) // the partition lasts a while longer (the scenario, not a wait)
	if err := ipCmd("-n", lab.ns("wrk1"), "link", "set", "eth0", "up"); err != nil {
		t.Fatal(err)
	}
	restoredAt := len(s.ids())
	t.Logf("link restored after %v", time.Since(t0).Round(time.Second))
	waitUntil(t, 30*time.Second, func() bool { return len(s.ids()) >= restoredAt+100 })

	// One API host dies; the clients retry on the other.
	procs["api1"].kill()
	killedAt, killT := len(s.ids()), time.Now()
	waitUntil(t, 30*time.Second, func() bool { return len(s.ids()) >= killedAt+200 })
	t.Logf("API host killed %v in; load stops %v in", killT.Sub(t0).Round(time.Second), time.Since(t0).Round(time.Second))
	s.halt()
	ids := s.ids()
	t.Logf("%d messages accepted (link cut at %d, restored at %d, API host killed at %d); %d requests failed and were retried",
		len(ids), cutAt, restoredAt, killedAt, s.failed)
	start := time.Now()
	waitDelivered(t, rc, ids, 240*time.Second)
	t.Logf("all delivered %v after the load stopped", time.Since(start).Round(time.Second))
	if rc.badSig > 0 {
		t.Errorf("%d deliveries with a bad signature", rc.badSig)
	}
	dups := 0
	for _, id := range ids {
		if rc.count(id) > 1 {
			dups++
		}
	}
	t.Logf("%d of %d messages delivered more than once", dups, len(ids))
	// The worker whose link was cut is healthy again.
	resp, err := hc.Get("http://" + lab.hosts["wrk1"] + ":8080/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("wrk1 not ready after its link came back: %v", err)
	} else {
		resp.Body.Close()
	}
}

// provisionWith creates a tenant through the operator API with hc.
func provisionWith(t *testing.T, hc *http.Client, base string) string {
	t.Helper()
	old := http.DefaultClient
	http.DefaultClient = hc
	defer func() { http.DefaultClient = old }()
	return provision(t, base)
}
