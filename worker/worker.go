package worker

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Options are the delivery settings, from the process config. The zero
// value of every field is the production default.
type Options struct {
	Queue           string
	Concurrency     int
	DeliveryTimeout time.Duration
	// RetrySchedule is the delay before each retry; nil means
	// DefaultRetrySchedule, an empty non-nil slice no retries.
	RetrySchedule       []time.Duration
	SignatureHeaders    string // both, webhook or svix
	AllowPrivateTargets bool
	UserAgent           string
	// DisableAfter disables an endpoint that has been failing this long;
	// 0 means DefaultDisableAfter and a negative value never disables.
	DisableAfter time.Duration
	// Breaker is the per-endpoint circuit breaker; its zero value is on,
	// with the production numbers (see BreakerOptions).
	Breaker         BreakerOptions
	ShutdownTimeout time.Duration

	SweepInterval     time.Duration
	SweepGrace        time.Duration
	FullSweepInterval time.Duration
	// TaskCheckInterval and DelayedTaskCheckInterval are asynq's polling
	// periods for the periodic and background tasks (billing reports,
	// storage maintenance): how soon an idle worker sees a new one, and a
	// due retry. Deliveries do not use them: their lanes wake workers when
	// work arrives and at each lane's next moment (lanes.go).
	TaskCheckInterval        time.Duration
	DelayedTaskCheckInterval time.Duration
	// SendersCheckInterval is how often a process checks that any FIFO or
	// RabbitMQ destination exists, and while none does, the only look it
	// takes (see DefaultSendersCheckInterval); 0 means the default.
	SendersCheckInterval time.Duration
	// ThrottledAfter is how long an endpoint's lane must allow only one
	// attempt at a time (below its cap) before Deps.Events hears of it
	// (the endpoint.throttled operational webhook); 0 means ten minutes.
	ThrottledAfter time.Duration
	// EgressProxy, when set, is the http:// or https:// proxy every
	// delivery, OAuth2 token request and broker connection goes through
	// (transport.go; brokers with CONNECT, tunnel.go); the
	// proxy's own address is exempt from the SSRF guard, the targets are
	// not.
	EgressProxy string
	// EgressProxyCA, for an https:// EgressProxy, is the PEM the proxy's
	// certificate is verified against (nil: the system pool).
	EgressProxyCA []byte

	// brokerRoots, when set, are the roots an amqps broker's certificate
	// is verified against instead of the system pool. Only tests set it
	// (export_test.go): their brokers' CAs are made up.
	brokerRoots *x509.CertPool
}

// Defaults of Options: what its zero value means. The process's config
// reads them too, so a setting left unset means the same everywhere.
const (
	DefaultQueue            = "hookline"
	DefaultDeliveryTimeout  = 15 * time.Second
	DefaultConcurrency      = 256
	DefaultSignatureHeaders = "both"
	DefaultDisableAfter     = 5 * 24 * time.Hour
	DefaultShutdownTimeout  = 20 * time.Second
	// DefaultSweepInterval: a delivery the hand-off lost is found after
	// the grace plus at most one interval, and Redis losing its data is
	// noticed within one; each pass is a few statements, which an idle
	// process pays for too.
	DefaultSweepInterval = 5 * time.Second
	DefaultSweepGrace    = 10 * time.Second
	// DefaultTaskCheckInterval is both asynq polling periods' default.
	// asynq runs only the periodic tasks (each a minute apart or more:
	// billing, storage, certificates), so a few seconds' delay costs
	// nothing, while each poll wakes an idle process and Redis.
	DefaultTaskCheckInterval = 5 * time.Second
	DefaultThrottledAfter    = 10 * time.Minute
)

func (o *Options) defaults() {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.DeliveryTimeout <= 0 {
		o.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if o.SignatureHeaders == "" {
		o.SignatureHeaders = DefaultSignatureHeaders
	}
	if o.UserAgent == "" {
		o.UserAgent = "Hookline/dev"
	}
	if o.RetrySchedule == nil {
		o.RetrySchedule = DefaultRetrySchedule()
	}
	o.Breaker.defaults()
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.SweepGrace <= 0 {
		o.SweepGrace = DefaultSweepGrace
	}
	if o.FullSweepInterval <= 0 {
		o.FullSweepInterval = 10 * time.Minute
	}
	if o.SendersCheckInterval <= 0 {
		o.SendersCheckInterval = DefaultSendersCheckInterval
	}
	if o.TaskCheckInterval <= 0 {
		o.TaskCheckInterval = DefaultTaskCheckInterval
	}
	if o.DelayedTaskCheckInterval <= 0 {
		o.DelayedTaskCheckInterval = DefaultTaskCheckInterval
	}
	if o.DisableAfter == 0 {
		o.DisableAfter = DefaultDisableAfter
	}
	if o.ThrottledAfter <= 0 {
		o.ThrottledAfter = DefaultThrottledAfter
	}
}

// DefaultRetrySchedule returns the production retry schedule: the delay
// before each of 10 retries after the first try, 5 s to 10 h (about 28 h
// in all), each moved by up to ±20 % of jitter.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
}

// Deps are the worker's collaborators.
type Deps struct {
	Store Store
	Redis redis.UniversalClient
	// SchedulerRedis, when set, is how the periodic-task scheduler
	// connects to the same Redis as Redis (it owns and closes its
	// client); nil derives it from Redis, which works for a single
	// server's *redis.Client only.
	SchedulerRedis asynq.RedisConnOpt
	Log            *slog.Logger
	// Observer receives attempt outcomes for the metrics; nil means none.
	Observer Observer
	// Tracer records a span per attempt; nil means no tracing.
	Tracer trace.TracerProvider
	// InProcessAPI says the API runs in this process and dispatches its
	// new deliveries through this worker's Dispatcher: their first
	// attempts begin here at once (direct.go), without a database read.
	InProcessAPI bool
	// Handlers are other task handlers this worker serves (billing:report),
	// by task type.
	Handlers map[string]asynq.Handler
	// Periodic tasks are enqueued by every worker process's scheduler,
	// at most once per period across processes.
	Periodic []Periodic
	// Events is told about every attempt once it is on record (the
	// operational webhooks: exhausted, failing, recovered, auto-disabled),
	// and, if it is also a LaneEvents, about throttled lanes; nil tells
	// nobody.
	Events AttemptEvents
	// Weights, when set, gives each tenant's share of the workers (by
	// plan; see WithWeights).
	Weights func(ctx context.Context, tenantID string) int
}

// LaneEvents is told when an endpoint's lane has sat at one attempt at a
// time (below its cap) for Options.ThrottledAfter: the receiver has been
// showing congestion for that long. operational.Notifier implements it
// (through Deps.Events).
type LaneEvents interface {
	LaneThrottled(ctx context.Context, tenantID, appID, endpointID string, since time.Time)
}

// AttemptEvents is told about each attempt after it is recorded. It runs
// on the delivery's goroutine, so it must be quick when it has nothing to
// say, and safe for concurrent use. operational.Notifier implements it.
type AttemptEvents interface {
	AttemptRecorded(ctx context.Context, job *tenants.DeliveryJob, res tenants.AttemptResult)
}

// Periodic is a task to enqueue every Every.
type Periodic struct {
	Type  string
	Every time.Duration
}

// Worker runs the deliveries (the lanes' runner), the outbox sweeper, and
// the periodic and background tasks (on asynq).
type Worker struct {
	opts    Options
	log     *slog.Logger
	srv     *asynq.Server
	handler *handler
	run     *runner
	handoff *handoff // nil unless the API shares the process
	rec     *recorder
	sweeper *sweeper
	client  *Client
	extra   map[string]asynq.Handler
	sched   *asynq.Scheduler
	senders *senders // nil when the store has no destinations

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	shutdown sync.Once
}

// New builds a Worker. Start it with Start; stop it with Shutdown.
func New(d Deps, o Options) *Worker {
	o.defaults()
	obs := d.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider()
	}
	copts := []ClientOption{WithTracer(d.Tracer)}
	if d.Weights != nil {
		copts = append(copts, WithWeights(d.Weights))
	}
	client := NewClient(d.Redis, o.Queue, o.DeliveryTimeout, copts...)
	client.lanes.throttledAfter = o.ThrottledAfter
	tr := newTransports(o, d.Redis)
	rec := newRecorder(d.Store, d.Log)
	h := &handler{
		store:    d.Store,
		cache:    newEndpointCache(d.Store.LoadEndpointConfig, endpointCacheSize),
		breaker:  newBreaker(o.Breaker, o.DeliveryTimeout+time.Minute),
		throttle: &throttle{redis: d.Redis, prefix: o.Queue},
		recorder: rec, postponer: newPostponer(d.Store, d.Log),
		egress: tr,
		opts:   o, log: d.Log, obs: obs, tracer: d.Tracer.Tracer("hookline/worker"), now: time.Now, rnd: defaultRand,
		sendSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		events:   d.Events, transform: transform.NewEngine(transform.Options{}),
	}
	// A turn: the attempt (bounded by the delivery timeout) and the time
	// to record it.
	run := newRunner(h, client.lanes, o.Concurrency, o.DeliveryTimeout+time.Minute, maxBlock, d.Log, h.tracer)
	var ho *handoff
	if d.InProcessAPI {
		// The API shares this process: first attempts begin at once, and
		// the others' jobs wait here for their turn.
		ho = newHandoff(handoffBytes)
		run.handoff = ho
	}
	alog := d.Log.With("component", "asynq")
	srv := asynq.NewServerFromRedisClient(d.Redis, asynq.Config{
		Concurrency:              periodicConcurrency,
		Queues:                   map[string]int{o.Queue: 1},
		TaskCheckInterval:        o.TaskCheckInterval,
		DelayedTaskCheckInterval: o.DelayedTaskCheckInterval,
		ShutdownTimeout:          o.ShutdownTimeout,
		Logger:                   asynqLogger{alog},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			d.Log.WarnContext(ctx, "task error; asynq will retry it", "task", t.Type(), "err", err)
		}),
		HealthCheckFunc: func(err error) {
			if err != nil {
				d.Log.Warn("worker cannot reach Redis", "err", err)
			}
		},
	})
	sw := &sweeper{
		store: d.Store, client: client, redis: d.Redis, log: d.Log.With("component", "sweeper"), obs: obs,
		interval: o.SweepInterval, grace: o.SweepGrace, fullEvery: o.FullSweepInterval, now: time.Now,
	}
	w := &Worker{opts: o, log: d.Log, srv: srv, handler: h, run: run, handoff: ho, rec: rec, sweeper: sw, client: client, extra: d.Handlers}
	if ss, ok := d.Store.(SinkStore); ok {
		w.senders = newSenders(ss, h.egress.shared.client, h.egress.dial, o, d.Log)
		w.senders.events, _ = d.Events.(DestinationEvents)
		w.senders.transform = h.transform // one engine bounds the process's transformations
	}
	if len(d.Periodic) > 0 {
		sopts := &asynq.SchedulerOpts{Logger: asynqLogger{alog}, LogLevel: asynq.WarnLevel}
		if d.SchedulerRedis != nil {
			w.sched = asynq.NewScheduler(d.SchedulerRedis, sopts)
		} else if opt, ok := schedulerRedis(d.Redis); ok {
			w.sched = asynq.NewScheduler(opt, sopts)
		} else {
			w.sched = asynq.NewSchedulerFromRedisClient(d.Redis, sopts)
		}
		for _, p := range d.Periodic {
			// Unique for one period: every process runs a scheduler, one
			// task per period gets in.
			_, err := w.sched.Register(fmt.Sprintf("@every %s", p.Every), asynq.NewTask(p.Type, nil),
				asynq.Queue(o.Queue), asynq.Unique(p.Every), asynq.MaxRetry(3))
			if err != nil {
				d.Log.Error("cannot schedule periodic task", "task", p.Type, "err", err)
			}
		}
	}
	return w
}

// handoffBytes bounds the payloads of first-attempt jobs kept in memory
// for their turns (dispatch.go).
const handoffBytes = 64 << 20

// periodicConcurrency is how many periodic and background tasks (billing
// reports, storage maintenance) a process runs at once on asynq.
const periodicConcurrency = 4

// Client returns the enqueueing client for this worker's queue.
func (w *Worker) Client() *Client { return w.client }

// Dispatcher returns the way into this worker for deliveries committed in
// the same process: with Deps.InProcessAPI, their first attempts begin
// here at once; otherwise it is NewDispatcher(w.Client()).
func (w *Worker) Dispatcher() *Dispatcher {
	if w.handoff == nil {
		return NewDispatcher(w.client)
	}
	return &Dispatcher{client: w.client, run: w.run, handoff: w.handoff}
}

// Start begins processing tasks and sweeping the outbox.
func (w *Worker) Start(ctx context.Context) error {
	mux := asynq.NewServeMux()
	// Delivery tasks of versions before lanes: their deliveries are in
	// PostgreSQL, and the sweeper admits them into their lanes.
	mux.HandleFunc(TypeDeliver, func(context.Context, *asynq.Task) error { return nil })
	for typ, h := range w.extra {
		mux.Handle(typ, h)
	}
	if err := w.srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if w.sched != nil {
		if err := w.sched.Start(); err != nil {
			return fmt.Errorf("start scheduler: %w", err)
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		w.sweeper.run(sctx)
	}()
	go func() {
		defer w.wg.Done()
		w.run.loop(sctx)
	}()
	if w.senders != nil {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.senders.run(sctx)
		}()
	}
	w.log.Info("worker started", "queue", w.opts.Queue, "concurrency", w.opts.Concurrency)
	return nil
}

// Shutdown stops taking tasks, lets in-flight deliveries finish within the
// shutdown timeout (asynq hands unfinished ones back to the queue, and the
// sweeper would restore them anyway), then stops the sweeper and flushes
// the attempt recorder. Calling it again does nothing.
func (w *Worker) Shutdown() {
	w.shutdown.Do(w.stop)
}

func (w *Worker) stop() {
	if w.sched != nil {
		w.sched.Shutdown()
	}
	// No new turns: the loop stops taking, the dispatcher stops starting.
	w.run.close()
	if w.cancel != nil {
		w.cancel()
	}
	w.srv.Shutdown()
	// Turns in flight get the shutdown timeout to finish; past it they are
	// aborted, and each goes back to its lane (or its lease ends).
	if !waitGroup(&w.run.running, w.opts.ShutdownTimeout) {
		w.run.abort()
		if !waitGroup(&w.run.running, 5*time.Second) {
			w.log.Warn("worker: some deliveries did not stop in time; their lane slots are freed when their leases end")
		}
	}
	w.wg.Wait()
	w.run.closeReleases()
	w.rec.close()
	w.handler.postponer.close()
}

// waitGroup waits for wg at most d and reports whether it is done.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// OpenCircuits returns how many endpoints' circuits this worker holds open
// or half-open.
func (w *Worker) OpenCircuits() int { return w.handler.breaker.openCount() }

// SendersResting reports whether this process's FIFO and RabbitMQ senders
// found no such destination at their last check, and so take no look for
// work until woken or the next check (the hookline_senders_resting gauge).
func (w *Worker) SendersResting() bool {
	return w.senders != nil && w.senders.none.Load()
}

// WakeSenders tells this process's FIFO and RabbitMQ senders that a
// pushing destination was created or enabled, so that a process which
// found none looks for work again at once rather than at its next check.
// Safe to call from any goroutine, and on a worker without senders.
func (w *Worker) WakeSenders() {
	if w.senders != nil {
		w.senders.ring()
	}
}

// schedulerRedis gives asynq's scheduler a small connection of its own to
// the same Redis: on shutdown it closes its client, which asynq refuses
// (with an error log) for a shared one.
func schedulerRedis(rc redis.UniversalClient) (asynq.RedisConnOpt, bool) {
	c, ok := rc.(*redis.Client)
	if !ok {
		return nil, false
	}
	o := c.Options()
	return asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password,
		DB: o.DB, TLSConfig: o.TLSConfig, PoolSize: 2}, true
}

// asynqLogger sends asynq's printf-style log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
