package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/svix/svix-webhooks/go/models"

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
	// The budget comes back (GCRA refills one request every 100 ms at
	// 10/s): poll until a request passes, within a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for a := get(bases[1], env.APIKey); a.code != 200; a = get(bases[1], env.APIKey) {
		if time.Now().After(deadline) {
			t.Fatalf("the budget did not come back within 10 s: %+v", a)
		}
		time.Sleep(50 * time.Millisecond) // the poll's interval
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

// TestRateLimit_PortalTokensDoNotStarveTheirTenant: two portal sessions of
// one application flood GET /api/v1/app/{app} from eight connections while
// the tenant, through the official SDK with its API key, sends messages.
// Portal traffic has its own budgets (per session and per application), so
// every one of the tenant's requests succeeds while the flood gets 429s
// with Retry-After; a portal token of another application is not held back
// either. The test lowers the limits (tenant 20/s, portal 10/s an
// application, 4/s a session) so that the flood crosses them at once;
// before portal budgets existed it spent the tenant's and the tenant's
// messages got 429s.
func TestRateLimit_PortalTokensDoNotStarveTheirTenant(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{RateLimit: &api.RateLimitOptions{PerSecond: 20, PortalPerApp: 10, PortalPerSession: 4}})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "Acme"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Application.Create(ctx, models.ApplicationIn{Name: "Globex"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	portalToken := func(appID, session string) string {
		out, err := c.Authentication.AppPortalAccess(ctx, appID, models.AppPortalAccessIn{SessionId: ptr(session)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out.Token
	}
	floodTokens := []string{portalToken(app.Id, "s1"), portalToken(app.Id, "s2")}
	otherToken := portalToken(other.Id, "s1")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(client.CloseIdleConnections)
	getApp := func(token, appID string) (int, string, string) {
		req, _ := http.NewRequest("GET", env.URL+"/api/v1/app/"+appID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}

	var (
		mu                      sync.Mutex
		ok, limited, unexpected int
		badLimited              []string
		firstLimited            = make(chan struct{})
		once                    sync.Once
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(20 * time.Second) // bounded even if the tenant's side hangs
			for n := 0; n < 2000 && time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					return
				default:
				}
				code, retry, body := getApp(floodTokens[i%2], app.Id)
				mu.Lock()
				switch code {
				case 200:
					ok++
				case 429:
					limited++
					if r, err := strconv.Atoi(retry); err != nil || r < 1 || !strings.Contains(body, `"code":"rate_limited"`) {
						badLimited = append(badLimited, retry+" "+body)
					}
					once.Do(func() { close(firstLimited) })
				default:
					unexpected++
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-firstLimited:
	case <-time.After(15 * time.Second):
		close(stop)
		wg.Wait()
		t.Fatal("the flood was never limited")
	}
	// The flood is being refused now; the tenant sends meanwhile.
	var tenantErrs []string
	for i := range 15 {
		if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"n": i}}, nil); err != nil {
			tenantErrs = append(tenantErrs, fmt.Sprintf("message %d: status %d %v", i, sdkStatus(err), err))
		}
		if _, err := c.Application.Get(ctx, app.Id); err != nil {
			tenantErrs = append(tenantErrs, fmt.Sprintf("get %d: status %d %v", i, sdkStatus(err), err))
		}
	}
	// Another application's portal budget is its own.
	otherCode, _, otherBody := getApp(otherToken, other.Id)
	close(stop)
	wg.Wait()

	if len(tenantErrs) > 0 {
		t.Errorf("the tenant's own requests failed during the portal flood:\n%s", strings.Join(tenantErrs, "\n"))
	}
	if limited == 0 || ok == 0 || unexpected != 0 {
		t.Errorf("flood: %d allowed, %d limited, %d other answers; want both of the first, none of the last", ok, limited, unexpected)
	}
	if len(badLimited) > 0 {
		t.Errorf("%d 429s without Retry-After or a rate_limited body, first: %s", len(badLimited), badLimited[0])
	}
	if otherCode != 200 {
		t.Errorf("another application's portal token during the flood: %d %s, want 200", otherCode, otherBody)
	}
}
