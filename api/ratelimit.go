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
	// DefaultAPIRateLimit. The burst equals the rate.
	PerSecond int
	// Prefix namespaces the Redis keys (the queue name).
	Prefix string
	// Plans gives per-plan limits; nil means PerSecond for everyone.
	Plans PlanRateLimits
	// Log receives the limiter's warnings (Redis or plan lookup trouble).
	Log *slog.Logger
}

// RateLimiter enforces a per-tenant API request rate across every API
// process, with GCRA in Redis (go-redis/redis_rate): one round trip per
// request, no per-process state but the plan cache. When Redis cannot be
// reached it lets requests through (the API must not fail because its
// limiter does) and logs. It is safe for concurrent use.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	def     int
	prefix  string
	plans   PlanRateLimits
	log     *slog.Logger
	// limits caches each tenant's plan limit for planLimitTTL, for at most
	// 10,000 tenants: stale by up to planLimitTTL after a plan change.
	limits *ttlcache.Cache[string, int]
}

// NewRateLimiter returns a RateLimiter keeping its counters in rdb.
func NewRateLimiter(rdb redis.UniversalClient, o RateLimitOptions) *RateLimiter {
	if o.PerSecond <= 0 {
		o.PerSecond = DefaultAPIRateLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &RateLimiter{
		limiter: redis_rate.NewLimiter(rdb), def: o.PerSecond, prefix: o.Prefix, plans: o.Plans, log: o.Log,
		limits: ttlcache.New[string, int](10_000, planLimitTTL),
	}
}

// limitFor returns the tenant's requests per second.
func (l *RateLimiter) limitFor(ctx context.Context, tenantID string) int {
	if l.plans == nil {
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

// allow counts one request of the tenant and sets the RateLimit-* headers
// (RateLimit-Reset: seconds until the budget is full again). It returns
// errRateLimited, with Retry-After set, when the request is over the limit.
func (l *RateLimiter) allow(c *gin.Context, tenantID string) error {
	ctx := c.Request.Context()
	limit := l.limitFor(ctx, tenantID)
	res, err := l.limiter.Allow(ctx, l.prefix+":api:"+tenantID, redis_rate.PerSecond(limit))
	if err != nil {
		if ctx.Err() == nil {
			l.log.WarnContext(ctx, "rate limiter unavailable; request let through", "tenant_id", tenantID, "err", err)
		}
		return nil
	}
	h := c.Writer.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(res.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
	if res.Allowed == 0 {
		h.Set("Retry-After", strconv.Itoa(max(ceilSeconds(res.RetryAfter), 1)))
		return errRateLimited
	}
	return nil
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
