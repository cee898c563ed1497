package api

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/tenants"
	"github.com/redis/go-redis/v9"
)

// DefaultAPIRateLimit is each tenant's API requests per second when
// neither the config nor its plan says otherwise.
const DefaultAPIRateLimit = 1000

// DefaultPortalAppRateLimit is the requests per second that all the
// app-portal tokens of one application share, apart from their tenant's
// API budget.
const DefaultPortalAppRateLimit = 100

// DefaultPortalSessionRateLimit is the requests per second of one portal
// session (the sessionId the tenant gave app-portal-access, or else one
// token): enough for a page that loads a dozen lists at once.
const DefaultPortalSessionRateLimit = 20

// planLimitTTL is how long a tenant's plan limit is cached: a plan change
// applies within this time.
const planLimitTTL = 30 * time.Second

// PlanRateLimits tells the API the requests per second a tenant's plan
// allows; 0 means the server's default. billing.Service implements it.
type PlanRateLimits interface {
	APIRateLimit(ctx context.Context, tenantID string) (int, error)
}

// RateLimitOptions configure a RateLimiter; the zero value means the
// production defaults.
type RateLimitOptions struct {
	// PerSecond is the default limit (HOOKLINE_API_RATE_LIMIT); 0 means
	// DefaultAPIRateLimit, a negative value no tenant limit. The burst
	// equals the rate.
	PerSecond int
	// PortalPerApp limits the requests of all app-portal tokens of one
	// application together (HOOKLINE_PORTAL_RATE_LIMIT); 0 means
	// DefaultPortalAppRateLimit, a negative value no such limit. Portal
	// traffic is counted here and never against its tenant's budget, so
	// that one end customer cannot starve the tenant's own sending.
	PortalPerApp int
	// PortalPerSession limits the requests of one portal session
	// (HOOKLINE_PORTAL_SESSION_RATE_LIMIT); 0 means
	// DefaultPortalSessionRateLimit, a negative value no such limit.
	PortalPerSession int
	// Prefix namespaces the Redis keys (the queue name).
	Prefix string
	// Plans gives per-plan limits; nil means PerSecond for everyone.
	Plans PlanRateLimits
	// Log receives the limiter's warnings (Redis or plan lookup trouble).
	Log *slog.Logger
}

// RateLimiter enforces a per-tenant API request rate across every API
// process, with GCRA in Redis (go-redis/redis_rate): one round trip per
// request, no per-process state but the plan cache. App-portal tokens,
// held by a tenant's customers, have budgets of their own instead (one per
// application, one per portal session: two round trips). When Redis cannot
// be reached it lets requests through (the API must not fail because its
// limiter does) and logs. It is safe for concurrent use.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	def     int // < 0: no tenant limit
	// portalApp and portalSession are the portal budgets (< 0: none).
	portalApp, portalSession int
	prefix                   string
	plans                    PlanRateLimits
	log                      *slog.Logger
	// limits caches each tenant's plan limit for planLimitTTL, for at most
	// 10,000 tenants: stale by up to planLimitTTL after a plan change.
	limits *ttlcache.Cache[string, int]
}

// NewRateLimiter returns a RateLimiter keeping its counters in rdb.
func NewRateLimiter(rdb redis.UniversalClient, o RateLimitOptions) *RateLimiter {
	if o.PerSecond == 0 {
		o.PerSecond = DefaultAPIRateLimit
	}
	if o.PortalPerApp == 0 {
		o.PortalPerApp = DefaultPortalAppRateLimit
	}
	if o.PortalPerSession == 0 {
		o.PortalPerSession = DefaultPortalSessionRateLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &RateLimiter{
		limiter: redis_rate.NewLimiter(rdb), def: o.PerSecond, prefix: o.Prefix, plans: o.Plans, log: o.Log,
		portalApp: o.PortalPerApp, portalSession: o.PortalPerSession,
		limits: ttlcache.New[string, int](10_000, planLimitTTL),
	}
}

// limitFor returns the tenant's requests per second (< 0: none).
func (l *RateLimiter) limitFor(ctx context.Context, tenantID string) int {
	if l.plans == nil || l.def < 0 {
		return l.def
	}
	if n, ok := l.limits.Get(tenantID); ok {
		return n
	}
	n, err := l.plans.APIRateLimit(ctx, tenantID)
	if err != nil {
		l.log.WarnContext(ctx, "could not read the tenant's plan rate limit; using the default", "tenant_id", tenantID, "err", err)
		return l.def // not cached: the next request asks again
	}
	if n <= 0 {
		n = l.def
	}
	l.limits.Add(tenantID, n)
	return n
}

// errRateLimited is the 429 body.
var errRateLimited = &tenants.Error{Code: tenants.CodeRateLimited, Message: "too many requests for this tenant; retry after the number of seconds in Retry-After"}

// errPortalRateLimited is the 429 body for app-portal tokens.
var errPortalRateLimited = &tenants.Error{Code: tenants.CodeRateLimited, Message: "too many requests for this application's portal; retry after the number of seconds in Retry-After"}

// allow counts one request of p and sets the RateLimit-* headers
// (RateLimit-Reset: seconds until the budget is full again). It returns
// a rate_limited error, with Retry-After set, when the request is over
// the limit. An app-portal token's request is counted against its
// session's and its application's budgets, not its tenant's.
func (l *RateLimiter) allow(c *gin.Context, p Principal) error {
	if p.AppID != "" {
		return l.allowPortal(c, p)
	}
	limit := l.limitFor(c.Request.Context(), p.TenantID)
	if limit < 0 {
		return nil
	}
	res := l.take(c, p.TenantID, l.prefix+":api:"+p.TenantID, limit)
	if res == nil {
		return nil
	}
	return l.answer(c, res, limit, errRateLimited)
}

// allowPortal is allow for an app-portal token: its session's budget
// first (a session over its budget does not spend its application's),
// then its application's.
func (l *RateLimiter) allowPortal(c *gin.Context, p Principal) error {
	session := p.SessionID
	if session == "" {
		session = "token:" + p.TokenID
	}
	var last *redis_rate.Result
	lastLimit := 0
	for _, b := range []struct {
		key   string
		limit int
	}{
		{l.prefix + ":portal-session:" + p.TenantID + ":" + p.AppID + ":" + session, l.portalSession},
		{l.prefix + ":portal-app:" + p.TenantID + ":" + p.AppID, l.portalApp},
	} {
		if b.limit < 0 {
			continue
		}
		res := l.take(c, p.TenantID, b.key, b.limit)
		if res == nil {
			continue
		}
		if res.Allowed == 0 {
			return l.answer(c, res, b.limit, errPortalRateLimited)
		}
		if last == nil || res.Remaining < last.Remaining {
			last, lastLimit = res, b.limit
		}
	}
	if last == nil {
		return nil
	}
	return l.answer(c, last, lastLimit, errPortalRateLimited)
}

// take counts one request against key's budget of limit per second; nil
// when Redis could not be asked (the request is let through).
func (l *RateLimiter) take(c *gin.Context, tenantID, key string, limit int) *redis_rate.Result {
	ctx := c.Request.Context()
	res, err := l.limiter.Allow(ctx, key, redis_rate.PerSecond(limit))
	if err != nil {
		if ctx.Err() == nil {
			l.log.WarnContext(ctx, "rate limiter unavailable; request let through", "tenant_id", tenantID, "err", err)
		}
		return nil
	}
	return res
}

// answer sets the RateLimit-* headers from res and returns limited, with
// Retry-After set, when res refused the request.
func (l *RateLimiter) answer(c *gin.Context, res *redis_rate.Result, limit int, limited error) error {
	h := c.Writer.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(res.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
	if res.Allowed == 0 {
		h.Set("Retry-After", strconv.Itoa(max(ceilSeconds(res.RetryAfter), 1)))
		return limited
	}
	return nil
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
