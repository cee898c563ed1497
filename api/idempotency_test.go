package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestIdempotency_OneTenantAnyCredential: an idempotency key belongs to the
// tenant, not to the credential that carried it: the same key and body
// through an API key and through a JWT of one tenant make one message,
// through the official SDK.
func TestIdempotency_OneTenantAnyCredential(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	if _, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	in := models.MessageIn{EventType: "order.paid", Payload: map[string]any{"id": 7}}
	opts := &svix.MessageCreateOptions{IdempotencyKey: ptr("order-7-paid")}
	byKey, err := env.SDK(env.APIKey).Message.Create(ctx, "shop", in, opts)
	if err != nil {
		t.Fatal(err)
	}
	byJWT, err := env.SDK(env.JWT).Message.Create(ctx, "shop", in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if byKey.Id != byJWT.Id {
		t.Errorf("same key through an API key and a JWT made two messages: %s and %s", byKey.Id, byJWT.Id)
	}
	if n := countMessages(t, env, "shop"); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	// Another tenant's identical key is its own.
	otherID, otherKey, _ := env.NewTenant("other")
	if _, err := env.Store.CreateApplication(ctx, otherID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	other, err := env.SDK(otherKey).Message.Create(ctx, "shop", in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if other.Id == byKey.Id {
		t.Error("two tenants' identical idempotency keys returned the same message")
	}
}

// TestIdempotency_OtherBodyRefused: the same key with another body is a
// misuse: 422 idempotency_key_reused, and nothing new is stored — for
// messages (claim in the message's statement) and for other POSTs (the
// generic claim).
func TestIdempotency_OtherBodyRefused(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	if _, err := env.Store.CreateApplication(context.Background(), env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"Idempotency-Key": "k1"}
	if code, body, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","payload":{"n":1}}`, h); code != 202 {
		t.Fatalf("first: %d %s", code, body)
	}
	code, body, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","payload":{"n":2}}`, h)
	if code != 422 || !strings.Contains(body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, other body: %d %s; want 422 idempotency_key_reused", code, body)
	}
	if n := countMessages(t, env, "shop"); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	h2 := map[string]string{"Idempotency-Key": "k2"}
	if code, body, _ := postWith(t, env, "/api/v1/app", `{"name":"one"}`, h2); code != 201 {
		t.Fatalf("app create: %d %s", code, body)
	}
	code, body, _ = postWith(t, env, "/api/v1/app", `{"name":"two"}`, h2)
	if code != 422 || !strings.Contains(body, `"code":"idempotency_key_reused"`) {
		t.Errorf("app create, same key, other body: %d %s; want 422 idempotency_key_reused", code, body)
	}
}

// TestIdempotency_ConcurrentSDKRetries: many SDK clients sending the same
// key at once (a client's retries racing each other) make one message, and
// all get its id.
func TestIdempotency_ConcurrentSDKRetries(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	if _, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		key := fmt.Sprintf("burst-%d", round)
		ids := make([]string, 16)
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := env.SDK(env.APIKey).Message.Create(ctx, "shop", models.MessageIn{EventType: "a.b", Payload: map[string]any{"r": round}},
					&svix.MessageCreateOptions{IdempotencyKey: &key})
				errs[i] = err
				if err == nil {
					ids[i] = m.Id
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", round, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("round %d: concurrent duplicates got %s and %s", round, ids[0], ids[i])
			}
		}
	}
	if n := countMessages(t, env, "shop"); n != 3 {
		t.Errorf("%d messages stored after three bursts of one key each, want 3", n)
	}
}

// TestIdempotency_CommitWithoutAnswer: the process stops after committing a
// message but before its answer reaches the client. The client (the
// official SDK, which retries a 5xx with the same key) reaches a new API
// server — new caches, new outbox, nothing held in memory survives — on the
// same database, and gets the same message id; nothing new is stored.
func TestIdempotency_CommitWithoutAnswer(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	if _, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	ob := outbox.New(outbox.Deps{Store: env.Store, Workers: worker.NewDispatcher(env.Client), Log: env.Log}, outbox.Options{})
	second := api.NewServer(api.Deps{Store: env.Store, Tokens: env.Tokens, Auth: api.NewAuthenticator(env.Store, env.Tokens, env.Log),
		Log: env.Log, Outbox: ob}, api.Options{})
	t.Cleanup(second.Close)
	var (
		calls    atomic.Int32
		lostBody string
	)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// The first process commits, then dies before answering: its
			// answer is lost and the client sees a gateway error.
			rec := httptest.NewRecorder()
			env.API.Handler().ServeHTTP(rec, r)
			lostBody = rec.Body.String()
			env.API.Close()
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		second.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := svix.New(env.APIKey, &svix.SvixOptions{ServerUrl: mustParse(t, front.URL)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Message.Create(ctx, "shop", models.MessageIn{EventType: "order.paid", Payload: map[string]any{"id": 9}},
		&svix.MessageCreateOptions{IdempotencyKey: ptr("lost-answer")})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 2 {
		t.Fatalf("the SDK did not retry (%d calls)", calls.Load())
	}
	if !strings.Contains(lostBody, `"id":"`+m.Id+`"`) {
		t.Errorf("the retry got message %s; the lost answer was %s", m.Id, lostBody)
	}
	if n := countMessages(t, env, "shop"); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
