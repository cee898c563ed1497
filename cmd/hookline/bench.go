package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
)

// benchOptions are `hookline bench`'s flags.
type benchOptions struct {
	apps, endpoints, messages, concurrency int
	rate                                   float64
	payloadBytes                           int
	timeout                                time.Duration
	jsonOut, noDeliver, skipBaselines      bool
	backlog                                bool
	apiURL, key, receiverListen            string
	cpuProfile                             string
	noIdempotency, sdk                     bool
	// Soak (--duration): a steady --rate for this long, with a short
	// retention and partition width, sampling the database's size.
	duration, retention, partition, sample time.Duration
	// Noisy neighbour (--noisy): tenant A queues noisyBacklog messages for
	// an endpoint that hangs; tenant B's latency is measured beside it.
	// noisyKey is A's key on a deployed instance (--key is B's).
	noisy        bool
	noisyBacklog int
	noisyKey     string
	// transform puts benchTransformation on every endpoint (or, with
	// transformHandler "trivial", benchTrivialTransformation).
	transform        bool
	transformHandler string
}

const benchUsage = `usage: hookline bench [flags]

Self-contained by default: starts Hookline (all roles) in this process on the configured
PostgreSQL and Redis, creates a throwaway tenant whose endpoints point at a built-in receiver
that verifies every signature, sends the messages, waits for every delivery, reports, cleans up.
With --api, --key and --receiver-listen it loads a deployed instance instead.`

// lockedWriter serialises writes: the bench's progress line and the
// in-process instance's logger share stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runBench is the load tool.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr}
	fs := newFlagSet("bench", stderr)
	var o benchOptions
	fs.IntVar(&o.apps, "apps", 10, "applications")
	fs.IntVar(&o.endpoints, "endpoints", 1, "endpoints per application (each message goes to all of its app's)")
	fs.IntVar(&o.messages, "messages", 20000, "messages to send")
	fs.IntVar(&o.concurrency, "concurrency", 32, "concurrent API clients (and baseline clients)")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second to offer (0: flat out)")
	fs.IntVar(&o.payloadBytes, "payload-bytes", 256, "approximate payload size")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up waiting for deliveries after this")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object instead of a table")
	fs.BoolVar(&o.noDeliver, "no-deliver", false, "run no workers: measure ingest and the queued backlog's memory")
	fs.BoolVar(&o.backlog, "backlog", false, "queue every message first (no workers), measure memory with the backlog, then start workers and measure the drain")
	fs.BoolVar(&o.skipBaselines, "skip-baselines", false, "do not measure the HTTP and INSERT baselines")
	fs.StringVar(&o.apiURL, "api", "", "a deployed Hookline's base URL, or several API processes' URLs separated by commas, sent to in turn (with --key and --receiver-listen)")
	fs.StringVar(&o.key, "key", "", "a tenant API key of the deployed instance")
	fs.StringVar(&o.receiverListen, "receiver-listen", "", "address for the built-in receiver, reachable from the deployed instance")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run (not the baselines) to this file")
	fs.BoolVar(&o.noIdempotency, "no-idempotency", false, "send no idempotency-key (the Svix SDKs send one on every POST; this is for comparison)")
	fs.BoolVar(&o.sdk, "sdk", false, "send through the official Svix Go SDK, exactly as SDK users do")
	fs.BoolVar(&o.transform, "transform", false, "put a field-renaming transformation (JavaScript) on every endpoint")
	fs.StringVar(&o.transformHandler, "transform-handler", "rename", "with --transform: rename (every field renamed, a header added) or trivial (return webhook)")
	fs.DurationVar(&o.duration, "duration", 0, "soak: send at --rate for this long (instead of --messages) and sample the database's size")
	fs.DurationVar(&o.retention, "retention", 0, "soak: cap every retention at this (HOOKLINE_RETENTION_CAP), e.g. 5m")
	fs.DurationVar(&o.partition, "partition", 0, "soak: slice of time per partition (HOOKLINE_STORAGE_PARTITION), e.g. 1m")
	fs.DurationVar(&o.sample, "sample", time.Minute, "soak: how often to sample the database's size")
	fs.BoolVar(&o.noisy, "noisy", false, "noisy neighbour: tenant A queues --noisy-backlog messages for an endpoint that hangs, then tenant B's 100 messages at --rate (default 20/s) are timed, against an idle run first")
	fs.IntVar(&o.noisyBacklog, "noisy-backlog", 5000, "noisy neighbour: tenant A's messages")
	fs.StringVar(&o.noisyKey, "noisy-key", "", "noisy neighbour on a deployed instance: tenant A's API key (--key is tenant B's, another tenant)")
	fs.Usage = func() { fmt.Fprintln(stderr, benchUsage); fs.PrintDefaults() }
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fmt.Fprintln(stdout, benchUsage+"\n\nFlags:")
		fs.PrintDefaults()
		return nil
	}
	if err := fs.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	remote := o.apiURL != ""
	if remote && (o.key == "" || o.receiverListen == "") {
		return &usageError{"--api needs --key and --receiver-listen"}
	}
	if o.transformHandler != "rename" && o.transformHandler != "trivial" {
		return &usageError{"--transform-handler must be rename or trivial"}
	}
	if o.sdk && o.noIdempotency {
		return &usageError{"--sdk sends an idempotency-key on every POST, as the SDK does; --no-idempotency needs plain HTTP"}
	}
	if o.duration > 0 {
		if o.rate <= 0 {
			return &usageError{"--duration needs --rate"}
		}
		o.messages = int(o.rate * o.duration.Seconds())
	}
	if o.noisy {
		if remote && o.noisyKey == "" {
			return &usageError{"--noisy with --api needs --noisy-key (tenant A's key; --key is tenant B's)"}
		}
		if o.noisyBacklog < 1 {
			return &usageError{"--noisy-backlog must be positive"}
		}
		if o.rate <= 0 {
			o.rate = 20
		}
		// B: one app, one endpoint, two trials of noisyMessages.
		o.apps, o.endpoints, o.messages = 1, 1, 2*noisyMessages
	}
	if o.apps < 1 || o.endpoints < 1 || o.messages < 1 || o.concurrency < 1 {
		return &usageError{"--apps, --endpoints, --messages and --concurrency must be positive"}
	}
	b := &bench{o: o, stderr: stderr}
	defer b.cleanup()
	if err := b.setup(ctx, getenv); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	if o.noisy {
		rep, err := b.runNoisy(ctx)
		if err != nil {
			return err
		}
		if o.jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		rep.print(stdout)
		return nil
	}
	rep, err := b.run(ctx)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if !o.skipBaselines {
		b.baselines(ctx, &rep)
	}
	if b.soakRep != nil {
		rep.Soak = b.soakRep
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(stdout)
	if rep.Soak != nil {
		rep.Soak.print(stdout)
	}
	return nil
}

// bench is one run of the load tool.
type bench struct {
	o      benchOptions
	stderr io.Writer

	cfg       Config
	app       *App
	appCancel context.CancelFunc
	appDone   chan error
	store     *store.Store
	db        *store.DB
	// sql is the bench's own pool on the same database, for what it
	// measures beside Hookline (the INSERT baseline, the server's
	// counters) and its clean-up; nil when the database is out of reach.
	sql      *pgxpool.Pool
	redis    *redis.Client
	apiURL   string
	key      string
	tenantID string
	appIDs   []string
	recv     *benchReceiver
	recvSrv  *http.Server
	body     func(i int) []byte
	pad      string
	// apiURLs are every API process given to --api (comma-separated);
	// messages go to them in turn, as behind a round-robin balancer.
	apiURLs  []string
	cleanups []func()
	soakRep  *soakReport
}

func (b *bench) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, format+"\n", args...)
}

func randHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

func (b *bench) setup(ctx context.Context, getenv func(string) string) error {
	// The receiver first: endpoints point at it.
	listen := b.o.receiverListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("receiver listen on %s: %w", listen, err)
	}
	b.recv = newBenchReceiver(b.o.messages, b.o.endpoints)
	b.recv.addr = ln.Addr().String()
	b.recvSrv = &http.Server{Handler: b.recv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.recvSrv.Serve(ln) }()
	b.cleanups = append(b.cleanups, func() { _ = b.recvSrv.Close() })
	recvBase := "http://" + ln.Addr().String()

	pad := strings.Repeat("x", max(b.o.payloadBytes-120, 0))
	b.pad = pad
	b.body = func(i int) []byte {
		return []byte(`{"eventType":"bench.event","payload":{"seq":` + strconv.Itoa(i) +
			`,"type":"invoice.paid","amount":4200,"currency":"eur","customer":"cus_bench","pad":"` + pad + `"}}`)
	}

	if b.o.apiURL != "" {
		for _, u := range strings.Split(b.o.apiURL, ",") {
			b.apiURLs = append(b.apiURLs, strings.TrimRight(strings.TrimSpace(u), "/"))
		}
		b.apiURL, b.key = b.apiURLs[0], b.o.key
		// The INSERT baseline needs the database; measure it if reachable.
		if dsn := getenv("HOOKLINE_DATABASE_URL"); dsn != "" {
			if pool, err := pgxpool.New(ctx, dsn); err == nil {
				b.sql = pool
				b.cleanups = append(b.cleanups, pool.Close)
			}
		}
		return b.provisionViaAPI(ctx, recvBase)
	}

	// Self-contained: this process runs Hookline on the configured stores.
	env := func(k string) string {
		switch k {
		case "HOOKLINE_LISTEN":
			return "127.0.0.1:0"
		case "HOOKLINE_ALLOW_PRIVATE_TARGETS":
			return "true"
		case "HOOKLINE_QUEUE":
			// Short: the queue name is in every task's key and body.
			return "hb" + randHex(3)
		case "HOOKLINE_RETENTION_CAP":
			if b.o.retention > 0 {
				return b.o.retention.String()
			}
		case "HOOKLINE_STORAGE_PARTITION":
			if b.o.partition > 0 {
				return b.o.partition.String()
			}
		}
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case "HOOKLINE_JWT_SECRET":
			return randHex(24) // throwaway: nothing signed here outlives the run
		case "HOOKLINE_ENCRYPTION_KEY":
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			return base64.StdEncoding.EncodeToString(key)
		case "HOOKLINE_LOG_LEVEL":
			return "warn"
		case "HOOKLINE_API_RATE_LIMIT":
			return "0" // the bench measures the pipeline, not the per-tenant limit
		}
		return ""
	}
	cfg, err := loadConfig(env, false, b.stderr)
	if err != nil {
		return err
	}
	b.cfg = cfg
	log := newLogger(cfg, b.stderr)
	if _, err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, b.o.concurrency+2, log)
	if err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	b.db = db
	b.cleanups = append(b.cleanups, db.Close)
	if _, err := db.MigrateUp(ctx, log); err != nil {
		return err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(b.o.concurrency + 2)
	if b.sql, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	b.cleanups = append(b.cleanups, b.sql.Close)
	if err := maintainAfterMigrating(ctx, db, cfg, log); err != nil {
		return err
	}
	roles := roleAPI | roleWorker
	if b.o.noDeliver || b.o.backlog {
		roles = roleAPI
	}
	app, err := newApp(ctx, cfg, log, roles)
	if err != nil {
		return err
	}
	b.app = app
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.appCancel = cancel
	b.appDone = make(chan error, 1)
	go func() { b.appDone <- app.Run(actx) }()
	b.cleanups = append(b.cleanups, func() { cancel(); <-b.appDone })
	b.apiURL = "http://" + app.Addr()
	b.store = app.store
	ropt, _ := redis.ParseURL(cfg.RedisURL)
	b.redis = redis.NewClient(ropt)
	b.cleanups = append(b.cleanups, func() {
		// Drop the run's queue and lanes from Redis.
		c := context.Background()
		for _, pattern := range []string{"asynq:{" + cfg.Queue + "}:*", "hl:{" + cfg.Queue + "}:*"} {
			iter := b.redis.Scan(c, 0, pattern, 1000).Iterator()
			var keys []string
			for iter.Next(c) {
				keys = append(keys, iter.Val())
				if len(keys) == 1000 {
					b.redis.Unlink(c, keys...)
					keys = keys[:0]
				}
			}
			if len(keys) > 0 {
				b.redis.Unlink(c, keys...)
			}
		}
		b.redis.SRem(c, "asynq:queues", cfg.Queue)
		b.redis.Close()
	})

	t, err := b.store.CreateTenant(ctx, "bench "+time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	b.tenantID = t.ID
	b.cleanups = append(b.cleanups, func() { b.dropTenant(context.Background(), t.ID) })
	_, b.key, err = b.store.CreateAPIKey(ctx, t.ID, "bench")
	if err != nil {
		return err
	}
	for i := range b.o.apps {
		a, err := b.store.CreateApplication(ctx, t.ID, tenants.ApplicationInput{Name: fmt.Sprintf("bench app %d", i)})
		if err != nil {
			return err
		}
		b.appIDs = append(b.appIDs, a.ID)
		for j := range b.o.endpoints {
			e, err := b.store.CreateEndpoint(ctx, t.ID, a.ID, tenants.EndpointInput{URL: fmt.Sprintf("%s/e/%d/%d", recvBase, i, j)})
			if err != nil {
				return err
			}
			if b.o.transform {
				code := b.o.transformationCode()
				if _, err := b.store.PatchTransformation(ctx, t.ID, a.ID, e.ID, tenants.TransformationPatch{Code: tenants.Some(code), Enabled: new(true)}); err != nil {
					return err
				}
			}
			secret, err := b.store.EndpointSecret(ctx, t.ID, a.ID, e.ID)
			if err != nil {
				return err
			}
			if err := b.recv.addEndpoint(fmt.Sprintf("/e/%d/%d", i, j), j, secret); err != nil {
				return err
			}
		}
	}
	return nil
}

// call makes one API request as the tenant whose key is key, decoding a
// 2xx answer into out (when not nil).
func (b *bench) call(ctx context.Context, key, method, path, body string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, method, b.apiURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, msg)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// provisionViaAPI creates the apps and endpoints on a deployed instance.
func (b *bench) provisionViaAPI(ctx context.Context, recvBase string) error {
	call := func(method, path, body string, out any) error { return b.call(ctx, b.key, method, path, body, out) }
	for i := range b.o.apps {
		var a struct{ ID string }
		if err := call("POST", "/api/v1/app", fmt.Sprintf(`{"name":"bench app %d"}`, i), &a); err != nil {
			return err
		}
		b.appIDs = append(b.appIDs, a.ID)
		appID := a.ID
		b.cleanups = append(b.cleanups, func() { _ = call("DELETE", "/api/v1/app/"+appID, "", nil) })
		for j := range b.o.endpoints {
			path := fmt.Sprintf("/e/%d/%d", i, j)
			var e struct{ ID string }
			if err := call("POST", "/api/v1/app/"+a.ID+"/endpoint", `{"url":"`+recvBase+path+`"}`, &e); err != nil {
				return err
			}
			if b.o.transform {
				body, _ := json.Marshal(map[string]any{"code": b.o.transformationCode(), "enabled": true})
				if err := call("PATCH", "/api/v1/app/"+a.ID+"/endpoint/"+e.ID+"/transformation", string(body), nil); err != nil {
					return err
				}
			}
			var sec struct{ Key string }
			if err := call("GET", "/api/v1/app/"+a.ID+"/endpoint/"+e.ID+"/secret", "", &sec); err != nil {
				return err
			}
			if err := b.recv.addEndpoint(path, j, sec.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchTransformation is what --transform puts on every endpoint: it
// renames every field but seq (which the receiver reads) and adds a
// header, so each delivery pays a JSON round trip through the sandbox.
const benchTransformation = `function handler(webhook) {
  var p = webhook.payload, out = {seq: p.seq};
  for (var k in p) { if (k !== 'seq') { out['renamed_' + k] = p[k]; } }
  webhook.payload = out;
  webhook.headers = {'X-Bench-Transformed': '1'};
  return webhook;
}`

// benchTrivialTransformation is --transform-handler trivial: what having a
// transformation costs a delivery, apart from what the handler does.
const benchTrivialTransformation = `function handler(webhook) { return webhook; }`

// transformationCode is the handler --transform puts on every endpoint.
func (o benchOptions) transformationCode() string {
	if o.transformHandler == "trivial" {
		return benchTrivialTransformation
	}
	return benchTransformation
}

// dropTenant removes everything the run created for tenantID.
func (b *bench) dropTenant(ctx context.Context, tenantID string) {
	if tenantID == "" || b.sql == nil {
		return
	}
	for _, table := range []string{"attempts", "deliveries", "messages", "event_types", "endpoints", "applications", "api_keys"} {
		if _, err := b.sql.Exec(ctx, "DELETE FROM "+table+" WHERE tenant_id = $1", tenantID); err != nil {
			b.logf("cleanup %s: %v", table, err)
		}
	}
	if _, err := b.sql.Exec(ctx, "DELETE FROM tenants WHERE id = $1", tenantID); err != nil {
		b.logf("cleanup tenant: %v", err)
	}
}

// benchReport is what a run measured.
type benchReport struct {
	Date string `json:"date"`
	// LoadStart and LoadEnd are the machine's load averages (1, 5 and 15
	// minutes) when the run began and ended: a figure means little
	// without them on a shared machine.
	LoadStart string `json:"loadStart,omitempty"`
	LoadEnd   string `json:"loadEnd,omitempty"`
	Mode      string `json:"mode"`
	Apps      int    `json:"apps"`
	Endpoints int    `json:"endpointsPerApp"`
	Transform bool   `json:"transform,omitempty"`
	// TransformHandler is --transform-handler: rename or trivial.
	TransformHandler string `json:"transformHandler,omitempty"`
	// Transformed is how many verified requests the transformation made.
	Transformed int64   `json:"transformed,omitempty"`
	Messages    int     `json:"messages"`
	Concurrency int     `json:"concurrency"`
	OfferedRate float64 `json:"offeredRate,omitempty"`

	Accepted        int     `json:"accepted"`
	Refused         int     `json:"refused"`
	IngestPerSec    float64 `json:"ingestPerSec"`
	APILatencyP50ms float64 `json:"apiLatencyP50Ms"`
	APILatencyP99ms float64 `json:"apiLatencyP99Ms"`

	Delivered        int     `json:"delivered"`
	Expected         int     `json:"expected"`
	DeliveriesPerSec float64 `json:"deliveriesPerSec"`
	E2EP50ms         float64 `json:"e2eP50Ms"`
	E2EP95ms         float64 `json:"e2eP95Ms"`
	E2EP99ms         float64 `json:"e2eP99Ms"`
	E2EMaxms         float64 `json:"e2eMaxMs"`
	BadSignatures    int64   `json:"badSignatures"`
	Duplicates       int64   `json:"duplicates"`
	TimedOut         bool    `json:"timedOut"`

	Idempotency bool `json:"idempotencyKeys"`
	SDK         bool `json:"sdk"`
	// CPU milliseconds per delivery over the run (sending and draining):
	// this process (in self-contained mode: API, workers, bench clients and
	// receiver), every PostgreSQL process, every Redis process.
	CPUSelfMsPerDelivery float64 `json:"cpuSelfMsPerDelivery,omitempty"`
	// CPUHooklineMsPerDelivery is the other Hookline processes on this
	// machine (with --api: the deployment measured, processes apart).
	CPUHooklineMsPerDelivery float64 `json:"cpuHooklineMsPerDelivery,omitempty"`
	CPUPostgresMsPerDelivery float64 `json:"cpuPostgresMsPerDelivery,omitempty"`
	CPURedisMsPerDelivery    float64 `json:"cpuRedisMsPerDelivery,omitempty"`
	CPUTotalMsPerDelivery    float64 `json:"cpuTotalMsPerDelivery,omitempty"`
	// Work per delivery that does not depend on the machine's load:
	// PostgreSQL commits and rows written in the bench's database, and
	// Redis commands (server-wide: meaningful on a Redis of its own).
	PGCommitsPerDelivery      float64 `json:"pgCommitsPerDelivery,omitempty"`
	PGRowsInsertedPerDelivery float64 `json:"pgRowsInsertedPerDelivery,omitempty"`
	PGRowsUpdatedPerDelivery  float64 `json:"pgRowsUpdatedPerDelivery,omitempty"`
	RedisCommandsPerDelivery  float64 `json:"redisCommandsPerDelivery,omitempty"`

	PeakRSSMiB      float64 `json:"peakRssMiB"`
	RedisUsedMiB    float64 `json:"redisUsedMiB,omitempty"`
	BacklogRSSMiB   float64 `json:"backlogRssMiB,omitempty"`
	BacklogRedisMiB float64 `json:"backlogRedisMiB,omitempty"`

	HTTPBaselinePerSec   float64 `json:"httpBaselinePerSec,omitempty"`
	InsertBaselinePerSec float64 `json:"insertBaselinePerSec,omitempty"`
	RatioHTTP            float64 `json:"deliveriesOverHTTPBaseline,omitempty"`
	RatioInsert          float64 `json:"deliveriesOverInsertBaseline,omitempty"`
	IngestRatioInsert    float64 `json:"ingestOverInsertBaseline,omitempty"`

	Soak *soakReport `json:"soak,omitempty"`
}

func (b *bench) run(ctx context.Context) (benchReport, error) {
	o := b.o
	remote := o.apiURL != ""
	rep := benchReport{
		Date: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAverage(), Mode: "self-contained", Apps: o.apps, Endpoints: o.endpoints,
		Transform: o.transform,
		TransformHandler: func() string {
			if o.transform {
				return o.transformHandler
			}
			return ""
		}(),
		Messages: o.messages, Concurrency: o.concurrency, OfferedRate: o.rate,
		Idempotency: !o.noIdempotency, SDK: o.sdk,
	}
	if o.apiURL != "" {
		rep.Mode = "remote " + o.apiURL
	}
	if o.noDeliver {
		rep.Mode += ", no workers"
	}
	if o.backlog {
		rep.Mode += ", backlog then drain"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2, MaxIdleConns: o.concurrency * 2, IdleConnTimeout: time.Minute}}
	send := b.sender(client)
	cpu0, writes0 := sampleCPU(), b.sampleWrites(ctx)
	var (
		next      atomic.Int64
		accepted  atomic.Int64
		refused   atomic.Int64
		latMu     sync.Mutex
		latencies = make([]time.Duration, 0, o.messages)
	)
	start := time.Now()
	var sk *soak
	soakCtx, stopSoak := context.WithCancel(ctx)
	defer stopSoak()
	if o.duration > 0 && b.sql != nil && b.store != nil {
		sk = newSoak(o.sample, start)
		go sk.run(soakCtx, b.store, b.sql, b.stderr)
	}
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, o.messages/o.concurrency+1)
			defer func() {
				latMu.Lock()
				latencies = append(latencies, local...)
				latMu.Unlock()
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.messages || ctx.Err() != nil {
					return
				}
				if o.rate > 0 {
					due := start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				appID := b.appIDs[i%len(b.appIDs)]
				t0 := time.Now()
				err := send(ctx, appID, i)
				t1 := time.Now()
				if err != nil {
					if refused.Add(1) <= 3 {
						b.logf("message refused: %v", err)
					}
					continue
				}
				local = append(local, t1.Sub(t0))
				if sk != nil {
					sk.observe(t1, t1.Sub(t0))
				}
				b.recv.accepted(i, t1)
				accepted.Add(1)
			}
		}()
	}
	// Progress, once a second.
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastSent, lastDel int64
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				s, d := accepted.Load(), b.recv.delivered.Load()
				fmt.Fprintf(b.stderr, "\rsent %d/%d (%d/s)  delivered %d/%d (%d/s)   ", s, o.messages, s-lastSent,
					d, int64(o.messages*o.endpoints), d-lastDel)
				lastSent, lastDel = s, d
			}
		}
	}()
	wg.Wait()
	sendDone := time.Now()
	rep.Accepted, rep.Refused = int(accepted.Load()), int(refused.Load())
	rep.IngestPerSec = float64(rep.Accepted) / sendDone.Sub(start).Seconds()
	rep.APILatencyP50ms, rep.APILatencyP99ms = pct(latencies, 50), pct(latencies, 99)

	rep.Expected = rep.Accepted * o.endpoints
	drainStart := start
	if o.backlog && b.app != nil {
		// Everything is queued: measure memory now, then let workers drain.
		rep.BacklogRSSMiB = currentRSSMiB()
		if info, err := b.redis.Info(ctx, "memory").Result(); err == nil {
			rep.BacklogRedisMiB = infoField(info, "used_memory") / (1 << 20)
		}
		b.logf("\nbacklog queued: %d deliveries; process RSS %.0f MiB, Redis %.0f MiB; starting workers", rep.Expected, rep.BacklogRSSMiB, rep.BacklogRedisMiB)
		wcfg := b.cfg
		wcfg.Listen = "127.0.0.1:0"
		wapp, err := newApp(ctx, wcfg, newLogger(wcfg, b.stderr), roleWorker)
		if err != nil {
			return rep, err
		}
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		drainStart = time.Now()
		go func() { done <- wapp.Run(wctx) }()
		b.cleanups = append(b.cleanups, func() { cancel(); <-done })
	}
	if !o.noDeliver {
		deadline := time.Now().Add(o.timeout)
		for b.recv.delivered.Load() < int64(rep.Expected) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		rep.TimedOut = b.recv.delivered.Load() < int64(rep.Expected)
	}
	close(stopProgress)
	<-progressDone
	fmt.Fprintln(b.stderr)
	rep.Delivered = int(b.recv.delivered.Load())
	if last := b.recv.lastAt(); rep.Delivered > 0 && last.After(drainStart) {
		rep.DeliveriesPerSec = float64(rep.Delivered) / last.Sub(drainStart).Seconds()
	}
	e2e := b.recv.latencies()
	rep.E2EP50ms, rep.E2EP95ms, rep.E2EP99ms = pct(e2e, 50), pct(e2e, 95), pct(e2e, 99)
	rep.E2EMaxms = pct(e2e, 100)
	rep.BadSignatures, rep.Duplicates = b.recv.badSig.Load(), b.recv.dups.Load()
	rep.Transformed = b.recv.transformed.Load()
	if w := b.sampleWrites(ctx).sub(writes0); rep.Delivered > 0 && b.sql != nil {
		// pg_stat_database lags its backends by up to half a second.
		time.Sleep(600 * time.Millisecond)
		w = b.sampleWrites(ctx).sub(writes0)
		per := func(v float64) float64 { return v / float64(rep.Delivered) }
		rep.PGCommitsPerDelivery, rep.PGRowsInsertedPerDelivery = per(w.commits), per(w.inserted)
		rep.PGRowsUpdatedPerDelivery, rep.RedisCommandsPerDelivery = per(w.updated), per(w.redisCalls)
	}
	if cpu := sampleCPU().sub(cpu0); rep.Delivered > 0 {
		per := func(sec float64) float64 { return sec * 1000 / float64(rep.Delivered) }
		rep.CPUSelfMsPerDelivery, rep.CPUPostgresMsPerDelivery, rep.CPURedisMsPerDelivery = per(cpu.self), per(cpu.postgres), per(cpu.redis)
		rep.CPUHooklineMsPerDelivery = per(cpu.hookline)
		if remote {
			// The bench's clients and receiver are not the system measured.
			rep.CPUTotalMsPerDelivery = per(cpu.hookline + cpu.postgres + cpu.redis)
		} else {
			rep.CPUTotalMsPerDelivery = per(cpu.self + cpu.hookline + cpu.postgres + cpu.redis)
		}
	}
	if sk != nil {
		stopSoak()
		var drops []time.Time
		if rows, err := b.sql.Query(ctx, `SELECT dropped_at FROM storage_drops WHERE dropped_at >= $1`, start); err == nil {
			for rows.Next() {
				var d time.Time
				if rows.Scan(&d) == nil {
					drops = append(drops, d)
				}
			}
			rows.Close()
		}
		r := sk.report(drops, b.cfg.RetentionCap.String(), b.cfg.StoragePartition.String(), sendDone)
		b.soakRep = &r
	}
	rep.PeakRSSMiB = peakRSSMiB()
	if b.redis != nil {
		if info, err := b.redis.Info(ctx, "memory").Result(); err == nil {
			if v := infoField(info, "used_memory"); v > 0 {
				rep.RedisUsedMiB = v / (1 << 20)
			}
		}
	}
	rep.LoadEnd = loadAverage()
	return rep, nil
}

// baselines measures, in the same run, plain HTTP POSTs of the same bodies
// to the same receiver and single-row committed INSERTs of the same bodies
// into the same PostgreSQL, both at the same concurrency.
func (b *bench) baselines(ctx context.Context, rep *benchReport) {
	n := min(b.o.messages, 50000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.o.concurrency * 2, MaxIdleConns: b.o.concurrency * 2}}
	url := "http://" + b.recv.addr + "/baseline"
	rep.HTTPBaselinePerSec = parallel(b.o.concurrency, n, func(i int) error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(b.body(i)))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	if b.sql != nil {
		rep.InsertBaselinePerSec = insertBaseline(ctx, b.sql, b.o.concurrency, n, b.body)
	}
	if rep.HTTPBaselinePerSec > 0 {
		rep.RatioHTTP = rep.DeliveriesPerSec / rep.HTTPBaselinePerSec
	}
	if rep.InsertBaselinePerSec > 0 {
		rep.RatioInsert = rep.DeliveriesPerSec / rep.InsertBaselinePerSec
		rep.IngestRatioInsert = rep.IngestPerSec / rep.InsertBaselinePerSec
	}
}

func insertBaseline(ctx context.Context, pool *pgxpool.Pool, conc, n int, body func(int) []byte) float64 {
	table := "hookline_bench_baseline_" + randHex(4)
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body bytea NOT NULL)"); err != nil {
		return 0
	}
	defer pool.Exec(context.Background(), "DROP TABLE "+table) //nolint:errcheck
	sql := "INSERT INTO " + table + " (body) VALUES ($1)"
	return parallel(conc, n, func(i int) error {
		_, err := pool.Exec(ctx, sql, body(i))
		return err
	})
}

// parallel runs fn(0..n-1) from conc goroutines and returns calls/s.
func parallel(conc, n int, fn func(int) error) float64 {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if fn(i) == nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds()
}

func (r benchReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	f0 := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	f3 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	row("run", fmt.Sprintf("%s, %s, %d apps x %d endpoints, %d messages, %d clients", r.Date, r.Mode, r.Apps, r.Endpoints, r.Messages, r.Concurrency))
	if r.LoadStart != "" {
		row("load average", r.LoadStart+" at the start, "+r.LoadEnd+" at the end")
	}
	switch {
	case r.Transform && r.TransformHandler == "trivial":
		row("transformation", "a trivial JavaScript transformation (return webhook) on every endpoint")
	case r.Transform:
		row("transformation", "a field-renaming JavaScript transformation on every endpoint")
	}
	if r.OfferedRate > 0 {
		row("offered rate", f0(r.OfferedRate)+" msgs/s")
	}
	row("ingest", fmt.Sprintf("%s msgs/s accepted (%d accepted, %d refused)", f0(r.IngestPerSec), r.Accepted, r.Refused))
	row("API latency", fmt.Sprintf("p50 %s ms, p99 %s ms", f1(r.APILatencyP50ms), f1(r.APILatencyP99ms)))
	row("deliveries", fmt.Sprintf("%s /s (%d of %d delivered%s)", f0(r.DeliveriesPerSec), r.Delivered, r.Expected, map[bool]string{true: ", TIMED OUT"}[r.TimedOut]))
	row("end-to-end", fmt.Sprintf("p50 %s ms, p95 %s ms, p99 %s ms, max %s ms", f1(r.E2EP50ms), f1(r.E2EP95ms), f1(r.E2EP99ms), f1(r.E2EMaxms)))
	row("receiver saw", fmt.Sprintf("%d bad signatures, %d duplicates", r.BadSignatures, r.Duplicates))
	row("clients", fmt.Sprintf("%s, idempotency-key %s", map[bool]string{true: "official Svix Go SDK", false: "plain HTTP"}[r.SDK],
		map[bool]string{true: "on every request (as the SDKs send)", false: "OFF (--no-idempotency)"}[r.Idempotency]))
	if r.PGCommitsPerDelivery > 0 {
		row("work per delivery", fmt.Sprintf("PostgreSQL %s commits, %s rows inserted, %s rows updated; Redis %s commands",
			f2(r.PGCommitsPerDelivery), f2(r.PGRowsInsertedPerDelivery), f2(r.PGRowsUpdatedPerDelivery), f2(r.RedisCommandsPerDelivery)))
	}
	if r.CPUTotalMsPerDelivery > 0 && strings.HasPrefix(r.Mode, "remote") {
		row("CPU per delivery", fmt.Sprintf("%s ms: Hookline processes on this machine %s ms, PostgreSQL %s ms, Redis %s ms (the bench's clients and receiver, apart: %s ms)",
			f3(r.CPUTotalMsPerDelivery), f3(r.CPUHooklineMsPerDelivery), f3(r.CPUPostgresMsPerDelivery), f3(r.CPURedisMsPerDelivery), f3(r.CPUSelfMsPerDelivery)))
	} else if r.CPUTotalMsPerDelivery > 0 {
		row("CPU per delivery", fmt.Sprintf("%s ms total: this process %s ms, PostgreSQL %s ms, Redis %s ms", f2(r.CPUTotalMsPerDelivery),
			f2(r.CPUSelfMsPerDelivery), f2(r.CPUPostgresMsPerDelivery), f2(r.CPURedisMsPerDelivery)))
	}
	row("peak RSS", f1(r.PeakRSSMiB)+" MiB (this process: API, workers, clients and receiver)")
	if r.RedisUsedMiB > 0 {
		row("Redis used", f1(r.RedisUsedMiB)+" MiB (at the end)")
	}
	if r.BacklogRSSMiB > 0 {
		row("with the backlog queued", fmt.Sprintf("process RSS %s MiB, Redis %s MiB (deliveries/s above: the drain)", f1(r.BacklogRSSMiB), f1(r.BacklogRedisMiB)))
	}
	if r.HTTPBaselinePerSec > 0 {
		row("baseline: HTTP POSTs", fmt.Sprintf("%s /s  (deliveries/baseline = %s)", f0(r.HTTPBaselinePerSec), f2(r.RatioHTTP)))
	}
	if r.InsertBaselinePerSec > 0 {
		row("baseline: INSERTs", fmt.Sprintf("%s /s  (deliveries/baseline = %s, ingest/baseline = %s)", f0(r.InsertBaselinePerSec), f2(r.RatioInsert), f2(r.IngestRatioInsert)))
	}
	tw.Flush()
}

// pct returns the p-th percentile of ds in milliseconds.
func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i]) / float64(time.Millisecond)
}

// currentRSSMiB reads the process's resident set size now.
func currentRSSMiB() float64 { return procStatusMiB("VmRSS:") }

// peakRSSMiB reads the process's high-water resident set size.
func peakRSSMiB() float64 { return procStatusMiB("VmHWM:") }

func procStatusMiB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func infoField(info, name string) float64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// benchReceiver is the fast built-in receiver: it verifies every
// signature with the endpoint's secret and records when each message
// arrived at each endpoint. Bookkeeping is two flat arrays indexed by the
// message's sequence number (carried in its payload), so that measuring a
// million deliveries does not inflate the memory being measured.
type benchReceiver struct {
	addr      string
	endpoints int
	paths     map[string]int    // path -> endpoint index within its app; written before serving
	keys      map[string][]byte // path -> HMAC key; written before serving
	accept    []atomic.Int64    // seq -> when the API accepted it (unix ns)
	arrival   []atomic.Int64    // seq*endpoints+j -> first arrival (unix ns)
	delivered atomic.Int64
	badSig    atomic.Int64
	dups      atomic.Int64
	last      atomic.Int64
	// transformed counts verified requests --transform's handler made.
	transformed atomic.Int64
}

func newBenchReceiver(messages, endpoints int) *benchReceiver {
	return &benchReceiver{endpoints: endpoints, paths: map[string]int{}, keys: map[string][]byte{},
		accept: make([]atomic.Int64, messages), arrival: make([]atomic.Int64, messages*endpoints)}
}

func (r *benchReceiver) addEndpoint(path string, index int, secret string) error {
	key, err := tenants.SecretKey(secret)
	if err != nil {
		return err
	}
	r.keys[path], r.paths[path] = key, index
	return nil
}

// accepted records when the API accepted message seq (the 202 arrived).
func (r *benchReceiver) accepted(seq int, at time.Time) { r.accept[seq].Store(at.UnixNano()) }

func (r *benchReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if req.URL.Path == "/baseline" {
		return
	}
	now := time.Now().UnixNano()
	key := r.keys[req.URL.Path]
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	if key == nil || !verify(key, id, ts, body, sig) {
		r.badSig.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if req.Header.Get("X-Bench-Transformed") != "" {
		r.transformed.Add(1)
	}
	seq := seqOf(body)
	idx := seq*r.endpoints + r.paths[req.URL.Path]
	if seq < 0 || idx >= len(r.arrival) {
		r.badSig.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !r.arrival[idx].CompareAndSwap(0, now) {
		r.dups.Add(1)
		return
	}
	r.delivered.Add(1)
	for {
		last := r.last.Load()
		if now <= last || r.last.CompareAndSwap(last, now) {
			break
		}
	}
}

// seqOf reads the payload's "seq" number.
func seqOf(body []byte) int {
	i := bytes.Index(body, []byte(`"seq":`))
	if i < 0 {
		return -1
	}
	n, ok := 0, false
	for _, c := range body[i+6:] {
		if c < '0' || c > '9' {
			break
		}
		n, ok = n*10+int(c-'0'), true
	}
	if !ok {
		return -1
	}
	return n
}

// latencies returns accept-to-arrival times of every delivery seen.
func (r *benchReceiver) latencies() []time.Duration {
	out := make([]time.Duration, 0, r.delivered.Load())
	for idx := range r.arrival {
		arr := r.arrival[idx].Load()
		acc := r.accept[idx/r.endpoints].Load()
		if arr != 0 && acc != 0 {
			out = append(out, time.Duration(max(arr-acc, 0)))
		}
	}
	return out
}

// latenciesOf returns the accept-to-arrival times of messages [from, to)
// at their first endpoint.
func (r *benchReceiver) latenciesOf(from, to int) []time.Duration {
	var out []time.Duration
	for seq := from; seq < to && seq < len(r.accept); seq++ {
		arr, acc := r.arrival[seq*r.endpoints].Load(), r.accept[seq].Load()
		if arr != 0 && acc != 0 {
			out = append(out, time.Duration(max(arr-acc, 0)))
		}
	}
	return out
}

func (r *benchReceiver) lastAt() time.Time { return time.Unix(0, r.last.Load()) }

// verify checks a Standard Webhooks signature header against key.
func verify(key []byte, id, ts string, body []byte, header string) bool {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(header) {
		v, ok := strings.CutPrefix(s, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}
