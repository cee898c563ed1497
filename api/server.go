package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/transform"
)

// Options are the API's settings, from the process config.
type Options struct {
	// PublicURL is where users reach this server (portal links start here).
	PublicURL string
	// MaxPayloadBytes bounds a message payload (413 beyond it); 0 means
	// DefaultMaxPayloadBytes.
	MaxPayloadBytes int64
	// MaxBodyBytes bounds any request body.
	MaxBodyBytes int64
	// Version is reported by the health endpoint.
	Version string
	// AdminToken guards /admin/v1; empty disables the operator API.
	AdminToken string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// AllowPrivateTargets (HOOKLINE_ALLOW_PRIVATE_TARGETS) lets endpoint
	// URLs name private, loopback and link-local addresses; false (the
	// default) refuses such literals at create and update with a 422, on
	// top of the worker's dial-time check.
	AllowPrivateTargets bool
	// TenantTokenTTL is the lifetime of tenant JWTs the operator API mints
	// (HOOKLINE_JWT_TTL); zero means DefaultTenantTTL.
	TenantTokenTTL time.Duration
	// RequestLogLevel is the level of the one log line per request (zero:
	// info); `hookline dev` lowers it to debug, so that the demo
	// receiver's and the portal's polling do not bury its instructions.
	// Requests answered 5xx are logged at warn whatever it says.
	RequestLogLevel slog.Level
	// DefaultSignature (HOOKLINE_DEFAULT_SIGNATURE) is the scheme of
	// secrets Hookline generates for new endpoints and for rotations
	// without a key: tenants.SignatureHMAC (the default, "whsec_") or
	// tenants.SignatureEd25519 ("whsk_", signing v1a), as Svix OSS's
	// default_signature_type.
	DefaultSignature string
}

// DefaultMaxPayloadBytes is the payload bound of a zero Options (1 MiB).
const DefaultMaxPayloadBytes = 1 << 20

// RequestObserver is told about every request (telemetry.Metrics).
type RequestObserver interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// Checker reports whether a dependency answers; nil error means healthy.
type Checker func(ctx context.Context) error

// Deps are the API's collaborators, built by main.
type Deps struct {
	Store  Store
	Tokens *Tokens
	Auth   *Authenticator
	Log    *slog.Logger
	// Queue and Cache check Redis for the health endpoints.
	Queue Checker
	// Outbox accepts messages and enqueues deliveries after commit; the
	// server closes it in Close (the API is its only writer).
	Outbox *outbox.Outbox
	// Operational turns endpoint changes into operational events; nil
	// sends none.
	Operational *operational.Notifier
	// Quota decides whether a tenant may send (plan caps, payment); nil
	// means always.
	Quota Quota
	// Billing answers usage queries and Stripe's webhooks; nil disables
	// those routes.
	Billing Billing
	// Metrics counts requests; nil counts nothing.
	Metrics RequestObserver
	// MetricsHandler, when set, is served at GET /metrics (behind
	// Options.MetricsToken when that is set).
	MetricsHandler http.Handler
	// Tracer starts a span per request; nil means no tracing.
	Tracer trace.TracerProvider
	// Ready reports whether the process accepts traffic (false while
	// draining); nil means always.
	Ready func() bool
	// RateLimit limits each tenant's API requests across processes; nil
	// means no limit.
	RateLimit *RateLimiter
	// Invalidated is told after a tenant's status or API keys change
	// through this process (its own caches already dropped them), so that
	// other processes can drop theirs; nil tells no one.
	Invalidated func(ctx context.Context, tenantID string)
	// AppInvalidated is told after an application is changed or deleted
	// through this process (its own application cache already dropped
	// it), so that other processes can drop theirs; nil tells no one.
	AppInvalidated func(ctx context.Context, tenantID, appID string)
	// DestinationSaved is told after a destination is created, changed,
	// skipped or force-retried through this process, so that the
	// workers' FIFO and RabbitMQ senders, which rest while none is
	// enabled, check again at once; nil tells no one.
	DestinationSaved func(ctx context.Context, tenantID, appID string)
	// Transform compiles transformations to check them and runs the
	// simulate route; nil means an engine with the default limits on at
	// most half the cores.
	Transform *transform.Engine
}

// Server is the HTTP API. Create it with NewServer; it is safe for
// concurrent use.
type Server struct {
	store  Store
	tokens *Tokens
	auth   *Authenticator
	log    *slog.Logger
	queue  Checker
	outbox *outbox.Outbox
	// settingsWire renders portal settings in environment export/import.
	settingsWire SettingsWire
	quota        Quota
	billing      Billing
	metrics      RequestObserver
	promHTTP     http.Handler
	tracer       trace.Tracer
	apps         *appCache
	limiter      *RateLimiter
	ops          *operational.Notifier
	openapi      openAPIDoc
	ready        func() bool
	opts         Options
	engine       *gin.Engine
	routes       []route
	// spanNames are the routes' span names by method and path; serverSpan
	// starts a request's span. Both are made once and only read.
	spanNames  map[[2]string]string
	serverSpan []trace.SpanStartOption

	// invalidated is Deps.Invalidated (may be nil).
	invalidated func(ctx context.Context, tenantID string)
	// appInvalidated is Deps.AppInvalidated (may be nil).
	appInvalidated func(ctx context.Context, tenantID, appID string)
	// destinationSaved is Deps.DestinationSaved (may be nil).
	destinationSaved func(ctx context.Context, tenantID, appID string)
	// transform is Deps.Transform (never nil).
	transform *transform.Engine
}

// scope says who may call a route.
type scope int

const (
	scopePublic  scope = iota // no credentials
	scopeOrg                  // tenant credentials only (app tokens get 403)
	scopeApp                  // tenant credentials, or a token of the route's app
	scopeAnyAuth              // any valid credential, no app in the path
	scopeAdmin                // the operator token
)

// route is one entry of the route table. Tests walk this table, so every
// route must be registered through it.
type route struct {
	method, path string
	scope        scope
	// write routes are refused to read-only app tokens.
	write bool
	h     func(*gin.Context) error
}

// NewServer builds the API's gin engine and its routes.
func NewServer(d Deps, opts Options) *Server {
	if opts.MaxPayloadBytes <= 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = opts.MaxPayloadBytes + 256<<10
	}
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	if opts.TenantTokenTTL <= 0 {
		opts.TenantTokenTTL = DefaultTenantTTL
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider()
	}
	s := &Server{
		store: d.Store, tokens: d.Tokens, auth: d.Auth, log: d.Log, queue: d.Queue,
		outbox: d.Outbox, quota: d.Quota, billing: d.Billing, ready: d.Ready, opts: opts, settingsWire: noSettingsWire,
		metrics: d.Metrics, promHTTP: d.MetricsHandler, tracer: d.Tracer.Tracer("hookline/api"),
		apps: newAppCache(appCacheSize),
	}
	s.limiter = d.RateLimit
	s.ops = d.Operational
	s.invalidated = d.Invalidated
	s.appInvalidated = d.AppInvalidated
	s.destinationSaved = d.DestinationSaved
	s.transform = d.Transform
	if s.transform == nil {
		// Saving and simulating run customers' code in the API process:
		// at most half its cores, so a burst of simulations cannot take
		// the API's CPU from every other request.
		s.transform = transform.NewEngine(transform.Options{MaxConcurrent: max(1, runtime.GOMAXPROCS(0)/2)})
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	e.ContextWithFallback = true
	e.Use(s.requestContext, s.recoverPanic, s.rejectBadBytes)
	e.NoRoute(func(c *gin.Context) { s.writeError(c, errNotFound) })
	s.engine = e
	s.routes = s.routeTable()
	s.spanNames = make(map[[2]string]string, len(s.routes))
	s.serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	for _, r := range s.routes {
		s.engine.Handle(r.method, r.path, s.wrap(r))
		s.spanNames[[2]string{r.method, r.path}] = r.method + " " + r.path
	}
	return s
}

// Handler returns the server's http.Handler. A trailing slash is stripped
// before routing, as the Svix API does.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && !strings.HasPrefix(p, "/portal/") && !strings.HasPrefix(p, "/console/") {
			r.URL.Path = strings.TrimRight(p, "/")
			r.URL.RawPath = ""
		}
		// Every answer is what its Content-Type says: no browser may sniff
		// a JSON error (which can echo input) into a page.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		s.engine.ServeHTTP(w, r)
	})
}

// Close closes the outbox once the messages handed to it are stored. Call
// it after the HTTP server has stopped serving.
func (s *Server) Close() {
	if s.outbox != nil {
		s.outbox.Close()
	}
}

// Engine exposes the gin engine so main can mount other handlers (portal,
// billing webhooks, metrics) before serving.
func (s *Server) Engine() *gin.Engine { return s.engine }

func (s *Server) wrap(r route) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch r.scope {
		case scopeAdmin:
			if err := s.checkAdmin(c); err != nil {
				s.writeError(c, err)
				return
			}
		case scopeOrg, scopeApp, scopeAnyAuth:
			p, err := s.auth.Authenticate(c.Request.Context(), c.GetHeader("Authorization"))
			if err != nil {
				s.writeError(c, err)
				return
			}
			if p.AppID != "" && r.scope == scopeOrg {
				s.writeError(c, errForbidden("this token is limited to one application"))
				return
			}
			if p.ReadOnly && r.write {
				s.writeError(c, errForbidden("this token is read-only"))
				return
			}
			if err := checkCapability(p, r); err != nil {
				s.writeError(c, err)
				return
			}
			c.Set(principalKey, p)
			c.Set(logTenantKey, p.TenantID)
			if s.limiter != nil {
				if err := s.limiter.allow(c, p); err != nil {
					s.writeError(c, err)
					return
				}
			}
		}
		h := r.h
		// Message creation commits its idempotency claim with the message
		// (package outbox); every other tenant POST goes through the
		// generic claim-run-store.
		if r.method == http.MethodPost && r.scope != scopeAdmin && r.scope != scopePublic && r.path != messageCreatePath {
			h = func(c *gin.Context) error { return s.idempotent(c, r.h) }
		}
		if err := h(c); err != nil {
			s.writeError(c, err)
		}
	}
}

// messageCreatePath is the route of POST …/msg.
const messageCreatePath = "/api/v1/app/:app_id/msg"

func (s *Server) routeTable() []route {
	const (
		r, w = false, true
	)
	app := "/api/v1/app/:app_id"
	ep := app + "/endpoint/:endpoint_id"
	msg := app + "/msg/:msg_id"
	routes := []route{
		{"GET", "/healthz", scopePublic, r, s.healthz},
		{"GET", "/readyz", scopePublic, r, s.readyz},
		{"GET", "/api/v1/health", scopePublic, r, s.health},
		{"HEAD", "/api/v1/health", scopePublic, r, s.health},
		{"GET", "/api/v1/health/ping", scopePublic, r, s.ping},
		{"HEAD", "/api/v1/health/ping", scopePublic, r, s.ping},

		{"GET", "/api/v1/app", scopeOrg, r, s.listApplications},
		{"POST", "/api/v1/app", scopeOrg, w, s.createApplication},
		{"GET", app, scopeApp, r, s.getApplication},
		{"PUT", app, scopeOrg, w, s.updateApplication},
		{"PATCH", app, scopeOrg, w, s.patchApplication},
		{"DELETE", app, scopeOrg, w, s.deleteApplication},

		{"GET", "/api/v1/event-type", scopeAnyAuth, r, s.listEventTypes},
		{"POST", "/api/v1/event-type", scopeOrg, w, s.createEventType},
		{"GET", "/api/v1/event-type/:event_type_name", scopeAnyAuth, r, s.getEventType},
		{"PUT", "/api/v1/event-type/:event_type_name", scopeOrg, w, s.updateEventType},
		{"PATCH", "/api/v1/event-type/:event_type_name", scopeOrg, w, s.patchEventType},
		{"DELETE", "/api/v1/event-type/:event_type_name", scopeOrg, w, s.deleteEventType},

		{"GET", app + "/endpoint", scopeApp, r, s.listEndpoints},
		{"POST", app + "/endpoint", scopeApp, w, s.createEndpoint},
		{"GET", ep, scopeApp, r, s.getEndpoint},
		{"PUT", ep, scopeApp, w, s.updateEndpoint},
		{"PATCH", ep, scopeApp, w, s.patchEndpoint},
		{"DELETE", ep, scopeApp, w, s.deleteEndpoint},
		{"GET", ep + "/secret", scopeApp, r, s.getEndpointSecret},
		{"POST", ep + "/secret/rotate", scopeApp, w, s.rotateEndpointSecret},
		{"GET", ep + "/headers", scopeApp, r, s.getEndpointHeaders},
		{"PUT", ep + "/headers", scopeApp, w, s.updateEndpointHeaders},
		{"PATCH", ep + "/headers", scopeApp, w, s.patchEndpointHeaders},
		{"POST", ep + "/recover", scopeApp, w, s.recoverEndpoint},
		{"POST", ep + "/replay-missing", scopeApp, w, s.replayMissing},
		{"GET", ep + "/stats", scopeApp, r, s.endpointStats},
		{"POST", ep + "/send-example", scopeApp, w, s.sendExample},
		{"GET", ep + "/msg", scopeApp, r, s.listEndpointMessages},

		{"GET", app + "/msg", scopeApp, r, s.listMessages},
		{"POST", app + "/msg", scopeOrg, w, s.createMessage},
		{"GET", msg, scopeApp, r, s.getMessage},
		{"DELETE", msg + "/content", scopeOrg, w, s.expungeMessageContent},
		{"GET", msg + "/endpoint", scopeApp, r, s.listMessageDestinations},
		{"POST", msg + "/endpoint/:endpoint_id/resend", scopeApp, w, s.resendMessage},
		{"GET", msg + "/attempt/:attempt_id", scopeApp, r, s.getAttempt},
		{"DELETE", msg + "/attempt/:attempt_id/content", scopeOrg, w, s.expungeAttemptContent},
		{"GET", app + "/attempt/endpoint/:endpoint_id", scopeApp, r, s.listAttemptsByEndpoint},
		{"GET", app + "/attempt/msg/:msg_id", scopeApp, r, s.listAttemptsByMessage},

		{"POST", "/admin/v1/tenants", scopeAdmin, w, s.adminCreateTenant},
		{"GET", "/admin/v1/tenants", scopeAdmin, r, s.adminListTenants},
		{"GET", "/admin/v1/tenants/:tenant_id", scopeAdmin, r, s.adminGetTenant},
		{"POST", "/admin/v1/tenants/:tenant_id/suspend", scopeAdmin, w, s.adminSuspendTenant},
		{"POST", "/admin/v1/tenants/:tenant_id/resume", scopeAdmin, w, s.adminResumeTenant},
		{"GET", "/admin/v1/tenants/:tenant_id/api-keys", scopeAdmin, r, s.adminListAPIKeys},
		{"POST", "/admin/v1/tenants/:tenant_id/api-keys", scopeAdmin, w, s.adminCreateAPIKey},
		{"DELETE", "/admin/v1/tenants/:tenant_id/api-keys/:key_id", scopeAdmin, w, s.adminRevokeAPIKey},
		{"POST", "/admin/v1/tenants/:tenant_id/jwt", scopeAdmin, w, s.adminTenantJWT},
		{"POST", "/admin/v1/tenants/:tenant_id/revoke-tokens", scopeAdmin, w, s.adminRevokeTenantTokens},
		{"GET", "/admin/v1/tenants/:tenant_id/retention", scopeAdmin, r, s.adminGetRetention},
		{"PUT", "/admin/v1/tenants/:tenant_id/retention", scopeAdmin, w, s.adminSetRetention},
	}
	if s.promHTTP != nil {
		routes = append(routes, route{"GET", "/metrics", scopePublic, r, s.serveMetrics})
	}
	routes = append(routes,
		route{"GET", app + "/endpoint-stats", scopeApp, r, s.endpointSuccessRates},
		route{"GET", app + "/delivery-status", scopeApp, r, s.deliveryStatus},
		route{"GET", app + "/failed-msg", scopeApp, r, s.listFailedMessages},
	)
	routes = append(routes, s.billingRoutes()...)
	routes = append(routes, s.parityRoutes()...)
	routes = append(routes, s.operationalRoutes()...)
	routes = append(routes, s.destinationRoutes()...)
	routes = append(routes, s.transformationRoutes()...)
	routes = append(routes, s.securityRoutes()...)
	routes = append(routes, route{"GET", "/api/v1/openapi.json", scopePublic, r, s.serveOpenAPI})
	return routes
}

// parityRoutes are the Svix routes of issue 13 (background tasks, bulk
// operations, statistics, event-type import, environment).
func (s *Server) parityRoutes() []route {
	const (
		r, w = false, true
	)
	app := "/api/v1/app/:app_id"
	return []route{
		{"GET", "/api/v1/background-task", scopeOrg, r, s.listBackgroundTasks},
		{"GET", "/api/v1/background-task/:task_id", scopeOrg, r, s.getBackgroundTask},
		{"POST", app + "/endpoint/:endpoint_id/bulk-replay", scopeOrg, w, s.bulkReplay},
		{"POST", app + "/msg/expunge-all-contents", scopeOrg, w, s.expungeAllContents},
		{"POST", "/api/v1/stats/usage/app", scopeOrg, w, s.appUsageStats},
		{"PUT", "/api/v1/stats/usage/event-types", scopeOrg, w, s.aggregateEventTypes},
		{"POST", app + "/msg/precheck/active", scopeOrg, r, s.precheckMessage},
		{"POST", "/api/v1/event-type/import/openapi", scopeOrg, w, s.importOpenAPI},
		{"POST", "/api/v1/environment/export", scopeOrg, r, s.exportEnvironment},
		{"POST", "/api/v1/environment/import", scopeOrg, w, s.importEnvironment},
	}
}

const (
	requestIDKey = "hookline.request_id"
	logTenantKey = "hookline.tenant_id"
)

// requestContext assigns the request id (from X-Request-Id when sane, else
// a new one) and echoes it, starts the request's span (continuing the
// caller's trace when it sent traceparent), and on the way out counts the
// request and writes one access line.
func (s *Server) requestContext(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader("X-Request-Id")
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	ctx := telemetry.WithRequestID(c.Request.Context(), id)
	ctx = telemetry.Propagator.Extract(ctx, propagation.HeaderCarrier(c.Request.Header))
	ctx, span := s.tracer.Start(ctx, s.spanName(c.Request.Method, route), s.serverSpan...)
	// Attributes cost allocations even when a span drops them.
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route))
	}
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	status := c.Writer.Status()
	if recording {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if tid := c.GetString(logTenantKey); tid != "" {
			span.SetAttributes(attribute.String("hookline.tenant_id", tid))
		}
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
	elapsed := time.Since(start)
	if s.metrics != nil {
		s.metrics.ObserveRequest(route, c.Request.Method, status, elapsed)
	}
	level := s.opts.RequestLogLevel
	if status >= 500 {
		level = slog.LevelWarn
	}
	if s.log.Enabled(ctx, level) { // the arguments allocate even when the line is not written
		s.log.Log(ctx, level, "http request",
			"request_id", id, "tenant_id", c.GetString(logTenantKey), "method", c.Request.Method,
			"route", route, "status", status, "duration_ms", elapsed.Milliseconds())
	}
}

// spanName is a request span's name, "METHOD route": the routes' names are
// made once (spanNames), other requests' at each request.
func (s *Server) spanName(method, route string) string {
	if n, ok := s.spanNames[[2]string{method, route}]; ok {
		return n
	}
	return method + " " + route
}

// serveMetrics is the Prometheus scrape endpoint on the API listener.
func (s *Server) serveMetrics(c *gin.Context) error {
	if t := s.opts.MetricsToken; t != "" {
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(t)) != 1 {
			return errAuth("metrics need Authorization: Bearer <HOOKLINE_METRICS_TOKEN>")
		}
	}
	s.promHTTP.ServeHTTP(c.Writer, c.Request)
	return nil
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(c.Request.Context(), "panic in handler", "request_id", requestID(c), "route", c.FullPath(), "panic", v)
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"code": "internal_error", "detail": "internal error; request id " + requestID(c)})
		}
	}()
	c.Next()
}
