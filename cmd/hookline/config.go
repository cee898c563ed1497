package main

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// Config is every setting of the process, read from HOOKLINE_* environment
// variables in one place. No other package reads the environment.
type Config struct {
	DatabaseURL string
	DBMaxConns  int
	RedisURL    string
	// RedisSentinels and RedisMaster name a Sentinel-managed Redis
	// (HOOKLINE_REDIS_SENTINELS, HOOKLINE_REDIS_MASTER); when set they win
	// over RedisURL. RedisCluster lists a Redis Cluster's seed nodes
	// (HOOKLINE_REDIS_CLUSTER). RedisPassword is the data nodes' password
	// and RedisSentinelPassword the sentinels' own.
	RedisSentinels        []string
	RedisMaster           string
	RedisCluster          []string
	RedisPassword         string
	RedisSentinelPassword string
	// redisURLSet says HOOKLINE_REDIS_URL was given, for the start-up
	// line that says the sentinels or cluster win over it.
	redisURLSet bool
	// DBPgBouncer says HOOKLINE_DATABASE_URL goes through PgBouncer in
	// transaction pooling (HOOKLINE_DB_PGBOUNCER): no prepared statements
	// kept across transactions and no session advisory locks.
	DBPgBouncer         bool
	Queue               string // asynq queue name and Redis key prefix
	Listen              string
	PublicURL           string
	JWTSecret           string
	EncryptionKey       []byte
	AdminToken          string
	AllowPrivateTargets bool
	// JWTTTL is the lifetime of minted tenant JWTs (HOOKLINE_JWT_TTL).
	JWTTTL time.Duration
	// APIRateLimit is each tenant's API requests per second, across all
	// API processes, unless its plan says otherwise
	// (HOOKLINE_API_RATE_LIMIT; 0 turns the limit off).
	APIRateLimit int
	// PortalRateLimit is the requests per second all app-portal tokens of
	// one application share, counted apart from their tenant's API budget
	// (HOOKLINE_PORTAL_RATE_LIMIT; 0 turns the limit off).
	PortalRateLimit int
	// PortalSessionRateLimit is the requests per second of one portal
	// session (HOOKLINE_PORTAL_SESSION_RATE_LIMIT; 0 turns the limit off).
	PortalSessionRateLimit int

	LogFormat string // json or text
	LogLevel  slog.Level

	MaxPayloadBytes  int64
	DeliveryTimeout  time.Duration
	RetrySchedule    []time.Duration
	SignatureHeaders string // both, webhook or svix
	// DefaultSignature is the scheme of secrets Hookline generates for new
	// endpoints (HOOKLINE_DEFAULT_SIGNATURE): hmac ("whsec_", v1) or
	// ed25519 ("whsk_", v1a), as Svix OSS's default_signature_type.
	DefaultSignature string
	// EgressProxy (HOOKLINE_EGRESS_PROXY), when set, is the http:// or
	// https:// proxy (credentials in the URL allowed) every delivery and
	// OAuth2 token request goes through; the target is still checked
	// against the SSRF rules before the proxy is asked.
	EgressProxy string
	// EgressProxyCA is the PEM read from HOOKLINE_EGRESS_PROXY_CA (a file
	// path): what an https:// proxy's certificate is verified against
	// instead of the system pool.
	EgressProxyCA   []byte
	Concurrency     int
	ShutdownTimeout time.Duration
	SweepInterval   time.Duration
	SweepGrace      time.Duration
	// SendersCheckInterval: how often a worker checks that any FIFO or
	// RabbitMQ destination exists (HOOKLINE_SENDERS_CHECK_INTERVAL; see
	// worker.DefaultSendersCheckInterval). Destinations saved through the
	// API wake the senders at once; only other writers wait this long.
	SendersCheckInterval time.Duration
	// TaskCheckInterval and DelayedTaskCheckInterval tune how quickly an
	// idle worker notices new and due tasks.
	TaskCheckInterval        time.Duration
	DelayedTaskCheckInterval time.Duration
	DisableAfter             time.Duration // an endpoint failing this long is disabled
	// BreakerDisabled turns the per-endpoint circuit breaker off
	// (HOOKLINE_BREAKER_DISABLED); it is on by default.
	BreakerDisabled bool

	MetricsToken  string
	MetricsListen string
	// Dev is set for `hookline dev`: the only mode that serves /metrics on
	// the public listener without HOOKLINE_METRICS_TOKEN.
	Dev bool
	// OTLPEndpoint turns tracing on (OTEL_EXPORTER_OTLP_ENDPOINT).
	OTLPEndpoint string
	// DrainDelay keeps serving (with readyz failing) this long after
	// SIGTERM, so load balancers stop sending before the listener closes.
	DrainDelay time.Duration

	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIURL        string
	StripePriceID       string
	// StripeMeterEvent is the event name of the Stripe meter usage is
	// reported to (HOOKLINE_STRIPE_METER_EVENT).
	StripeMeterEvent string
	// BillingDefaultPlan is the plan of tenants never put on one
	// (HOOKLINE_BILLING_DEFAULT_PLAN); start-up checks that it exists.
	BillingDefaultPlan string
	// BillingGrace is how long a paid-plan tenant may be past due before
	// message creation answers 402 (HOOKLINE_BILLING_GRACE).
	BillingGrace time.Duration
	// BillingRollupInterval and BillingReportInterval pace the periodic
	// billing:rollup and billing:report tasks.
	BillingRollupInterval time.Duration
	BillingReportInterval time.Duration

	// StoragePartition is the slice of time one partition of messages,
	// deliveries and attempts holds (HOOKLINE_STORAGE_PARTITION, 1d);
	// StorageAhead how far ahead slices are made (HOOKLINE_STORAGE_AHEAD,
	// 0: three slices) and StorageInterval how often storage:maintain runs
	// (HOOKLINE_STORAGE_INTERVAL, 0: 10 minutes, or a quarter of a slice
	// if shorter).
	StoragePartition time.Duration
	StorageAhead     time.Duration
	StorageInterval  time.Duration
	// RetentionCap bounds every tenant's retention (HOOKLINE_RETENTION_CAP,
	// 0: none); ResponseRetention is how long attempts keep response
	// bodies (HOOKLINE_RESPONSE_RETENTION, 30d; 0: as long as the attempt).
	RetentionCap      time.Duration
	ResponseRetention time.Duration
}

// minAdminToken is the shortest HOOKLINE_ADMIN_TOKEN accepted: the
// operator API can create tenants and mint their tokens, so its token must
// not be guessable.
const minAdminToken = 32

// configError lists every problem found, so one start-up shows them all.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "configuration is invalid:\n  - " + strings.Join(e.problems, "\n  - ")
}

// loadConfig reads the environment through getenv. With dev set, missing
// secrets are generated and kept in devSecretsFile (with a warning to w);
// otherwise a missing secret is an error naming its variable. Each concern
// reads its own variables (below); every problem found is reported at
// once. A setting left unset takes the default of the package it
// configures (worker.DefaultConcurrency, api.DefaultTenantTTL, …), so an
// unset variable and a zero options struct mean the same thing.
func loadConfig(getenv func(string) string, dev bool, w io.Writer) (Config, error) {
	e := &envReader{getenv: getenv}
	c := Config{Dev: dev}
	e.database(&c)
	e.redis(&c)
	e.http(&c)
	e.logging(&c)
	e.delivery(&c)
	e.telemetry(&c)
	e.billing(&c)
	e.storage(&c)
	if err := e.secrets(&c, dev, w); err != nil {
		return c, err
	}
	if len(e.problems) > 0 {
		return c, &configError{problems: e.problems}
	}
	return c, nil
}

// envReader reads HOOKLINE_* variables and collects the problems found,
// each naming its variable.
type envReader struct {
	getenv   func(string) string
	problems []string
}

func (e *envReader) problem(format string, args ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *envReader) integer(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.problem("%s must be a non-negative integer, got %q", name, v)
		return def
	}
	return n
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.problem("%s must be a duration such as 15s, got %q", name, v)
		return def
	}
	return d
}

// days reads a duration that may also be given in whole days ("7d").
func (e *envReader) days(name string, def time.Duration) time.Duration {
	if v := strings.TrimSpace(e.getenv(name)); strings.HasSuffix(v, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n < 0 {
			e.problem("%s must be a duration such as 7d or 36h, got %q", name, v)
			return def
		}
		return time.Duration(n) * 24 * time.Hour
	}
	return e.duration(name, def)
}

func (e *envReader) boolean(name string) bool {
	v := e.getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problem("%s must be true or false, got %q", name, v)
	}
	return b
}

// defaultDatabaseURL and defaultRedisURL are where `make dev` and the
// tests find PostgreSQL and Redis.
const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/hookline?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// database reads PostgreSQL's settings.
func (e *envReader) database(c *Config) {
	c.DatabaseURL = e.str("HOOKLINE_DATABASE_URL", defaultDatabaseURL)
	c.DBMaxConns = e.integer("HOOKLINE_DB_MAX_CONNS", 40)
	c.DBPgBouncer = e.boolean("HOOKLINE_DB_PGBOUNCER")
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		e.problem("HOOKLINE_DATABASE_URL must be a postgres:// URL, got %q", c.DatabaseURL)
	}
}

// redis reads which Redis deployment to use (see redis.go).
func (e *envReader) redis(c *Config) {
	c.RedisURL = e.str("HOOKLINE_REDIS_URL", defaultRedisURL)
	c.Queue = e.str("HOOKLINE_QUEUE", worker.DefaultQueue)
	c.RedisSentinels = list(e.getenv("HOOKLINE_REDIS_SENTINELS"))
	c.RedisMaster = e.str("HOOKLINE_REDIS_MASTER", "")
	c.RedisCluster = list(e.getenv("HOOKLINE_REDIS_CLUSTER"))
	c.RedisPassword = e.getenv("HOOKLINE_REDIS_PASSWORD")
	c.RedisSentinelPassword = e.getenv("HOOKLINE_REDIS_SENTINEL_PASSWORD")
	c.redisURLSet = strings.TrimSpace(e.getenv("HOOKLINE_REDIS_URL")) != ""
	e.problems = append(e.problems, c.checkRedis()...)
}

// http reads the listener and what the API accepts.
func (e *envReader) http(c *Config) {
	c.Listen = e.str("HOOKLINE_LISTEN", ":8080")
	c.PublicURL = strings.TrimRight(e.str("HOOKLINE_PUBLIC_URL", ""), "/")
	c.MaxPayloadBytes = int64(e.integer("HOOKLINE_MAX_PAYLOAD_BYTES", api.DefaultMaxPayloadBytes))
	c.APIRateLimit = e.integer("HOOKLINE_API_RATE_LIMIT", api.DefaultAPIRateLimit)
	c.PortalRateLimit = e.integer("HOOKLINE_PORTAL_RATE_LIMIT", api.DefaultPortalAppRateLimit)
	c.PortalSessionRateLimit = e.integer("HOOKLINE_PORTAL_SESSION_RATE_LIMIT", api.DefaultPortalSessionRateLimit)
	c.AllowPrivateTargets = e.boolean("HOOKLINE_ALLOW_PRIVATE_TARGETS")
	c.ShutdownTimeout = e.duration("HOOKLINE_SHUTDOWN_TIMEOUT", worker.DefaultShutdownTimeout)
	c.DrainDelay = e.duration("HOOKLINE_DRAIN_DELAY", 0)
	if c.PublicURL == "" {
		c.PublicURL = "http://" + hostPort(c.Listen)
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.problem("HOOKLINE_PUBLIC_URL must be an http(s) URL such as https://hooks.example.com, got %q", c.PublicURL)
	}
}

// logging reads the log format and level.
func (e *envReader) logging(c *Config) {
	c.LogFormat = e.str("HOOKLINE_LOG_FORMAT", "json")
	switch strings.ToLower(e.str("HOOKLINE_LOG_LEVEL", "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		e.problem("HOOKLINE_LOG_LEVEL must be debug, info, warn or error, got %q", e.getenv("HOOKLINE_LOG_LEVEL"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		e.problem("HOOKLINE_LOG_FORMAT must be json or text, got %q", c.LogFormat)
	}
}

// delivery reads the workers' settings; unset ones are worker.Options'
// defaults.
func (e *envReader) delivery(c *Config) {
	c.DeliveryTimeout = e.duration("HOOKLINE_DELIVERY_TIMEOUT", worker.DefaultDeliveryTimeout)
	c.SignatureHeaders = e.str("HOOKLINE_SIGNATURE_HEADERS", worker.DefaultSignatureHeaders)
	c.Concurrency = e.integer("HOOKLINE_WORKER_CONCURRENCY", worker.DefaultConcurrency)
	c.SweepInterval = e.duration("HOOKLINE_SWEEP_INTERVAL", worker.DefaultSweepInterval)
	c.SendersCheckInterval = e.duration("HOOKLINE_SENDERS_CHECK_INTERVAL", worker.DefaultSendersCheckInterval)
	c.SweepGrace = e.duration("HOOKLINE_SWEEP_GRACE", worker.DefaultSweepGrace)
	c.TaskCheckInterval = e.duration("HOOKLINE_TASK_CHECK_INTERVAL", 0)
	c.DelayedTaskCheckInterval = e.duration("HOOKLINE_RETRY_CHECK_INTERVAL", worker.DefaultTaskCheckInterval)
	c.DisableAfter = e.duration("HOOKLINE_DISABLE_AFTER", worker.DefaultDisableAfter)
	c.BreakerDisabled = e.boolean("HOOKLINE_BREAKER_DISABLED")
	if c.SignatureHeaders != "both" && c.SignatureHeaders != "webhook" && c.SignatureHeaders != "svix" {
		e.problem("HOOKLINE_SIGNATURE_HEADERS must be both, webhook or svix, got %q", c.SignatureHeaders)
	}
	if c.Concurrency == 0 { // as worker.Options reads it
		c.Concurrency = worker.DefaultConcurrency
	}
	c.DefaultSignature = e.str("HOOKLINE_DEFAULT_SIGNATURE", "hmac")
	if c.DefaultSignature != "hmac" && c.DefaultSignature != "ed25519" {
		e.problem("HOOKLINE_DEFAULT_SIGNATURE must be hmac or ed25519, got %q", c.DefaultSignature)
	}
	c.EgressProxy = e.getenv("HOOKLINE_EGRESS_PROXY")
	if c.EgressProxy != "" {
		if u, err := url.Parse(c.EgressProxy); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.problem("HOOKLINE_EGRESS_PROXY must be an http:// or https:// URL, got %q", redactURL(c.EgressProxy))
		}
	}
	if p := e.getenv("HOOKLINE_EGRESS_PROXY_CA"); p != "" {
		b, err := os.ReadFile(p)
		if err == nil && !x509.NewCertPool().AppendCertsFromPEM(b) {
			err = errors.New("no PEM certificate in it")
		}
		if err != nil {
			e.problem("HOOKLINE_EGRESS_PROXY_CA must name a PEM file of the proxy's CA: %v", err)
		}
		c.EgressProxyCA = b
	}
	c.RetrySchedule = worker.DefaultRetrySchedule()
	if v := e.getenv("HOOKLINE_RETRY_SCHEDULE"); v != "" {
		sched, err := parseSchedule(v)
		if err != nil {
			e.problems = append(e.problems, "HOOKLINE_RETRY_SCHEDULE: "+err.Error())
		} else {
			c.RetrySchedule = sched
		}
	}
}

// telemetry reads metrics and tracing.
func (e *envReader) telemetry(c *Config) {
	c.MetricsToken = e.getenv("HOOKLINE_METRICS_TOKEN")
	c.MetricsListen = e.getenv("HOOKLINE_METRICS_LISTEN")
	c.OTLPEndpoint = e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}

// billing reads Stripe and the plans' settings.
func (e *envReader) billing(c *Config) {
	c.StripeSecretKey = e.getenv("HOOKLINE_STRIPE_SECRET_KEY")
	c.StripeWebhookSecret = e.getenv("HOOKLINE_STRIPE_WEBHOOK_SECRET")
	c.StripeAPIURL = e.getenv("HOOKLINE_STRIPE_API_URL")
	c.StripePriceID = e.getenv("HOOKLINE_STRIPE_PRICE_ID")
	c.StripeMeterEvent = e.str("HOOKLINE_STRIPE_METER_EVENT", billing.DefaultMeterEventName)
	c.BillingDefaultPlan = e.str("HOOKLINE_BILLING_DEFAULT_PLAN", billing.DefaultPlan)
	c.BillingGrace = e.days("HOOKLINE_BILLING_GRACE", billing.DefaultGrace)
	c.BillingRollupInterval = e.duration("HOOKLINE_BILLING_ROLLUP_INTERVAL", time.Minute)
	c.BillingReportInterval = e.duration("HOOKLINE_BILLING_REPORT_INTERVAL", 5*time.Minute)
	if c.StripeSecretKey != "" && c.StripePriceID == "" {
		e.problem("HOOKLINE_STRIPE_PRICE_ID is required with HOOKLINE_STRIPE_SECRET_KEY: the metered price tenants are subscribed to")
	}
	if c.BillingRollupInterval <= 0 || c.BillingReportInterval <= 0 {
		e.problem("HOOKLINE_BILLING_ROLLUP_INTERVAL and HOOKLINE_BILLING_REPORT_INTERVAL must be positive durations")
	}
}

// storage reads partitioning and retention.
func (e *envReader) storage(c *Config) {
	c.StoragePartition = e.days("HOOKLINE_STORAGE_PARTITION", storage.DefaultPartition)
	c.StorageAhead = e.days("HOOKLINE_STORAGE_AHEAD", 0)
	c.StorageInterval = e.duration("HOOKLINE_STORAGE_INTERVAL", 0)
	c.RetentionCap = e.days("HOOKLINE_RETENTION_CAP", 0)
	c.ResponseRetention = e.days("HOOKLINE_RESPONSE_RETENTION", tenants.DefaultResponseRetention)
	if c.StoragePartition < time.Minute || c.StoragePartition > 31*24*time.Hour || c.StoragePartition%time.Second != 0 {
		e.problem("HOOKLINE_STORAGE_PARTITION must be whole seconds between 1m and 31d, such as 1d or 6h, got %q", e.getenv("HOOKLINE_STORAGE_PARTITION"))
	}
}

// secrets reads the signing and sealing keys and the operator token; with
// dev set, the missing ones come from (or are generated into) the dev
// secrets file. Only a failure to read or write that file is returned;
// bad values are problems like any other.
func (e *envReader) secrets(c *Config, dev bool, w io.Writer) error {
	c.JWTTTL = e.days("HOOKLINE_JWT_TTL", api.DefaultTenantTTL)
	var stored map[string]string
	if dev {
		var err error
		if stored, err = devSecrets(e.getenv, w); err != nil {
			return err
		}
	}
	secret := func(name string) string {
		if v := e.getenv(name); v != "" {
			return v
		}
		if v := stored[name]; v != "" {
			return v
		}
		e.problem("%s is required (in development, `hookline dev` generates one)", name)
		return ""
	}
	c.JWTSecret = secret("HOOKLINE_JWT_SECRET")
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		e.problem("HOOKLINE_JWT_SECRET must be at least 32 characters (try: openssl rand -base64 32)")
	}
	if enc := secret("HOOKLINE_ENCRYPTION_KEY"); enc != "" {
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(key) != 32 {
			e.problem("HOOKLINE_ENCRYPTION_KEY must be the base64 of 32 bytes (try: openssl rand -base64 32)")
		}
		c.EncryptionKey = key
	}
	c.AdminToken = e.getenv("HOOKLINE_ADMIN_TOKEN")
	if c.AdminToken == "" && dev {
		c.AdminToken = stored["HOOKLINE_ADMIN_TOKEN"]
	}
	if c.AdminToken != "" && len(c.AdminToken) < minAdminToken {
		e.problem("HOOKLINE_ADMIN_TOKEN must be at least %d characters (try: openssl rand -base64 32); leave it unset to turn the operator API off", minAdminToken)
	}
	if c.JWTTTL <= 0 || c.JWTTTL > 10*365*24*time.Hour {
		e.problem("HOOKLINE_JWT_TTL must be a positive duration of at most 10 years, such as 30d or 12h, got %q", e.getenv("HOOKLINE_JWT_TTL"))
	}
	return nil
}

func parseSchedule(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a duration (use e.g. 5s,30s,2m)", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("give at least one duration, e.g. 5s,30s,2m")
	}
	return out, nil
}

// hostPort turns a listen address into something a browser can open.
func hostPort(listen string) string {
	if strings.HasPrefix(listen, ":") {
		return "localhost" + listen
	}
	return listen
}

// devSecretsFile is where `hookline dev` keeps the secrets it generates, so
// tokens and sealed endpoint secrets stay valid from one run to the next.
func devSecretsFile(getenv func(string) string) string {
	if p := getenv("HOOKLINE_DEV_SECRETS_FILE"); p != "" {
		return p
	}
	return ".hookline-dev.env"
}

// devSecretNames are the secrets `hookline dev` generates, in file order.
var devSecretNames = []string{"HOOKLINE_JWT_SECRET", "HOOKLINE_ENCRYPTION_KEY", "HOOKLINE_ADMIN_TOKEN"}

// readDevFile parses the NAME=value lines of the dev secrets file; a
// missing file is an empty map.
func readDevFile(path string) (map[string]string, error) {
	stored := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return stored, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			stored[k] = v
		}
	}
	return stored, nil
}

// writeDevFile writes the dev secrets file (mode 0600): the generated
// secrets first, then any other value kept there (the demo API key).
func writeDevFile(path string, stored map[string]string) error {
	var sb strings.Builder
	sb.WriteString("# Secrets generated by `hookline dev` for local development only, and the database and\n# Redis it used (one-shot commands run from here use them too).\n# Never use these in production; set HOOKLINE_* variables instead.\n")
	for _, name := range devSecretNames {
		if v := stored[name]; v != "" {
			fmt.Fprintf(&sb, "%s=%s\n", name, v)
		}
	}
	var rest []string
	for k := range stored {
		if !slices.Contains(devSecretNames, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		fmt.Fprintf(&sb, "%s=%s\n", k, stored[k])
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// devURLNames are the settings `hookline dev` records in its file, so
// that one-shot commands run later from the same directory reach the
// database, Redis and queue it used, and print links to where it listens,
// not the defaults.
var devURLNames = []string{"HOOKLINE_DATABASE_URL", "HOOKLINE_REDIS_URL", "HOOKLINE_QUEUE", "HOOKLINE_LISTEN", "HOOKLINE_PUBLIC_URL"}

// devNoticeShown marks the dev file once a one-shot command has said that
// it reads it: the line is said once, not on every command.
const devNoticeShown = "HOOKLINE_DEV_NOTICE_SHOWN"

// withDevSecrets lets the one-shot commands (tenant, jwt, console-link,
// migrate, usage, queues, storage) run from the checkout after `hookline
// dev` without sourcing its file: when a secret is unset in the
// environment, the secrets and the database and Redis URLs unset there
// are taken from that file, and the first time one line on w says so. Set
// variables always win; with the secrets set, the file is not read.
func withDevSecrets(getenv func(string) string, w io.Writer) func(string) string {
	missing := false
	for _, name := range devSecretNames[:2] {
		missing = missing || getenv(name) == ""
	}
	if !missing {
		return getenv
	}
	path := devSecretsFile(getenv)
	stored, err := readDevFile(path)
	if err != nil {
		fmt.Fprintf(w, "hookline: not using the development secrets: %v\n", err)
		return getenv
	}
	names := slices.Concat(devSecretNames, devURLNames)
	used, urls := false, false
	for _, name := range names {
		if getenv(name) == "" && stored[name] != "" {
			used = true
			urls = urls || slices.Contains(devURLNames, name)
		}
	}
	if !used {
		return getenv
	}
	if stored[devNoticeShown] == "" {
		also := ""
		if urls {
			also = ", and the database and Redis it used"
		}
		fmt.Fprintf(w, "hookline: using the development secrets in %s (written by `hookline dev`)%s; set HOOKLINE_JWT_SECRET and HOOKLINE_ENCRYPTION_KEY to use others (said once)\n", path, also)
		stored[devNoticeShown] = "1"
		_ = writeDevFile(path, stored) // only the note that it was said
	}
	return func(k string) string {
		if v := getenv(k); v != "" || !slices.Contains(names, k) {
			return v
		}
		return stored[k]
	}
}

// recordDevURLs keeps the database and Redis URLs, queue, listen address
// and public URL of a `hookline dev` run in its file, for the one-shot commands run later (see withDevSecrets).
// A Sentinel or Cluster deployment is not recorded: one-shot commands
// need the variables set for those.
func recordDevURLs(path string, c Config) error {
	stored, err := readDevFile(path)
	if err != nil {
		return err
	}
	want := map[string]string{"HOOKLINE_DATABASE_URL": c.DatabaseURL, "HOOKLINE_QUEUE": c.Queue,
		"HOOKLINE_LISTEN": c.Listen, "HOOKLINE_PUBLIC_URL": c.PublicURL}
	if len(c.RedisSentinels) == 0 && len(c.RedisCluster) == 0 {
		want["HOOKLINE_REDIS_URL"] = c.RedisURL
	}
	changed := false
	for k, v := range want {
		if stored[k] != v {
			stored[k], changed = v, true
		}
	}
	if !changed {
		return nil
	}
	return writeDevFile(path, stored)
}

func devSecrets(getenv func(string) string, w io.Writer) (map[string]string, error) {
	path := devSecretsFile(getenv)
	stored, err := readDevFile(path)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, name := range devSecretNames {
		if getenv(name) != "" || stored[name] != "" {
			continue
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		stored[name] = base64.StdEncoding.EncodeToString(b[:])
		changed = true
		delete(stored, devNoticeShown) // new secrets: say so again
	}
	if changed {
		if err := writeDevFile(path, stored); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "WARNING: generated development secrets and stored them in %s (mode 0600).\n         Do not use them in production: set HOOKLINE_JWT_SECRET, HOOKLINE_ENCRYPTION_KEY and HOOKLINE_ADMIN_TOKEN instead.\n", path)
	}
	return stored, nil
}

// logValue prints the config with secrets masked, for the start-up line.
func (c Config) LogValue() slog.Value {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "********"
	}
	return slog.GroupValue(
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("redis", c.redisWhere()),
		slog.Bool("db_pgbouncer", c.DBPgBouncer),
		slog.String("queue", c.Queue),
		slog.String("listen", c.Listen),
		slog.String("public_url", c.PublicURL),
		slog.String("jwt_secret", mask(c.JWTSecret)),
		slog.String("encryption_key", mask(string(c.EncryptionKey))),
		slog.String("admin_token", mask(c.AdminToken)),
		slog.Bool("allow_private_targets", c.AllowPrivateTargets),
		slog.String("jwt_ttl", humanDuration(c.JWTTTL)),
		slog.Int("api_rate_limit", c.APIRateLimit),
		slog.Int("portal_rate_limit", c.PortalRateLimit),
		slog.Int("portal_session_rate_limit", c.PortalSessionRateLimit),
		slog.Int64("max_payload_bytes", c.MaxPayloadBytes),
		slog.String("delivery_timeout", humanDuration(c.DeliveryTimeout)),
		slog.String("signature_headers", c.SignatureHeaders),
		slog.String("default_signature", c.DefaultSignature),
		slog.String("egress_proxy", redactURL(c.EgressProxy)),
		slog.Int("concurrency", c.Concurrency),
		slog.Int("retries", len(c.RetrySchedule)),
		slog.Bool("stripe", c.StripeSecretKey != ""),
		slog.String("billing_default_plan", c.BillingDefaultPlan),
		slog.String("billing_grace", humanDuration(c.BillingGrace)),
		slog.String("metrics_listen", c.MetricsListen),
		slog.String("metrics_token", mask(c.MetricsToken)),
		slog.Bool("tracing", c.OTLPEndpoint != ""),
	)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
