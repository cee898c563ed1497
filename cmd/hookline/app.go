package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/invalidate"
	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

type role int

const (
	roleAPI role = 1 << iota
	roleWorker
)

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// App is one running Hookline process: whichever roles it was asked for,
// built in order and stopped in reverse. Tests start it the way main does
// and read Addr.
type App struct {
	cfg   Config
	log   *slog.Logger
	roles role

	db     *store.DB
	redis  redis.UniversalClient
	store  *store.Store
	auth   *api.Authenticator
	server *api.Server
	worker *worker.Worker
	// ops creates operational events (the API's and the worker's) as
	// messages of each tenant's system application.
	ops *worker.OperationalSender

	storage   *storage.Maintainer // nil without the worker role
	metrics   *telemetry.Metrics
	inspector *asynq.Inspector
	// lanes is the operator's view of the delivery lanes (metrics,
	// console).
	lanes           *worker.Inspector
	shutdownTracing func(context.Context) error
	bus             *invalidate.Bus // cross-process cache invalidation
	portal          *portal.Server  // nil without the API role

	listener net.Listener // set before Run to serve on a listener bound earlier
	draining atomic.Bool
	ready    chan struct{}
	up       atomic.Bool // set before ready closes when Run got everything started
	// dev holds what `hookline dev` adds to the landing page; nil
	// otherwise. Set before Run.
	dev *devLanding
}

// newApp connects to PostgreSQL and Redis, checks the schema and builds the
// requested roles. It fails fast, naming what is wrong.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, roles role) (*App, error) {
	a := &App{cfg: cfg, log: log, roles: roles, ready: make(chan struct{})}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns, log, cfg.dbOptions()...)
	if err != nil {
		return nil, explainUnreachable(err, cfg, nil)
	}
	a.db = db
	if err := checkSchema(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	// go-redis logs reconnection trouble through a package-level logger;
	// send it to ours, once per process.
	redis.SetLogger(redisLogger{log.With("component", "redis")})
	rc, schedOpt, err := openRedis(cfg, max(cfg.Concurrency/4, 32), log)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.redis = rc
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = a.redis.Ping(pctx).Err()
	cancel()
	if err != nil {
		a.close()
		return nil, explainUnreachable(nil, cfg, err)
	}
	cipher, err := tenants.NewCipher(cfg.EncryptionKey)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("HOOKLINE_ENCRYPTION_KEY: %w", err)
	}
	a.store = store.New(db, cipher, nil)
	a.store.SetRetentionPolicy(cfg.retentionPolicy())
	// Versions before sealed headers stored sensitive header values in the
	// clear; the first process to start with the key seals them (the
	// migration cannot: it has no key). A no-op once done.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	if n, err := a.store.SealPlaintextHeaders(sctx); err != nil {
		log.Warn("sealing plaintext sensitive headers failed; the next start tries again", "err", err)
	} else if n > 0 {
		log.Info("sealed the sensitive headers an earlier version stored in the clear", "endpoints", n)
	}
	scancel()
	disableAfter := cfg.DisableAfter
	if disableAfter == 0 { // HOOKLINE_DISABLE_AFTER=0: never; worker.Options' zero is the default
		disableAfter = -1
	}
	wopts := worker.Options{
		Queue: cfg.Queue, Concurrency: cfg.Concurrency, DeliveryTimeout: cfg.DeliveryTimeout,
		RetrySchedule: cfg.RetrySchedule, SignatureHeaders: cfg.SignatureHeaders,
		AllowPrivateTargets: cfg.AllowPrivateTargets, UserAgent: "Hookline/" + version,
		DisableAfter: disableAfter, Breaker: worker.BreakerOptions{Disabled: cfg.BreakerDisabled},
		ShutdownTimeout: cfg.ShutdownTimeout, SweepInterval: cfg.SweepInterval, SweepGrace: cfg.SweepGrace,
		SendersCheckInterval: cfg.SendersCheckInterval,
		TaskCheckInterval:    cfg.TaskCheckInterval, DelayedTaskCheckInterval: cfg.DelayedTaskCheckInterval,
		EgressProxy: cfg.EgressProxy, EgressProxyCA: cfg.EgressProxyCA,
	}
	tp, shutdownTracing, err := telemetry.NewTracerProvider(ctx, cfg.OTLPEndpoint, version)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("tracing (OTEL_EXPORTER_OTLP_ENDPOINT): %w", err)
	}
	a.shutdownTracing = shutdownTracing
	a.metrics = telemetry.NewMetrics()
	a.inspector = asynq.NewInspectorFromRedisClient(a.redis)
	a.lanes = worker.NewInspector(a.redis, a.store, cfg.Queue)
	a.metrics.Register(
		telemetry.NewQueueCollector(a.inspector, func() []string { return []string{cfg.Queue} }),
		telemetry.NewLaneCollector(func(ctx context.Context) (telemetry.LaneSnapshot, error) {
			th, err := a.lanes.Throttled(ctx, "", 10)
			s := telemetry.LaneSnapshot{Throttled: th.Total, Parked: th.Parked}
			for _, l := range th.Top {
				s.Top = append(s.Top, telemetry.LaneTop{TenantID: l.TenantID, EndpointID: l.EndpointID, InFlight: l.InFlight, Waiting: l.Waiting, Limit: l.Limit})
			}
			return s, err
		}),
		telemetry.NewCachedGauge("hookline_outbox_pending_deliveries",
			"Deliveries waiting in the outbox (PostgreSQL) for a successful attempt or their next retry.",
			10*time.Second, func(ctx context.Context) (float64, error) {
				n, _, err := a.store.CountPendingDeliveries(ctx, cfg.SweepGrace)
				return float64(n), err
			}),
		telemetry.NewCachedGauge("hookline_outbox_overdue_deliveries",
			"Pending deliveries whose attempt is overdue by more than the sweep grace: a stalled or starved queue.",
			10*time.Second, func(ctx context.Context) (float64, error) {
				_, n, err := a.store.CountPendingDeliveries(ctx, cfg.SweepGrace)
				return float64(n), err
			}),
	)
	// Operational events (exhausted, failing, recovered, disabled; the
	// endpoint changes the API makes) are messages like any: created here
	// and handed to the workers through Redis.
	client := worker.NewClient(a.redis, cfg.Queue, cfg.DeliveryTimeout, worker.WithTracer(tp))
	a.ops = worker.NewOperationalSender(a.store, worker.NewDispatcher(client), log)
	notifier := operational.NewNotifier(a.store, a.ops, log, operational.Options{})
	// With both roles in one process, new deliveries pass straight from the
	// API to the worker (see worker.Dispatcher).
	wdeps := worker.Deps{Store: a.store, Redis: a.redis, SchedulerRedis: schedOpt, Log: log, Observer: a.metrics, Tracer: tp,
		InProcessAPI: roles&roleAPI != 0 && roles&roleWorker != 0, Events: notifier}
	tokens := api.NewTokens(cfg.JWTSecret, nil)
	adeps := api.Deps{
		Store: a.store, Tokens: tokens, Log: log, Metrics: a.metrics, Tracer: tp, Operational: notifier,
		Queue: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() },
		Ready: func() bool { return !a.draining.Load() },
	}
	if a.metricsOnPublicListener() {
		adeps.MetricsHandler = a.metrics.Handler()
	} else if cfg.MetricsListen == "" {
		log.Warn("/metrics is not served: set HOOKLINE_METRICS_TOKEN (a bearer token scrapers send) or HOOKLINE_METRICS_LISTEN (a private address)")
	}
	a.wireInvalidation(&adeps)
	a.wireStorage(&wdeps)
	a.wireSecurity(&wdeps, notifier)
	if err := a.wireBilling(ctx, &adeps, &wdeps); err != nil {
		a.close()
		return nil, err
	}
	if cfg.APIRateLimit > 0 || cfg.PortalRateLimit > 0 || cfg.PortalSessionRateLimit > 0 {
		plans, _ := adeps.Quota.(api.PlanRateLimits) // billing.Service: per-plan limits
		// The config's 0 (off) is the options' negative.
		off := func(n int) int {
			if n == 0 {
				return -1
			}
			return n
		}
		adeps.RateLimit = api.NewRateLimiter(a.redis, api.RateLimitOptions{
			PerSecond: off(cfg.APIRateLimit), PortalPerApp: off(cfg.PortalRateLimit), PortalPerSession: off(cfg.PortalSessionRateLimit),
			Prefix: cfg.Queue, Plans: plans, Log: log,
		})
	}
	if roles&roleWorker != 0 {
		a.worker = worker.New(wdeps, wopts)
		a.metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookline_open_circuits",
			Help: "Endpoints whose circuit this worker process holds open.",
		}, func() float64 { return float64(a.worker.OpenCircuits()) }))
		a.metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookline_senders_resting",
			Help: "1 while this worker process found no FIFO or RabbitMQ destination and takes no look for their work (until one is saved, or its next check).",
		}, func() float64 {
			if a.worker.SendersResting() {
				return 1
			}
			return 0
		}))
	}
	if roles&roleAPI != 0 {
		a.auth = api.NewAuthenticator(a.store, tokens, log)
		adeps.Auth = a.auth
		dispatcher := worker.NewDispatcher(client)
		if a.worker != nil {
			dispatcher = a.worker.Dispatcher()
		}
		adeps.Outbox = outbox.New(outbox.Deps{Store: a.store, Workers: dispatcher, Log: log, Tracer: tp}, outbox.Options{})
		a.server = api.NewServer(adeps, api.Options{
			PublicURL: cfg.PublicURL, MaxPayloadBytes: cfg.MaxPayloadBytes, Version: version,
			AdminToken: cfg.AdminToken, MetricsToken: cfg.MetricsToken,
			AllowPrivateTargets: cfg.AllowPrivateTargets, TenantTokenTTL: cfg.JWTTTL,
			RequestLogLevel:  cfg.requestLogLevel(),
			DefaultSignature: cfg.DefaultSignature,
		})
		a.mountLanding()
		if err := a.wirePortal(); err != nil {
			a.close()
			return nil, err
		}
		if err := a.wireConsole(adeps.Billing); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

func (a *App) close() {
	if a.shutdownTracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.shutdownTracing(ctx)
		cancel()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// Addr is the API's listening address once Run has started it.
func (a *App) Addr() string {
	<-a.ready
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Run serves until ctx is canceled, then drains: readiness turns false,
// HTTP stops accepting and finishes in-flight requests within the shutdown
// timeout, workers finish or hand back their deliveries.
func (a *App) Run(ctx context.Context) error {
	defer a.close()
	if a.worker != nil {
		// Storage maintenance once before anything is written (then
		// storage:maintain): a database migrated long ago, or whose
		// workers were stopped for longer than the slices made ahead, gets
		// its slices before writes need them, rather than sending them to
		// the DEFAULT partition.
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		a.storage.RunOnce(mctx)
		cancel()
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	var httpSrv *http.Server
	{
		ln := a.listener // `hookline dev` binds it before printing that it runs
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", a.cfg.Listen); err != nil {
				close(a.ready)
				return fmt.Errorf("listen on %s (HOOKLINE_LISTEN): %w", a.cfg.Listen, err)
			}
			a.listener = ln
		}
		var handler http.Handler
		if a.server != nil {
			handler = a.server.Handler()
		} else {
			handler = a.opsHandler() // a worker-only process still answers health checks
		}
		httpSrv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
		a.log.Info("listening", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL)
	}
	var metricsSrv *http.Server
	if a.cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", a.cfg.MetricsListen)
		if err != nil {
			close(a.ready)
			return fmt.Errorf("listen on %s (HOOKLINE_METRICS_LISTEN): %w", a.cfg.MetricsListen, err)
		}
		metricsSrv = &http.Server{Handler: a.metricsOnly(), ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics server: %w", err)
			}
		}()
		a.log.Info("metrics listening", "addr", ln.Addr().String())
	}
	// Background loops stop after HTTP and the worker have drained, so
	// that their last writes (API keys' last use) still happen.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	if a.auth != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.auth.Run(bgCtx, 30*time.Second)
		}()
	}
	a.runInvalidation(bgCtx, &wg)
	if a.worker != nil {
		if err := a.worker.Start(ctx); err != nil {
			close(a.ready)
			return err
		}
	}
	if a.cfg.Dev {
		// Under `hookline dev` people read the log: the whole config
		// (some 900 characters) at debug, the essentials here.
		a.log.Debug("config", "config", a.cfg)
		a.log.Info("hookline started", "version", version, "roles", a.roleNames(),
			"database", redactURL(a.cfg.DatabaseURL), "redis", a.cfg.redisWhere())
	} else {
		a.log.Info("hookline started", "version", version, "roles", a.roleNames(), "config", a.cfg)
	}
	a.up.Store(true)
	close(a.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.draining.Store(true)
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout.String(), "drain_delay", a.cfg.DrainDelay.String())
	if a.cfg.DrainDelay > 0 && runErr == nil {
		// readyz now fails; keep serving while load balancers notice.
		time.Sleep(a.cfg.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if httpSrv != nil {
		if err := httpSrv.Shutdown(sctx); err != nil {
			a.log.Warn("http shutdown incomplete", "err", err)
		}
	}
	if a.server != nil {
		a.server.Close()
	}
	if a.worker != nil {
		a.worker.Shutdown()
	}
	if a.ops != nil {
		a.ops.Close()
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(sctx)
	}
	stopBackground()
	wg.Wait()
	a.log.Info("stopped")
	return runErr
}

func (a *App) roleNames() string {
	var r []string
	if a.roles&roleAPI != 0 {
		r = append(r, "api", "portal")
	}
	if a.roles&roleWorker != 0 {
		r = append(r, "worker")
	}
	return strings.Join(r, "+")
}

func runRoles(ctx context.Context, getenv func(string) string, stderr io.Writer, roles role) error {
	cfg, err := loadConfig(getenv, false, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	app, err := newApp(ctx, cfg, log, roles)
	if err != nil {
		return err
	}
	return app.Run(ctx)
}

// explainUnreachable turns a connection failure into one paragraph a
// newcomer can act on: what failed (nothing listening, a missing
// database, a refused login) and only the advice that fits it.
func explainUnreachable(dbErr error, cfg Config, redisErr error) error {
	if dbErr != nil && !errors.Is(dbErr, tenants.ErrUnavailable) {
		return dbErr
	}
	if dbErr != nil {
		var pgErr *pgconn.PgError
		if errors.As(dbErr, &pgErr) {
			switch {
			case pgErr.Code == "3D000": // invalid_catalog_name
				return fmt.Errorf(`PostgreSQL at %s answers, but %s.
Check HOOKLINE_DATABASE_URL: "hookline dev" creates its database and records the URL it used in
%s, which the other commands read when run from the same directory; or create it
("createdb -h HOST -U USER NAME") and run "hookline migrate up"`,
					redactURL(cfg.DatabaseURL), pgErr.Message, ".hookline-dev.env")
			case pgErr.Code == "28000" && !strings.Contains(pgErr.Message, "password"): // invalid_authorization_specification
				return fmt.Errorf("PostgreSQL at %s refused the login (%s): check the user in HOOKLINE_DATABASE_URL, and pg_hba.conf if the user exists",
					redactURL(cfg.DatabaseURL), pgErr.Message)
			}
		}
		if strings.Contains(dbErr.Error(), "password") || strings.Contains(dbErr.Error(), "SASL") {
			return fmt.Errorf(`PostgreSQL at %s refused the login (%s).
Put the user's password in HOOKLINE_DATABASE_URL (postgres://USER:PASSWORD@HOST:5432/hookline).
Debian's packages ask for a password on TCP connections (scram-sha-256): either give postgres one,
"sudo -u postgres psql -c \"ALTER USER postgres PASSWORD 'postgres'\"" and use postgres://postgres:postgres@127.0.0.1:5432/hookline,
or allow local trust for 127.0.0.1 in pg_hba.conf. scripts/test-env.sh explains both`,
				redactURL(cfg.DatabaseURL), shortReason(dbErr))
		}
	}
	if redisErr != nil {
		if msg := redisErr.Error(); strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") {
			return fmt.Errorf("Redis at %s refused the connection (%s): put its password in HOOKLINE_REDIS_URL (redis://:PASSWORD@HOST:6379/0) or HOOKLINE_REDIS_PASSWORD",
				cfg.redisWhere(), shortReason(redisErr))
		}
	}
	what, where, reason := "PostgreSQL", redactURL(cfg.DatabaseURL), dbErr
	if dbErr == nil {
		what, where, reason = "Redis", cfg.redisWhere(), redisErr
	}
	return fmt.Errorf(`cannot reach %s at %s (%s).
Hookline needs PostgreSQL and Redis. Start them with Docker: "docker compose up -d postgres redis";
or install the Debian packages: "sudo apt-get install -y postgresql redis-server", then
"sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" and
"redis-server --daemonize yes". If they run elsewhere, set HOOKLINE_DATABASE_URL and HOOKLINE_REDIS_URL`,
		what, where, shortReason(reason))
}

func shortReason(err error) string {
	if err == nil {
		return "no answer"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 120 {
		s = s[i+2:]
	}
	return s
}

// redisLogger adapts slog to go-redis's internal logger.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...))
}
