// Package testenv assembles a whole Hookline stack for integration tests:
// a fresh PostgreSQL database, a Redis namespace, the API behind a real
// HTTP listener, optionally the delivery worker, and a tenant with an API
// key and a JWT. Everything is real; nothing is faked. Only tests import
// this package.
package testenv

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/internal/dbtest"
	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// JWTSecret and AdminToken are the test stack's secrets.
const (
	JWTSecret  = "test-jwt-secret-0123456789abcdefghijklmnop"
	AdminToken = "test-admin-token"
)

// Options shape the stack.
type Options struct {
	// Worker starts the delivery worker in-process.
	Worker bool
	// WorkerOptions override the test defaults (fast polling, private
	// targets allowed, a short retry schedule).
	WorkerOptions worker.Options
	// Quota is passed to the API.
	Quota api.Quota
	// Portal is passed to the API (the customer portal's pages).
	Portal http.Handler
	// Billing is passed to the API (usage and Stripe webhook routes).
	Billing api.Billing
	// WorkerDeps, when set, may add handlers and periodic tasks to the
	// worker before it starts.
	WorkerDeps func(*worker.Deps)
	// Observer receives the worker's attempt outcomes (default: the
	// stack's Metrics).
	Observer worker.Observer
	// Tracer traces the API and the worker; nil means no tracing.
	Tracer trace.TracerProvider
	// Log receives every log line; nil discards them (or prints them with
	// HOOKLINE_TEST_LOG=1).
	Log *slog.Logger
	// Mount adds handlers to the API's engine before it serves.
	Mount func(s *api.Server, store *tenants.Store)
	// Outbox shapes the ingest path; the zero value is production's.
	Outbox outbox.Options
}

// Env is a running stack. Its fields are for tests to use directly.
type Env struct {
	T        testing.TB
	DB       *tenants.DB
	DSN      string
	Store    *tenants.Store
	Redis    *redis.Client
	RedisURL string
	Queue    string
	Tokens   *api.Tokens
	Auth     *api.Authenticator
	API      *api.Server
	Server   *httptest.Server
	URL      string
	Worker   *worker.Worker
	Client   *worker.Client
	Outbox   *outbox.Outbox
	Log      *slog.Logger
	// Metrics is the stack's registry, served at /metrics.
	Metrics *telemetry.Metrics

	// The first tenant, created with the stack.
	TenantID string
	APIKey   string
	JWT      string
}

// Logger returns the logger tests use by default.
func Logger() *slog.Logger {
	if os.Getenv("HOOKLINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// New starts a stack for t; it stops when t ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	db, dsn := dbtest.Open(t)
	redisURL, ns := redistest.Namespace(t)
	ropt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ropt.PoolSize = 64
	rc := redis.NewClient(ropt)
	log := o.Log
	if log == nil {
		log = Logger()
	}
	store := tenants.NewStore(db, dbtest.TestCipher(t), nil)
	tokens := api.NewTokens(JWTSecret, nil)
	auth := api.NewAuthenticator(store, tokens, log)
	e := &Env{T: t, DB: db, DSN: dsn, Store: store, Redis: rc, RedisURL: redisURL, Queue: ns, Tokens: tokens, Auth: auth, Log: log}

	wo := o.WorkerOptions
	wo.Queue = ns
	if wo.RetrySchedule == nil {
		wo.RetrySchedule = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	}
	if wo.DeliveryTimeout == 0 {
		wo.DeliveryTimeout = 2 * time.Second
	}
	wo.AllowPrivateTargets = wo.AllowPrivateTargets || !strings.Contains(t.Name(), "SSRF")
	if wo.TaskCheckInterval == 0 {
		wo.TaskCheckInterval = 5 * time.Millisecond
	}
	if wo.DelayedTaskCheckInterval == 0 {
		wo.DelayedTaskCheckInterval = 50 * time.Millisecond
	}
	if wo.SweepInterval == 0 {
		wo.SweepInterval = 200 * time.Millisecond
	}
	if wo.SweepGrace == 0 {
		wo.SweepGrace = time.Second
	}
	if wo.ShutdownTimeout == 0 {
		wo.ShutdownTimeout = 3 * time.Second
	}
	if wo.Concurrency == 0 {
		wo.Concurrency = 32
	}
	e.Metrics = telemetry.NewMetrics()
	// As in `hookline all`, a worker in the same process gets new
	// deliveries handed over.
	var handoff *outbox.Handoff
	if o.Worker {
		handoff = outbox.NewHandoff(16 << 20)
	}
	e.Client = worker.NewClient(rc, ns, wo.DeliveryTimeout, worker.WithTracer(o.Tracer))
	e.Outbox = outbox.New(outbox.Deps{Store: store, Enqueuer: e.Client, Handoff: handoff, Log: log, Tracer: o.Tracer}, o.Outbox)
	e.API = api.NewServer(api.Deps{
		Store: store, Tokens: tokens, Auth: auth, Log: log, Outbox: e.Outbox, Quota: o.Quota,
		Metrics: e.Metrics, MetricsHandler: e.Metrics.Handler(), Tracer: o.Tracer,
		Portal: o.Portal, Billing: o.Billing,
		Queue: func(ctx context.Context) error { return rc.Ping(ctx).Err() },
	}, api.Options{PublicURL: "http://hookline.test", AdminToken: AdminToken, Version: "test"})
	if o.Mount != nil {
		o.Mount(e.API, store)
	}
	e.Server = httptest.NewServer(e.API.Handler())
	e.URL = e.Server.URL
	if o.Worker {
		obs := o.Observer
		if obs == nil {
			obs = e.Metrics
		}
		wd := worker.Deps{Store: store, Redis: rc, Log: log, Observer: obs, Tracer: o.Tracer, Handoff: handoff,
			Events: operational.NewNotifier(store, api.NewOperationalSender(store, e.Outbox), log, operational.Options{})}
		if o.WorkerDeps != nil {
			o.WorkerDeps(&wd)
		}
		e.Worker = worker.New(wd, wo)
		if err := e.Worker.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			e.Server.Close()
			e.API.Close()
			if e.Worker != nil {
				e.Worker.Shutdown()
			}
			rc.Close()
		})
	})
	e.TenantID, e.APIKey, e.JWT = e.NewTenant("Test tenant")
	return e
}

// NewTenant creates a tenant and returns its id, an API key and a JWT.
func (e *Env) NewTenant(name string) (id, key, jwt string) {
	e.T.Helper()
	ctx := context.Background()
	t, err := e.Store.CreateTenant(ctx, name)
	if err != nil {
		e.T.Fatal(err)
	}
	_, key, err = e.Store.CreateAPIKey(ctx, t.ID, "test")
	if err != nil {
		e.T.Fatal(err)
	}
	jwt, err = e.Tokens.TenantToken(t.ID, time.Hour)
	if err != nil {
		e.T.Fatal(err)
	}
	return t.ID, key, jwt
}

// SDK returns the official Svix Go client pointed at the stack. Every
// response it receives is checked against the server's OpenAPI document
// (ValidatingClient): a mismatch fails the test.
func (e *Env) SDK(token string) *svix.Svix {
	e.T.Helper()
	c, err := svix.New(token, &svix.SvixOptions{ServerUrl: mustURL(e.URL), HTTPClient: ValidatingClient(e.T)})
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}
