package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

func postWith(t *testing.T, env *testenv.Env, path, body string, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", env.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

func countMessages(t *testing.T, env *testenv.Env, appRef string) int {
	t.Helper()
	ctx := context.Background()
	a, err := env.Store.FindApplication(ctx, env.TenantID, appRef)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := env.Store.FindMessages(ctx, env.TenantID, a.ID, tenants.MessageFilter{ListParams: tenants.ListParams{Limit: 250}})
	if err != nil {
		t.Fatal(err)
	}
	return len(pg.Items)
}

// TestMessage_Idempotency: a repeated Idempotency-Key replays the first
// 2xx answer byte for byte and stores nothing new; concurrent duplicates
// wait for the first; a failed request frees the key.
func TestMessage_Idempotency(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	if _, err := env.Store.CreateApplication(context.Background(), env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	body := `{"eventType":"order.paid","payload":{"id":1}}`
	h := map[string]string{"Idempotency-Key": "order-1-paid"}
	code1, resp1, _ := postWith(t, env, "/api/v1/app/shop/msg", body, h)
	code2, resp2, hdr2 := postWith(t, env, "/api/v1/app/shop/msg", body, h)
	if code1 != 202 || code2 != 202 || resp1 != resp2 {
		t.Fatalf("replay: %d %s / %d %s", code1, resp1, code2, resp2)
	}
	if hdr2.Get("Idempotent-Replayed") != "true" {
		t.Error("the replayed answer is not marked")
	}
	if n := countMessages(t, env, "shop"); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}

	// Concurrent duplicates: one message.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, answers[i], _ = postWith(t, env, "/api/v1/app/shop/msg", body, map[string]string{"Idempotency-Key": "burst"})
		}()
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Fatalf("concurrent duplicates got different answers:\n%s\n%s", answers[0], a)
		}
	}
	if n := countMessages(t, env, "shop"); n != 2 {
		t.Fatalf("%d messages stored after a burst of duplicates, want 2", n)
	}

	// A failed request does not hold the key.
	bad := map[string]string{"Idempotency-Key": "fixme"}
	if code, _, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"payload":{}}`, bad); code != 422 {
		t.Fatalf("invalid message: %d", code)
	}
	if code, _, _ := postWith(t, env, "/api/v1/app/shop/msg", body, bad); code != 202 {
		t.Fatalf("retry after a failure with the same key: %d, want 202", code)
	}
	// The same key on another URI is another request.
	if code, _, _ := postWith(t, env, "/api/v1/app", `{"name":"other"}`, h); code != 201 {
		t.Fatalf("same key, other route: %d, want 201", code)
	}
}

// TestMessage_Semantics covers eventId uniqueness, app creation on the fly,
// with_content, listing filters and pagination, and expunging content.
func TestMessage_Semantics(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)

	// Unknown app without "application": 404; with it, created on the fly.
	if _, err := c.Message.Create(ctx, "new-shop", models.MessageIn{EventType: "a.b", Payload: map[string]any{}}, nil); sdkStatus(err) != 404 {
		t.Fatalf("message to an unknown app: %v, want 404", err)
	}
	m, err := c.Message.Create(ctx, "new-shop", models.MessageIn{
		EventType: "user.signup", Payload: map[string]any{"user": "u1"}, EventId: ptr("evt-1"),
		Application: &models.ApplicationIn{Name: "New shop"},
	}, nil)
	if err != nil {
		t.Fatalf("create with application: %v", err)
	}
	if app, err := c.Application.Get(ctx, "new-shop"); err != nil || app.Name != "New shop" {
		t.Fatalf("app created on the fly = %+v, %v", app, err)
	}
	// with_content=false (which the SDK always asks on create, then fills
	// the payload back in itself) answers an empty payload.
	if code, body := call(t, env.URL, "POST", "/api/v1/app/new-shop/msg?with_content=false", env.APIKey,
		`{"eventType":"a.b","payload":{"big":"secret"}}`); code != 202 || !strings.Contains(body, `"payload":{}`) {
		t.Errorf("with_content=false answered %d %s", code, body)
	}
	// Duplicate eventId: 409.
	if _, err := c.Message.Create(ctx, "new-shop", models.MessageIn{EventType: "user.signup", Payload: map[string]any{}, EventId: ptr("evt-1")}, nil); sdkStatus(err) != 409 {
		t.Fatalf("duplicate eventId: %v, want 409", err)
	}
	// Get by id and by eventId, with content.
	for _, ref := range []string{m.Id, "evt-1"} {
		got, err := c.Message.Get(ctx, "new-shop", ref, nil)
		if err != nil || got.Id != m.Id || got.Payload["user"] != "u1" {
			t.Fatalf("get %s = %+v, %v", ref, got, err)
		}
	}

	// Listing: newest first, channel and event-type filters, pages.
	for i, tc := range []struct {
		typ string
		ch  []string
	}{{"a.one", nil}, {"a.two", []string{"eu"}}, {"a.one", []string{"us"}}, {"a.two", nil}} {
		if _, err := c.Message.Create(ctx, "new-shop", models.MessageIn{EventType: tc.typ, Payload: map[string]any{"i": i}, Channels: tc.ch}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct id milliseconds, for a stable order
	}
	all, err := c.Message.List(ctx, "new-shop", &svix.MessageListOptions{Limit: ptr(uint64(2))})
	if err != nil || len(all.Data) != 2 || all.Done || all.Data[0].EventType != "a.two" {
		t.Fatalf("first page = %+v, %v", all, err)
	}
	next, err := c.Message.List(ctx, "new-shop", &svix.MessageListOptions{Limit: ptr(uint64(10)), Iterator: all.Iterator})
	if err != nil || len(next.Data) != 4 || !next.Done {
		t.Fatalf("second page = %d items done=%v, %v", len(next.Data), next.Done, err)
	}
	if next.Data[3].Id != m.Id {
		t.Errorf("the oldest message is not last: %s", next.Data[3].Id)
	}
	eu, err := c.Message.List(ctx, "new-shop", &svix.MessageListOptions{Channel: ptr("eu")})
	if err != nil || len(eu.Data) != 1 || eu.Data[0].EventType != "a.two" {
		t.Fatalf("channel filter = %+v, %v", eu, err)
	}
	ones, err := c.Message.List(ctx, "new-shop", &svix.MessageListOptions{EventTypes: &[]string{"a.one"}})
	if err != nil || len(ones.Data) != 2 {
		t.Fatalf("event type filter = %d items, %v", len(ones.Data), err)
	}
	future := time.Now().Add(time.Hour)
	if none, err := c.Message.List(ctx, "new-shop", &svix.MessageListOptions{After: &future}); err != nil || len(none.Data) != 0 {
		t.Fatalf("after the future = %+v, %v", none, err)
	}

	// Expunge: the payload reads as expired, and resending is refused.
	if err := c.Message.ExpungeContent(ctx, "new-shop", m.Id); err != nil {
		t.Fatal(err)
	}
	got, err := c.Message.Get(ctx, "new-shop", m.Id, nil)
	if err != nil || got.Payload["expired"] != true {
		t.Fatalf("expunged message = %+v, %v", got, err)
	}
	ep, err := c.Endpoint.Create(ctx, "new-shop", models.EndpointIn{Url: "http://127.0.0.1:9/h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, body := call(t, env.URL, "POST", "/api/v1/app/new-shop/msg/"+m.Id+"/endpoint/"+ep.Id+"/resend", env.APIKey, "")
	if code != 400 || !strings.Contains(body, "missing_payload") {
		t.Errorf("resend of an expunged message: %d %s", code, body)
	}
}

// TestMessage_FanOutAndSendExample: one message creates one delivery per
// matching endpoint in the same transaction; send-example goes to one
// endpoint only, with the event type's example.
func TestMessage_FanOutAndSendExample(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: "invoice.paid", Description: "An invoice was paid",
		Schemas: &map[string]any{"1": map[string]any{"type": "object", "examples": []any{map[string]any{"invoice": "in_1", "amount": 4200}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "fan"}, nil)
	var eps []string
	for range 50 {
		ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:9/h"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep.Id)
	}
	m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"x": 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, m.Id, &svix.MessageAttemptListAttemptedDestinationsOptions{Limit: ptr(uint64(100))})
	if err != nil || len(dests.Data) != 50 {
		t.Fatalf("fan-out to 50 endpoints: %d destinations, %v", len(dests.Data), err)
	}
	for _, d := range dests.Data {
		if d.Status != models.MESSAGESTATUS_PENDING {
			t.Fatalf("destination %s status %v, want pending (no worker runs)", d.Id, d.Status)
		}
	}

	ex, err := c.Endpoint.SendExample(ctx, app.Id, eps[7], models.EventExampleIn{EventType: "invoice.paid"}, nil)
	if err != nil {
		t.Fatalf("send-example: %v", err)
	}
	if ex.Payload["invoice"] != "in_1" {
		t.Errorf("example payload = %v", ex.Payload)
	}
	dests, _ = c.MessageAttempt.ListAttemptedDestinations(ctx, app.Id, ex.Id, nil)
	if len(dests.Data) != 1 || dests.Data[0].Id != eps[7] {
		t.Errorf("send-example reached %d endpoints, want only %s", len(dests.Data), eps[7])
	}
	ping, err := c.Endpoint.SendExample(ctx, app.Id, eps[0], models.EventExampleIn{EventType: "svix.ping"}, nil)
	if err != nil || ping.Payload["success"] != true {
		t.Errorf("svix.ping example = %+v, %v", ping, err)
	}
	if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: "bare", Description: "no schema"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.SendExample(ctx, app.Id, eps[0], models.EventExampleIn{EventType: "bare"}, nil); sdkStatus(err) != 400 {
		t.Errorf("send-example without an example: %v, want 400", err)
	}

	// Stats: window checks.
	if st, err := c.Endpoint.GetStats(ctx, app.Id, eps[7], nil); err != nil || st.Pending != 2 {
		t.Errorf("stats = %+v, %v; want 2 pending (the fan-out and the example)", st, err)
	}
	tomorrow := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if code, body := call(t, env.URL, "GET", "/api/v1/app/"+app.Id+"/endpoint/"+eps[7]+"/stats?until="+tomorrow, env.APIKey, ""); code != 400 || !strings.Contains(body, "invalid_range") {
		t.Errorf("stats into the future: %d %s", code, body)
	}

	// Replay-missing: an endpoint added later gets the messages it missed.
	late, _ := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:9/late"}, nil)
	code, body := call(t, env.URL, "POST", "/api/v1/app/"+app.Id+"/endpoint/"+late.Id+"/replay-missing", env.APIKey,
		`{"since":"`+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+`"}`)
	var rec map[string]any
	_ = json.Unmarshal([]byte(body), &rec)
	if code != 202 || rec["task"] != "endpoint.replay" {
		t.Fatalf("replay-missing: %d %s", code, body)
	}
	msgs, err := c.MessageAttempt.ListAttemptedMessages(ctx, app.Id, late.Id, nil)
	if err != nil || len(msgs.Data) != 3 { // the message, the example and the ping
		t.Errorf("replay-missing queued %d messages, want 3; %v", len(msgs.Data), err)
	}
	code, body = call(t, env.URL, "POST", "/api/v1/app/"+app.Id+"/endpoint/"+late.Id+"/recover", env.APIKey,
		`{"since":"`+time.Now().Add(-30*24*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if code != 422 {
		t.Errorf("recover over 30 days: %d %s, want 422", code, body)
	}
}

// TestMessage_DatabaseDown: with PostgreSQL unreachable the API answers
// 503 and accepts nothing; once it is back, requests succeed again.
func TestMessage_DatabaseDown(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	if _, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	// Warm the auth cache, so the failure is the message's own.
	if code, _ := call(t, env.URL, "GET", "/api/v1/app/shop", env.APIKey, ""); code != 200 {
		t.Fatal(code)
	}
	dbName := env.DSN[strings.LastIndex(env.DSN, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	admin, err := pgx.Connect(ctx, storetest.URLFor("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// Refuse new connections and cut the live ones: the server is "down"
	// for this database.
	if _, err := admin.Exec(ctx, `ALTER DATABASE "`+dbName+`" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, dbName); err != nil {
		t.Fatal(err)
	}
	code, body, hdr := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","payload":{"k":1}}`, nil)
	if code != 503 || !strings.Contains(body, "service_unavailable") || hdr.Get("Retry-After") == "" {
		t.Errorf("message with the database down: %d %s", code, body)
	}
	if _, err := admin.Exec(ctx, `ALTER DATABASE "`+dbName+`" ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}
	// An idle pooled connection cut above fails the first statement that
	// takes it (as after any server restart): wait until reads answer.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := env.Store.FindApplication(ctx, env.TenantID, "shop")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store does not answer after the database is back: %v", err)
		}
	}
	if n := countMessages(t, env, "shop"); n != 0 {
		t.Errorf("%d messages stored while the database was down", n)
	}
	if code, body, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","payload":{"k":1}}`, nil); code != 202 {
		t.Errorf("after recovery: %d %s", code, body)
	}
}

// TestMessage_GroupCommit: concurrent creates are stored together; a
// duplicate eventId among them fails only its own request, and every
// accepted message is stored with its deliveries.
func TestMessage_GroupCommit(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/h"}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eventID := "evt-" + strconv.Itoa(i)
			if i%20 == 0 {
				eventID = "dup" // three requests share it: one wins
			}
			codes[i], _, _ = postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","eventId":"`+eventID+`","payload":{"i":`+strconv.Itoa(i)+`}}`, nil)
		}()
	}
	wg.Wait()
	accepted, conflicts := 0, 0
	for _, c := range codes {
		switch c {
		case 202:
			accepted++
		case 409:
			conflicts++
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if accepted != n-2 || conflicts != 2 {
		t.Errorf("%d accepted, %d conflicts; want %d and 2", accepted, conflicts, n-2)
	}
	pg, err := env.Store.FindMessages(ctx, env.TenantID, app.ID, tenants.MessageFilter{ListParams: tenants.ListParams{Limit: 250}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Items) != accepted {
		t.Errorf("%d messages stored, %d accepted", len(pg.Items), accepted)
	}
	var deliveries int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&deliveries); err != nil {
		t.Fatal(err)
	}
	if deliveries != accepted {
		t.Errorf("%d deliveries for %d accepted messages to one endpoint", deliveries, accepted)
	}
}
