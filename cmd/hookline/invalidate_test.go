package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

// TestInvalidation_RevocationsReachOtherProcesses runs two `hookline all`
// processes on one database and Redis namespace. Process B caches a
// portal token, an API key and an application; each is then revoked or
// deleted through process A — the portal token by expire-all and by
// logout, the key through the tenant console's route, a tenant JWT by
// the operator's revoke-tokens, the application
// through the API — and B refuses it within 1 s. Every cache involved
// keeps entries for 5-10 s, so only the pub/sub invalidation (A publishes,
// B's subscriber drops its entry) can make that.
func TestInvalidation_RevocationsReachOtherProcesses(t *testing.T) {
	t.Parallel()
	const opToken = "op-token-for-the-invalidation-test-0123"
	// Shorter shutdown and drain than the defaults, so the test ends soon.
	quick := map[string]string{"HOOKLINE_ADMIN_TOKEN": opToken, "HOOKLINE_SHUTDOWN_TIMEOUT": "3s", "HOOKLINE_DRAIN_DELAY": "1s"}
	a := startAll(t, quick)
	b := startAll(t, map[string]string{"HOOKLINE_ADMIN_TOKEN": opToken, "HOOKLINE_SHUTDOWN_TIMEOUT": "3s", "HOOKLINE_DRAIN_DELAY": "1s",
		"HOOKLINE_DATABASE_URL": a.env["HOOKLINE_DATABASE_URL"],
		"HOOKLINE_REDIS_URL":    a.env["HOOKLINE_REDIS_URL"], "HOOKLINE_QUEUE": a.env["HOOKLINE_QUEUE"]})
	ctx := context.Background()

	call := func(method, u, token, body string) (int, map[string]any) {
		t.Helper()
		return callJSON(t, method, u, token, body)
	}
	client := func(base, token string) *svix.Svix {
		t.Helper()
		u, _ := url.Parse(base)
		c, err := svix.New(token, &svix.SvixOptions{ServerUrl: u})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	status := func(err error) int {
		var se interface{ Status() int }
		if errors.As(err, &se) {
			return se.Status()
		}
		if err != nil {
			t.Fatalf("not an HTTP answer: %v", err)
		}
		return 200
	}
	tenantID, first, second := tenantWithTwoKeys(t, a.base, opToken)
	key, other := first["key"].(string), second["key"].(string)
	onA, onB := client(a.base, key), client(b.base, key)

	app, err := onA.Application.Create(ctx, models.ApplicationIn{Name: "Shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	portalToken := func() string {
		t.Helper()
		out, err := onA.Authentication.AppPortalAccess(ctx, app.Id, models.AppPortalAccessIn{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out.Token
	}
	listOnB := func(token string) func() int {
		return func() int {
			_, err := client(b.base, token).Endpoint.List(ctx, app.Id, nil)
			return status(err)
		}
	}

	// expire-all on A: B, which has the token's (empty) revocations
	// cached, refuses it.
	tok := portalToken()
	if code := listOnB(tok)(); code != 200 {
		t.Fatalf("portal token before expire-all: %d", code)
	}
	if err := onA.Authentication.ExpireAll(ctx, app.Id, models.ApplicationTokenExpireIn{}, nil); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "portal token after expire-all", time.Second, listOnB(tok), 401)

	// logout on A of a token minted after: B refuses it too.
	tok = portalToken()
	if code := listOnB(tok)(); code != 200 {
		t.Fatalf("portal token before logout: %d", code)
	}
	if err := client(a.base, tok).Authentication.Logout(ctx, nil); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "portal token after logout", time.Second, listOnB(tok), 401)

	// The first key, cached by B, is revoked through the tenant console's
	// route on A (authenticated by the other key).
	if _, err := onB.Application.List(ctx, nil); err != nil {
		t.Fatalf("key before revocation: %v", err)
	}
	if code, out := call("DELETE", a.base+"/console/api/keys/"+first["id"].(string), other, ""); code != 200 {
		t.Fatalf("console revoke: %d %v", code, out)
	}
	refusedWithin(t, "key revoked in the console", time.Second, func() int {
		_, err := onB.Application.List(ctx, nil)
		return status(err)
	}, 401)

	// A tenant JWT B has cached the tenant's revocation time for is
	// revoked through A's operator API.
	code, minted := call("POST", a.base+"/admin/v1/tenants/"+tenantID+"/jwt", opToken, "")
	if code != 200 {
		t.Fatalf("mint tenant JWT: %d %v", code, minted)
	}
	jwt := minted["token"].(string)
	jwtOnB := func() int { code, _ := call("GET", b.base+"/api/v1/app", jwt, ""); return code }
	if code := jwtOnB(); code != 200 {
		t.Fatalf("tenant JWT before revocation: %d", code)
	}
	if code, out := call("POST", a.base+"/admin/v1/tenants/"+tenantID+"/revoke-tokens", opToken, ""); code != 200 {
		t.Fatalf("revoke tenant tokens: %d %v", code, out)
	}
	refusedWithin(t, "revoked tenant JWT", time.Second, jwtOnB, 401)

	// An application B's message path has cached is deleted on A: B stops
	// accepting messages for it.
	onA, onB = client(a.base, other), client(b.base, other)
	send := func() int {
		_, err := onB.Message.Create(ctx, app.Id, models.MessageIn{EventType: "order.paid", Payload: map[string]any{"n": 1}}, nil)
		return status(err)
	}
	if code := send(); code/100 != 2 {
		t.Fatalf("message before deletion: %d", code)
	}
	if err := onA.Application.Delete(ctx, app.Id); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "deleted application", time.Second, send, 404)
}

// TestInvalidation_DestinationWakesOtherWorkers runs an API process and a
// worker process apart. The worker finds no FIFO or RabbitMQ destination,
// and its senders rest: their next check is an hour away. A FIFO
// destination created through the other process's API wakes them over
// the invalidation bus, and its messages are sent.
func TestInvalidation_DestinationWakesOtherWorkers(t *testing.T) {
	t.Parallel()
	const opToken = "op-token-for-the-destination-wake-0123"
	const metricsToken = "metrics-token-for-the-destination-wake"
	var batches, events atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		batches.Add(1)
		events.Add(int32(len(got)))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	quick := map[string]string{"HOOKLINE_ADMIN_TOKEN": opToken, "HOOKLINE_SHUTDOWN_TIMEOUT": "3s", "HOOKLINE_DRAIN_DELAY": "1s"}
	api := startInProcess(t, "serve", quick)
	wrk := startInProcess(t, "worker", map[string]string{"HOOKLINE_SHUTDOWN_TIMEOUT": "3s", "HOOKLINE_DRAIN_DELAY": "1s",
		"HOOKLINE_METRICS_TOKEN": metricsToken, "HOOKLINE_SENDERS_CHECK_INTERVAL": "1h",
		"HOOKLINE_DATABASE_URL": api.env["HOOKLINE_DATABASE_URL"],
		"HOOKLINE_REDIS_URL":    api.env["HOOKLINE_REDIS_URL"], "HOOKLINE_QUEUE": api.env["HOOKLINE_QUEUE"]})
	resting := func() bool {
		req, _ := http.NewRequest("GET", wrk.base+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "\nhookline_senders_resting 1\n")
	}
	waitUntil(t, 10*time.Second, resting)

	_, first, _ := tenantWithTwoKeys(t, api.base, opToken)
	key := first["key"].(string)
	if code, out := callJSON(t, "POST", api.base+"/api/v1/app", key, `{"name":"shop","uid":"shop"}`); code != 201 {
		t.Fatalf("create application: %d %v", code, out)
	}
	if code, out := callJSON(t, "POST", api.base+"/api/v1/app/shop/destination", key,
		`{"type":"fifoEndpoint","config":{"url":"`+recv.URL+`"}}`); code != 201 {
		t.Fatalf("create destination: %d %v", code, out)
	}
	waitUntil(t, 10*time.Second, func() bool { return !resting() })
	for i := range 3 {
		if code, out := callJSON(t, "POST", api.base+"/api/v1/app/shop/msg", key,
			fmt.Sprintf(`{"eventType":"order.paid","payload":{"n":%d}}`, i)); code != 202 {
			t.Fatalf("create message: %d %v", code, out)
		}
	}
	waitUntil(t, 20*time.Second, func() bool { return events.Load() == 3 })
	t.Logf("3 messages in %d batches", batches.Load())
}

// callJSON sends a request with a bearer token and a JSON body to u and
// returns the status and the decoded JSON answer.
func callJSON(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// refusedWithin polls try (a request to the other process) until it
// answers one of want, and fails the test after d.
func refusedWithin(t *testing.T, what string, d time.Duration, try func() int, want ...int) {
	t.Helper()
	start := time.Now()
	for {
		code := try()
		for _, w := range want {
			if code == w {
				t.Logf("%s: refused by the other process after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
		}
		if time.Since(start) > d {
			t.Fatalf("%s: the other process still answers %d after %v", what, code, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tenantWithTwoKeys creates a tenant through the operator API at base,
// and a second API key for it; it returns the tenant's id and both keys
// (their "id" and "key").
func tenantWithTwoKeys(t *testing.T, base, opToken string) (tenantID string, first, second map[string]any) {
	t.Helper()
	code, created := callJSON(t, "POST", base+"/admin/v1/tenants", opToken, `{"name":"Acme"}`)
	if code != 201 {
		t.Fatalf("create tenant: %d %v", code, created)
	}
	tenantID = created["tenant"].(map[string]any)["id"].(string)
	first = created["apiKey"].(map[string]any)
	code, second = callJSON(t, "POST", base+"/admin/v1/tenants/"+tenantID+"/api-keys", opToken, `{"name":"second"}`)
	if code/100 != 2 {
		t.Fatalf("second key: %d %v", code, second)
	}
	return tenantID, first, second
}
