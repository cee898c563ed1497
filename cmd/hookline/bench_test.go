package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store/storetest"
)

// benchJSON runs `hookline bench … --json` and decodes its report.
func benchJSON(t *testing.T, env map[string]string, args ...string) benchReport {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"bench", "--json"}, args...), envMap(env), &out, &errOut); err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, errOut.String())
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bench --json printed %q: %v", out.String(), err)
	}
	return rep
}

// TestBench_SelfContained runs the load tool end to end on a small load:
// every message is accepted and delivered once, every signature verifies,
// and the baselines are measured.
func TestBench_SelfContained(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	redisURL, _ := redistest.Namespace(t)
	env := map[string]string{"HOOKLINE_DATABASE_URL": dsn, "HOOKLINE_REDIS_URL": redisURL}
	rep := benchJSON(t, env, "--messages", "300", "--apps", "3", "--endpoints", "2", "--concurrency", "8", "--timeout", "60s")
	if rep.Accepted != 300 || rep.Delivered != 600 || rep.Expected != 600 || rep.TimedOut {
		t.Fatalf("report = %+v; want 300 accepted and 600 delivered", rep)
	}
	if rep.BadSignatures != 0 || rep.Duplicates != 0 {
		t.Errorf("receiver saw %d bad signatures, %d duplicates", rep.BadSignatures, rep.Duplicates)
	}
	if rep.IngestPerSec <= 0 || rep.DeliveriesPerSec <= 0 || rep.E2EP99ms <= 0 || rep.PeakRSSMiB <= 0 {
		t.Errorf("missing figures: %+v", rep)
	}
	if rep.HTTPBaselinePerSec <= 0 || rep.InsertBaselinePerSec <= 0 || rep.RatioInsert <= 0 {
		t.Errorf("baselines not measured: %+v", rep)
	}
	// It cleaned up after itself.
	db := storetest.SQL(t, dsn)
	var tenantsLeft, deliveriesLeft int
	if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM deliveries)`).Scan(&tenantsLeft, &deliveriesLeft); err != nil {
		t.Fatal(err)
	}
	if tenantsLeft != 0 || deliveriesLeft != 0 {
		t.Errorf("bench left %d tenants and %d deliveries behind", tenantsLeft, deliveriesLeft)
	}
}

// TestBench_Transform: with --transform every endpoint runs a JavaScript
// transformation; every message still arrives once, signed over the
// transformed body (the receiver verifies each), and the report says so.
func TestBench_Transform(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	redisURL, _ := redistest.Namespace(t)
	env := map[string]string{"HOOKLINE_DATABASE_URL": dsn, "HOOKLINE_REDIS_URL": redisURL}
	rep := benchJSON(t, env, "--transform", "--skip-baselines", "--messages", "200", "--apps", "2", "--endpoints", "2", "--concurrency", "8", "--timeout", "60s")
	if rep.Accepted != 200 || rep.Delivered != 400 || rep.TimedOut || !rep.Transform || rep.Transformed < 400 {
		t.Fatalf("report = %+v; want 200 accepted, 400 delivered, every one transformed", rep)
	}
	if rep.BadSignatures != 0 || rep.Duplicates != 0 {
		t.Errorf("receiver saw %d bad signatures, %d duplicates", rep.BadSignatures, rep.Duplicates)
	}
}

// TestBench_Remote loads a running instance through its API, as an
// operator would against a deployment.
func TestBench_Remote(t *testing.T) {
	t.Parallel()
	app := startAll(t, map[string]string{"HOOKLINE_LOG_LEVEL": "warn"})
	env, base := app.env, app.base
	var out bytes.Buffer
	if err := run(context.Background(), []string{"tenant", "create", "--name", "bench target", "--json"}, envMap(env), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var tenant map[string]string
	if err := json.Unmarshal(out.Bytes(), &tenant); err != nil {
		t.Fatal(err)
	}
	rep := benchJSON(t, map[string]string{}, "--api", base, "--key", tenant["apiKey"], "--receiver-listen", "127.0.0.1:0",
		"--messages", "200", "--apps", "2", "--concurrency", "8", "--timeout", "60s", "--skip-baselines")
	if rep.Delivered != 200 || rep.BadSignatures != 0 || !strings.HasPrefix(rep.Mode, "remote") {
		t.Fatalf("remote bench = %+v", rep)
	}
}

// TestBench_NoisyRemote runs the noisy-neighbour trial against a running
// instance, processes apart as its figures are meant to be taken: tenant
// A's backlog for a hanging endpoint holds a handful of requests open (its
// lane's limit), and both of tenant B's trials are measured in full.
func TestBench_NoisyRemote(t *testing.T) {
	t.Parallel()
	app := startAll(t, map[string]string{"HOOKLINE_LOG_LEVEL": "warn"})
	key := func(name string) string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"tenant", "create", "--name", name, "--json"}, envMap(app.env), &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		var tenant map[string]string
		if err := json.Unmarshal(out.Bytes(), &tenant); err != nil {
			t.Fatal(err)
		}
		return tenant["apiKey"]
	}
	var out, errOut bytes.Buffer
	args := []string{"bench", "--json", "--noisy", "--api", app.base, "--key", key("tenant B"), "--noisy-key", key("tenant A"),
		"--receiver-listen", "127.0.0.1:0", "--noisy-backlog", "300", "--rate", "50", "--concurrency", "8", "--timeout", "60s"}
	if err := run(context.Background(), args, envMap(map[string]string{}), &out, &errOut); err != nil {
		t.Fatalf("bench --noisy: %v\n%s", err, errOut.String())
	}
	var rep noisyReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bench --noisy --json printed %q: %v", out.String(), err)
	}
	if rep.TimedOut || rep.IdleArrived != 100 || rep.NoisyArrived != 100 || rep.IdleP99ms <= 0 || rep.NoisyP99ms <= 0 || rep.ABacklog != 300 || rep.LoadStart == "" {
		t.Errorf("report %+v: want both trials measured in full", rep)
	}
	if rep.AMostAtOnce < 1 || rep.AMostAtOnce > 8 {
		t.Errorf("A's hanging endpoint had at most %d requests open; want its lane's few", rep.AMostAtOnce)
	}
	// Without --noisy-key, a remote run cannot make tenant A.
	err := run(context.Background(), []string{"bench", "--noisy", "--api", app.base, "--key", "k", "--receiver-listen", "127.0.0.1:0"}, envMap(map[string]string{}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--noisy-key") {
		t.Errorf("remote --noisy without --noisy-key: %v", err)
	}
}
