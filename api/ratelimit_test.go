package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestRateLimit_AcrossProcessesAndPlans: two API servers (two processes)
// share each tenant's budget through Redis; a tenant on a plan with its own
// limit gets that limit; over the limit is a 429 with Retry-After, and
// every limited answer carries RateLimit-Limit/Remaining/Reset. The test
// lowers the default limit to 10/s and the free plan's to 4/s so a burst
// of requests crosses them quickly.
func TestRateLimit_AcrossProcessesAndPlans(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	svc, err := billing.New(ctx, env.Store, env.Log, billing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	freeID, freeKey, _ := env.NewTenant("Free")
	if _, err := svc.SetPlan(ctx, freeID, billing.PlanChange{Plan: billing.PlanFree}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.SQL.Exec(context.Background(), `UPDATE plans SET api_rate_limit = 4 WHERE id = 'free'`); err != nil {
		t.Fatal(err)
	}
	var bases []string
	for range 2 {
		s := api.NewServer(api.Deps{
			Store: env.Store, Tokens: env.Tokens, Auth: env.Auth, Log: env.Log,
			Outbox:    outbox.New(outbox.Deps{Store: env.Store, Workers: worker.NewDispatcher(env.Client), Log: env.Log}, outbox.Options{}),
			RateLimit: api.NewRateLimiter(env.Redis, api.RateLimitOptions{PerSecond: 10, Prefix: env.Queue, Plans: svc, Log: env.Log}),
		}, api.Options{AdminToken: testenv.AdminToken})
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(func() { srv.Close(); s.Close() })
		bases = append(bases, srv.URL)
	}
	type answer struct {
		code                           int
		limit, remaining, reset, retry string
	}
	get := func(base, token string) answer {
		req, _ := http.NewRequest("GET", base+"/api/v1/app", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		return answer{resp.StatusCode, h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), h.Get("Retry-After")}
	}
	burst := func(token string, n, limit int) {
		t.Helper()
		start := time.Now()
		var ok, limited int
		perServer := map[int]int{}
		for i := range n {
			a := get(bases[i%2], token)
			if a.limit != strconv.Itoa(limit) || a.remaining == "" || a.reset == "" {
				t.Fatalf("answer %d: %+v, want RateLimit-* headers with limit %d", i, a, limit)
			}
			switch a.code {
			case 200:
				ok++
			case 429:
				limited++
				perServer[i%2]++
				if r, err := strconv.Atoi(a.retry); err != nil || r < 1 || a.remaining != "0" {
					t.Errorf("429 with Retry-After %q, remaining %q", a.retry, a.remaining)
				}
			default:
				t.Fatalf("answer %d: status %d", i, a.code)
			}
		}
		// GCRA: the burst, plus what refilled while the requests ran.
		most := limit + int(time.Since(start).Seconds()*float64(limit)) + 1
		if ok < limit || ok > most || limited == 0 {
			t.Errorf("%d requests at %d/s over two servers: %d allowed (want %d..%d), %d refused", n, limit, ok, limit, most, limited)
		}
		if perServer[0] == 0 || perServer[1] == 0 {
			t.Errorf("refusals per server = %v: the budget is not shared", perServer)
		}
	}
	burst(env.APIKey, 40, 10)
	burst(freeKey, 20, 4)
	// Tenants do not share budgets: a third tenant starts full.
	_, otherKey, _ := env.NewTenant("Other")
	// (redis_rate computes Remaining in floating point: 9 may read 8.)
	if a := get(bases[0], otherKey); a.code != 200 || (a.remaining != "9" && a.remaining != "8") {
		t.Errorf("a fresh tenant: %+v, want 200 with 9 remaining", a)
	}
	// The budget comes back.
	time.Sleep(1100 * time.Millisecond)
	if a := get(bases[1], env.APIKey); a.code != 200 {
		t.Errorf("after a second: %+v, want 200", a)
	}
}

// TestRateLimit_RedisDownLetsThrough: a limiter whose Redis cannot be
// reached lets requests through instead of failing them.
func TestRateLimit_RedisDownLetsThrough(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	s := api.NewServer(api.Deps{
		Store: env.Store, Tokens: env.Tokens, Auth: env.Auth, Log: env.Log,
		Outbox:    outbox.New(outbox.Deps{Store: env.Store, Workers: worker.NewDispatcher(env.Client), Log: env.Log}, outbox.Options{}),
		RateLimit: api.NewRateLimiter(dead, api.RateLimitOptions{PerSecond: 1}),
	}, api.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	for i := range 3 {
		if code, body := call(t, srv.URL, "GET", "/api/v1/app", env.APIKey, ""); code != 200 {
			t.Fatalf("request %d with Redis down: %d %s", i, code, body)
		}
	}
}

// TestAuth_UnknownKeysCachedNegatively: a wrong API key sent again and
// again costs one database lookup, not one per request.
func TestAuth_UnknownKeysCachedNegatively(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	pgc := &pgCounter{}
	db, err := store.Open(ctx, dsn, 4, testenv.Logger(), store.WithQueryTracer(pgc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	auth := api.NewAuthenticator(st, api.NewTokens(testenv.JWTSecret, nil), testenv.Logger())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := auth.Authenticate(ctx, "Bearer sk_this-key-does-not-exist"); err == nil || !strings.Contains(err.Error(), "invalid API key") {
					t.Errorf("unknown key: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	lookups := 0
	for _, q := range pgc.take() {
		if strings.Contains(q, "api_keys") {
			lookups++
		}
	}
	if lookups < 1 || lookups > 4 { // at most one per goroutine racing the first miss
		t.Errorf("100 requests with one unknown key made %d key lookups, want 1 (at most 4)", lookups)
	}
	// Another unknown key is looked up: the cache holds keys, not a verdict.
	if _, err := auth.Authenticate(ctx, "Bearer sk_another-unknown-key"); err == nil {
		t.Fatal("unknown key accepted")
	}
	if n := len(pgc.take()); n != 1 {
		t.Errorf("a second unknown key made %d queries, want 1", n)
	}
}
