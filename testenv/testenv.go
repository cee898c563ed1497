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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/worker"
)

// publicURL is the stack's HOOKLINE_PUBLIC_URL: links (magic links,
// console links) start with it; tests rewrite it to the server's address.
const publicURL = "http://hookline.test"

// JWTSecret and AdminToken are the test stack's secrets.
const (
	JWTSecret  = "test-jwt-secret-0123456789abcdefghijklmnop"
	AdminToken = "test-admin-token-0123456789abcdefghij"
)

// Options shape the stack.
type Options struct {
	// Worker starts the delivery worker in-process.
	Worker bool
	// WorkerOptions are the worker's settings. Their zero value is the
	// production defaults, with two exceptions the stack always makes: its
	// own queue (a Redis namespace per test), and private targets allowed
	// (receivers listen on loopback) unless the test's name contains
	// SSRF. A test that needs faster timing says so by passing
	// FastRetries or FastPolling.
	WorkerOptions worker.Options
	// Quota is passed to the API.
	Quota api.Quota
	// Portal is ignored: the customer portal (pages and routes) is always
	// served, wired as `hookline all` wires it. Kept so that older tests
	// that pass one still build.
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
	// Console serves the tenant console on the API's engine, wired as
	// `hookline all` wires it.
	Console bool
	// Mount adds handlers to the API's engine before it serves.
	Mount func(s *api.Server, store *store.Store)
	// Outbox shapes the ingest path; the zero value is production's.
	Outbox outbox.Options
	// RateLimit, when set, gives the API a rate limiter with these
	// options (its Prefix is the stack's queue); nil means no limiter.
	RateLimit *api.RateLimitOptions
	// RedisURL, when set, is a Redis of the test's own (to count its
	// commands, say) instead of a fresh namespace of the shared one.
	RedisURL string
	// DefaultSignature is the API's HOOKLINE_DEFAULT_SIGNATURE (empty:
	// hmac, production's default).
	DefaultSignature string
}

// Env is a running stack. Its fields are for tests to use directly.
type Env struct {
	T   testing.TB
	DB  *store.DB
	DSN string
	// SQL is a pool of the test's own on the same database, for checking
	// and shaping rows directly.
	SQL      *pgxpool.Pool
	Store    *store.Store
	Redis    *redis.Client
	RedisURL string
	Queue    string
	Tokens   *api.Tokens
	// AppTokens signs and reads app-portal tokens with the stack's key.
	AppTokens *portal.AppTokens
	Auth      *api.Authenticator
	API       *api.Server
	Server    *httptest.Server
	URL       string
	Worker    *worker.Worker
	Client    *worker.Client
	Outbox    *outbox.Outbox
	// Operational creates the operational events of the API and the
	// worker (closed with the stack).
	Operational *worker.OperationalSender
	Log         *slog.Logger
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

// FastPolling returns o changed for a test whose deliveries are timed in
// milliseconds: asynq looks for new tasks every 5 ms and due retries every
// 50 ms (production: 5 s each), and the outbox sweeper runs every 200 ms
// with 1 s of grace (production: 5 s and 10 s). Fields o sets are kept.
func FastPolling(o worker.Options) worker.Options {
	if o.TaskCheckInterval == 0 {
		o.TaskCheckInterval = 5 * time.Millisecond
	}
	if o.DelayedTaskCheckInterval == 0 {
		o.DelayedTaskCheckInterval = 50 * time.Millisecond
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 200 * time.Millisecond
	}
	if o.SweepGrace == 0 {
		o.SweepGrace = time.Second
	}
	return o
}

// FastRetries returns FastPolling(o) with, unless o has one, a retry
// schedule of 200, 400 and 800 ms instead of production's 5 s to 10 h, and
// a delivery timeout of 2 s instead of 15 s: for tests that wait on
// retries.
func FastRetries(o worker.Options) worker.Options {
	if o.RetrySchedule == nil {
		o.RetrySchedule = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	}
	if o.DeliveryTimeout == 0 {
		o.DeliveryTimeout = 2 * time.Second
	}
	return FastPolling(o)
}

// New starts a stack for t; it stops when t ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	db, dsn := storetest.Open(t)
	sqlPool := storetest.SQL(t, dsn)
	redisURL, ns := o.RedisURL, "hookline"
	if redisURL == "" {
		redisURL, ns = redistest.Namespace(t)
	}
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
	st := store.New(db, storetest.TestCipher(t), nil)
	tokens := api.NewTokens(JWTSecret, nil)
	auth := api.NewAuthenticator(st, tokens, log)
	e := &Env{T: t, DB: db, DSN: dsn, SQL: sqlPool, Store: st, Redis: rc, RedisURL: redisURL, Queue: ns, Tokens: tokens, Auth: auth, Log: log,
		AppTokens: portal.NewAppTokens(JWTSecret, nil)}

	wo := o.WorkerOptions
	if wo.SendersCheckInterval == 0 {
		// Tests write destinations straight to the database as well as
		// through the API; the former wakes no sender, so the senders
		// check for some often rather than every 30 s.
		wo.SendersCheckInterval = 250 * time.Millisecond
	}
	wo.Queue = ns
	// Receivers listen on loopback, which production refuses; tests of
	// that refusal have SSRF in their name.
	wo.AllowPrivateTargets = wo.AllowPrivateTargets || !strings.Contains(t.Name(), "SSRF")
	deliveryTimeout := wo.DeliveryTimeout
	if deliveryTimeout <= 0 {
		deliveryTimeout = 15 * time.Second // worker.Options' default
	}
	e.Metrics = telemetry.NewMetrics()
	e.Client = worker.NewClient(rc, ns, deliveryTimeout, worker.WithTracer(o.Tracer))
	// Operational events go to Redis like resends (they need no fast
	// path), wired as `hookline all` wires them.
	e.Operational = worker.NewOperationalSender(st, worker.NewDispatcher(e.Client), log)
	notifier := operational.NewNotifier(st, e.Operational, log, operational.Options{})
	// As in `hookline all`, a worker in the same process takes new
	// deliveries at once; without one, they go to Redis.
	dispatcher := worker.NewDispatcher(e.Client)
	if o.Worker {
		obs := o.Observer
		if obs == nil {
			obs = e.Metrics
		}
		wd := worker.Deps{Store: st, Redis: rc, Log: log, Observer: obs, Tracer: o.Tracer, InProcessAPI: true, Events: notifier}
		if o.WorkerDeps != nil {
			o.WorkerDeps(&wd)
		}
		e.Worker = worker.New(wd, wo)
		dispatcher = e.Worker.Dispatcher()
	}
	e.Outbox = outbox.New(outbox.Deps{Store: st, Workers: dispatcher, Log: log, Tracer: o.Tracer}, o.Outbox)
	var limiter *api.RateLimiter
	if o.RateLimit != nil {
		ro := *o.RateLimit
		ro.Prefix = ns
		if ro.Log == nil {
			ro.Log = log
		}
		limiter = api.NewRateLimiter(rc, ro)
	}
	var destinationSaved func(context.Context, string, string)
	if e.Worker != nil {
		// As `hookline all` wires it: the senders beside the API look
		// for work at once when a pushing destination is saved.
		destinationSaved = func(context.Context, string, string) { e.Worker.WakeSenders() }
	}
	e.API = api.NewServer(api.Deps{
		Store: st, Tokens: tokens, Auth: auth, Log: log, Outbox: e.Outbox, Operational: notifier, Quota: o.Quota,
		Metrics: e.Metrics, MetricsHandler: e.Metrics.Handler(), Tracer: o.Tracer,
		Billing: o.Billing, RateLimit: limiter, DestinationSaved: destinationSaved,
		Queue: func(ctx context.Context) error { return rc.Ping(ctx).Err() },
	}, api.Options{PublicURL: publicURL, AdminToken: AdminToken, Version: "test", AllowPrivateTargets: wo.AllowPrivateTargets,
		DefaultSignature: o.DefaultSignature})
	if _, err := portal.Mount(e.API, auth, st, JWTSecret, publicURL, nil); err != nil {
		t.Fatal(err)
	}
	if o.Console {
		lanes := consoleLanes{worker.NewInspector(rc, st, ns)}
		if _, err := console.Mount(e.API, auth, st, log, publicURL, o.Billing, lanes); err != nil {
			t.Fatal(err)
		}
	}
	if o.Mount != nil {
		o.Mount(e.API, st)
	}
	e.Server = httptest.NewServer(e.API.Handler())
	e.URL = e.Server.URL
	if e.Worker != nil {
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
			e.Operational.Close()
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

// WaitSettled waits, up to d, until no delivery in the stack's database is
// pending or being sent: every message accepted so far has come to its end
// (delivered, failed for good or canceled), so no receiver will hear of it
// again and the attempt log is final. A test that checks that something
// did not happen waits on this rather than sleeping. Deliveries are stored
// with their message before the API answers, so one accepted just before
// the call is counted. It fails the test at the deadline.
func (e *Env) WaitSettled(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var open int
		err := e.SQL.QueryRow(context.Background(), `SELECT count(*) FROM deliveries WHERE status IN (1, 3)`).Scan(&open) // pending, sending
		if err == nil && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still open after %s: %d (err %v)", d, open, err)
		}
		time.Sleep(10 * time.Millisecond) // the poll's interval
	}
}
