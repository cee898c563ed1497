package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestMain lets a test start this test binary as the hookline command
// itself (HOOKLINE_TEST_AS_MAIN=1), to see exit statuses and signals as a
// user does.
func TestMain(m *testing.M) {
	if os.Getenv("HOOKLINE_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockedBuffer is a bytes.Buffer a process's output can be copied into
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// devProcess is `hookline dev` run by a test as a separate process.
type devProcess struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	waitErr        error
}

// devEnv is the environment of a dev process: nothing from the test's own
// environment but PATH, so that only what a newcomer has counts.
func devEnv(dsn, redisURL, queue string, port int) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOOKLINE_TEST_AS_MAIN=1",
		"HOOKLINE_DATABASE_URL=" + dsn,
		"HOOKLINE_REDIS_URL=" + redisURL,
		"HOOKLINE_QUEUE=" + queue,
		"HOOKLINE_LISTEN=127.0.0.1:" + strconv.Itoa(port),
		"HOOKLINE_SHUTDOWN_TIMEOUT=5s",
		// Not the default 40: the test PostgreSQL is shared by parallel
		// test processes.
		"HOOKLINE_DB_MAX_CONNS=8",
	}
}

// startDev runs `hookline dev` in dir; it is killed when the test ends if
// still running.
func startDev(t *testing.T, dir string, env []string) *devProcess {
	t.Helper()
	p := &devProcess{cmd: exec.Command(os.Args[0], "dev"), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited waits up to d for the process to end and returns its exit code.
func (p *devProcess) exited(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("hookline dev still runs %v later\nstdout:\n%s\nstderr:\n%s", d, p.stdout.String(), p.stderr.String())
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatal(p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// banner waits for the whole start-up text and returns it.
func (p *devProcess) banner(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.stdout.String(), "Stop with Ctrl-C.") {
		select {
		case <-p.done:
			t.Fatalf("hookline dev ended before printing its banner: %v\nstdout:\n%s\nstderr:\n%s", p.waitErr, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner within a minute\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p.stdout.String()
}

// printedCurl is the curl command of a banner, continuation lines joined
// as the shell reads them.
func printedCurl(t *testing.T, banner string) string {
	t.Helper()
	var cmd []string
	for _, line := range strings.Split(banner, "\n") {
		line = strings.TrimSpace(line)
		if len(cmd) == 0 && !strings.HasPrefix(line, "curl ") {
			continue
		}
		cmd = append(cmd, line)
		if !strings.HasSuffix(line, `\`) {
			break
		}
	}
	if len(cmd) == 0 {
		t.Fatalf("no curl command in:\n%s", banner)
	}
	return strings.Join(cmd, "\n")
}

func bannerField(t *testing.T, banner, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner lacks %s:\n%s", re, banner)
	}
	return m[1]
}

func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

// TestDev_FirstRunToVisibleDelivery is what a newcomer does: `hookline dev`
// in an empty directory against fresh databases, then the printed curl;
// the message shows at the demo receiver, verified, and in the portal's
// API with the printed link's token. Ctrl-C stops it with status 0; the
// next run prints the same key and stops on SIGTERM with status 0; a run
// on a busy port says so in one line and mints no key.
func TestDev_FirstRunToVisibleDelivery(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("this test runs the printed curl command; install curl")
	}
	dsn := storetest.NewDatabase(t)
	redisURL, ns := redistest.Namespace(t)
	port := freePort(t)
	dir := t.TempDir()
	env := devEnv(dsn, redisURL, ns, port)
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	var key string
	t.Run("FirstRun", func(t *testing.T) {
		p := startDev(t, dir, env)
		banner := p.banner(t)
		key = bannerField(t, banner, `api key:\s+(sk_\S+)`)
		if !strings.Contains(banner, "Hookline is running at "+base) {
			t.Errorf("banner does not say where it runs:\n%s", banner)
		}
		out, err := exec.Command("sh", "-c", printedCurl(t, banner)).CombinedOutput()
		if err != nil {
			t.Fatalf("the printed curl failed: %v\n%s", err, out)
		}
		var msg struct{ ID string }
		if err := json.Unmarshal(out, &msg); err != nil || !strings.HasPrefix(msg.ID, "msg_") {
			t.Fatalf("the printed curl answered %q (%v), want a message", out, err)
		}

		receiverURL := bannerField(t, banner, `(?m)^\s+(http://\S+/dev/receiver)\s`)
		jsonURL := bannerField(t, banner, `as JSON: (http://\S+)\)`)
		var got struct {
			Data []receivedWebhook `json:"data"`
		}
		waitUntil(t, 20*time.Second, func() bool {
			getJSON(t, jsonURL, "", &got)
			return len(got.Data) > 0
		})
		if r := got.Data[0]; r.MsgID != msg.ID || !r.Verified || !strings.Contains(string(r.Payload), `"ord_1"`) {
			t.Errorf("the demo receiver got %+v, want %s verified with the printed payload", r, msg.ID)
		}
		resp, err := http.Get(receiverURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(page, []byte(msg.ID)) || !bytes.Contains(page, []byte("verified")) {
			t.Errorf("the receiver's page does not show %s verified:\n%s", msg.ID, page)
		}

		portalToken := bannerField(t, banner, `/portal/#key=(\S+)`)
		var attempts struct {
			Data []struct {
				Status             int    `json:"status"`
				ResponseStatusCode int    `json:"responseStatusCode"`
				URL                string `json:"url"`
			} `json:"data"`
		}
		// The attempt is recorded once the receiver has answered.
		var code int
		waitUntil(t, 10*time.Second, func() bool {
			code = getJSON(t, base+"/api/v1/app/"+demoAppUID+"/attempt/msg/"+msg.ID, portalToken, &attempts)
			return code != 200 || len(attempts.Data) > 0
		})
		if code != 200 || len(attempts.Data) != 1 || attempts.Data[0].Status != 0 || attempts.Data[0].ResponseStatusCode != 204 ||
			attempts.Data[0].URL != base+demoReceiverPath {
			t.Errorf("the portal's API (%d) shows %+v, want one successful attempt at the receiver", code, attempts.Data)
		}

		checkDevLanding(t, base, banner, p)
		var et struct{ Name string }
		if code := getJSON(t, base+"/api/v1/event-type/order.paid", key, &et); code != 200 || et.Name != "order.paid" {
			t.Errorf("the demo's event type is not in the catalog: %d %+v", code, et)
		}
		// The instructions again, from the dev file, while it runs.
		info := exec.Command(os.Args[0], "dev", "--info")
		info.Dir, info.Env = dir, env
		out, err = info.Output()
		if err != nil || !strings.Contains(string(out), key) || !strings.Contains(string(out), "/console/#link=") || strings.Contains(string(out), "nothing answers") {
			t.Errorf("dev --info = %v:\n%s", err, out)
		}

		_ = p.cmd.Process.Signal(os.Interrupt)
		if code := p.exited(t, 20*time.Second); code != 0 {
			t.Errorf("exit status after SIGINT = %d, want 0\nstderr:\n%s", code, p.stderr.String())
		}
	})

	t.Run("SecondRunSameKey", func(t *testing.T) {
		p := startDev(t, dir, env)
		banner := p.banner(t)
		if again := bannerField(t, banner, `api key:\s+(sk_\S+)`); again != key {
			t.Errorf("second run printed key %s, first %s", again, key)
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exited(t, 20*time.Second); code != 0 {
			t.Errorf("exit status after SIGTERM = %d, want 0\nstderr:\n%s", code, p.stderr.String())
		}
	})

	t.Run("BusyPort", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		p := startDev(t, dir, env)
		if code := p.exited(t, 20*time.Second); code == 0 {
			t.Error("dev on a busy port exited 0")
		}
		errText := strings.TrimSpace(p.stderr.String())
		if strings.Count(errText, "\n") != 0 || !strings.Contains(errText, "already in use") || !strings.Contains(errText, "HOOKLINE_LISTEN") {
			t.Errorf("stderr is not one clear line:\n%s", errText)
		}
		if strings.Contains(p.stdout.String(), "running") {
			t.Errorf("a failed start says it runs:\n%s", p.stdout.String())
		}
	})

	stored, err := readDevFile(filepath.Join(dir, ".hookline-dev.env"))
	if err != nil || stored[devAPIKeyName] != key {
		t.Errorf("the kept key is %q (%v), want %s", stored[devAPIKeyName], err, key)
	}
	// Two runs and a failed one: still the one key.
	db, err := store.Open(context.Background(), dsn, 1, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := store.New(db, nil, nil)
	tn, err := st.FindTenantByName(context.Background(), demoTenantName)
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := st.FindAPIKeys(context.Background(), tn.ID); err != nil || len(keys) != 1 {
		t.Errorf("the demo tenant has %d keys (%v), want 1", len(keys), err)
	}
}

// checkDevLanding: the landing page at / links the demo receiver, the
// demo's portal and console, the API reference, health and metrics, and
// every link answers 200 (the demo's links after their redirect to a
// fresh link); the start-up log came before the instructions, and the
// requests made since are not logged at info.
func checkDevLanding(t *testing.T, base, banner string, p *devProcess) {
	t.Helper()
	logBefore := p.stderr.String()
	if !strings.Contains(logBefore, `msg="hookline started"`) {
		t.Errorf("the instructions came before start-up finished logging:\n%s", logBefore)
	}
	if strings.Contains(logBefore, "config=") {
		t.Errorf("the long config line is logged at info under dev:\n%s", logBefore)
	}
	if !strings.Contains(banner, base+"/console/#link=hlcl_") || !strings.Contains(banner, "Everything is linked from "+base+"/") {
		t.Errorf("the instructions lack the console link or the landing page:\n%s", banner)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want the landing page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	links := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	seen := map[string]bool{}
	for _, m := range links {
		href := m[1]
		seen[href] = true
		resp, err := http.Get(base + href)
		if err != nil {
			t.Errorf("%s: %v", href, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("the landing page links %s, which answers %d", href, resp.StatusCode)
		}
		if href == devConsolePath && !strings.Contains(resp.Request.URL.String(), "/console/#link=hlcl_") {
			t.Errorf("%s led to %s, want a fresh console link", href, resp.Request.URL)
		}
	}
	for _, want := range []string{demoReceiverPath, devPortalPath, devConsolePath, "/api/v1/openapi.json", "/api/v1/health", "/metrics", "/favicon.ico"} {
		if !seen[want] {
			t.Errorf("the landing page does not link %s", want)
		}
	}
	// The page and the links, like the curl, the receiver's and the
	// portal's polling before them: none of them is an info line.
	var logged []string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `msg="http request"`) {
			logged = append(logged, line)
		}
	}
	if len(logged) > 0 {
		t.Errorf("requests are logged at info under dev:\n%s", strings.Join(logged, "\n"))
	}
}

// TestDev_RevokedKeyIsReplaced: a kept key that no longer authenticates is
// replaced by a new one, which is kept.
func TestDev_RevokedKeyIsReplaced(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dev.env")
	cfg, err := loadConfig(envMap(map[string]string{"HOOKLINE_DEV_SECRETS_FILE": path}), true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, dsn, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first, err := ensureDemo(ctx, db, cfg, path, "http://127.0.0.1:1/dev/receiver")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ensureDemo(ctx, db, cfg, path, "http://127.0.0.1:2/dev/receiver")
	if err != nil || again.key != first.key || !again.keyReused || again.endpointID != first.endpointID {
		t.Fatalf("second ensureDemo = %+v, %v; want the same key and endpoint", again, err)
	}
	st := store.New(db, nil, nil)
	ep, err := st.FindEndpoint(ctx, first.tenantID, first.appID, demoEndpointUID)
	if err != nil || ep.URL != "http://127.0.0.1:2/dev/receiver" {
		t.Errorf("demo endpoint URL = %q (%v), want it moved to the new listener", ep.URL, err)
	}
	cred, err := st.FindCredentialByHash(ctx, tenants.HashAPIKey(first.key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeAPIKey(ctx, first.tenantID, cred.KeyID); err != nil {
		t.Fatal(err)
	}
	third, err := ensureDemo(ctx, db, cfg, path, "http://127.0.0.1:2/dev/receiver")
	if err != nil || third.key == first.key || third.keyReused {
		t.Fatalf("after revocation ensureDemo = %+v, %v; want a new key", third, err)
	}
	stored, err := readDevFile(path)
	if err != nil || stored[devAPIKeyName] != third.key || stored["HOOKLINE_JWT_SECRET"] != cfg.JWTSecret {
		t.Errorf("the file keeps %v (%v), want the new key beside the secrets", stored, err)
	}
}

// TestMakeDev_StopsWithoutMakeError runs the Makefile's dev recipe (with
// this test binary as bin/hookline) and interrupts it as Ctrl-C does, by
// signalling the whole process group: hookline exits 0, so make prints no
// "make: ***" error line.
func TestMakeDev_StopsWithoutMakeError(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("this test runs the Makefile; install make")
	}
	dsn := storetest.NewDatabase(t)
	redisURL, ns := redistest.Namespace(t)
	port := freePort(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", root, "-o", "build", "dev", "HOOKLINE_BIN="+os.Args[0])
	cmd.Env = append(devEnv(dsn, redisURL, ns, port), "HOOKLINE_DEV_SECRETS_FILE="+filepath.Join(t.TempDir(), "dev.env"))
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case err := <-done:
			t.Fatalf("make dev ended (%v) before its banner:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner within a minute:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("make dev still runs 20 s after Ctrl-C:\n%s", out.String())
	}
	if strings.Contains(out.String(), "make: ***") {
		t.Errorf("make reported an error after Ctrl-C:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `msg=stopped`) {
		t.Errorf("hookline did not log its clean stop:\n%s", out.String())
	}
}

// TestOneShot_FindsDevSecrets: after `hookline dev` (here: its secrets
// file, made the way dev makes it, in the working directory), the one-shot
// commands work without sourcing the file and the first one says where
// their secrets came from (the others do not repeat it); set variables
// win and need no such line.
func TestOneShot_FindsDevSecrets(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	dir := t.TempDir()
	t.Chdir(dir)
	dev, err := loadConfig(envMap(map[string]string{}), true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	redisURL, ns := redistest.Namespace(t)
	env := map[string]string{"HOOKLINE_DATABASE_URL": dsn, "HOOKLINE_REDIS_URL": redisURL, "HOOKLINE_QUEUE": ns}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	const line = "hookline: using the development secrets in .hookline-dev.env"
	if !strings.HasPrefix(errOut.String(), line) || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", errOut.String(), line)
	}
	var created map[string]string
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	tok, err := api.NewTokens(dev.JWTSecret, nil).ParseTenantToken(created["jwt"])
	if err != nil || tok != created["id"] {
		t.Errorf("the printed JWT does not verify with the dev secret: %q, %v", tok, err)
	}
	for _, args := range [][]string{
		{"jwt", "generate", created["id"]},
		{"migrate", "status"},
		{"usage", created["id"]},
		{"queues"},
	} {
		out.Reset()
		errOut.Reset()
		err := run(ctx, args, envMap(env), &out, &errOut)
		// queues on a namespace no task has used yet says the queue does
		// not exist: that is about Redis, not secrets.
		if err != nil && (args[0] != "queues" || strings.Contains(err.Error(), "HOOKLINE_")) {
			t.Errorf("%v: %v\n%s", args, err, errOut.String())
		}
		if strings.Contains(errOut.String(), line) {
			t.Errorf("%v: stderr = %q, the notice was repeated", args, errOut.String())
		}
	}
	set := testSecrets(dsn)
	errOut.Reset()
	if err := run(ctx, []string{"jwt", "generate", created["id"]}, envMap(set), &out, &errOut); err != nil || errOut.Len() != 0 {
		t.Errorf("with the secrets set: %v, stderr %q; want silence", err, errOut.String())
	}
}
