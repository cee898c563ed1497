package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/billing/billingtest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestBilling_UsageIsolation: GET /api/v1/usage answers each tenant its own
// deliveries only, whichever credential it uses; a bad window is a 422.
func TestBilling_UsageIsolation(t *testing.T) {
	t.Parallel()
	p := &billingtest.Proxy{}
	env := testenv.New(t, testenv.Options{Quota: p, Billing: p})
	svc, err := billing.New(context.Background(), env.Store, env.Log, billing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Set(svc)
	ctx := context.Background()
	// Tenant A: two delivered messages.
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		m, ds, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a", Payload: []byte(`{}`)})
		if err != nil || len(ds) != 1 {
			t.Fatalf("message %d: %v %v", i, ds, err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		at := tenants.Attempt{ID: tenants.NewID(tenants.PrefixAttempt, now), TenantID: env.TenantID, AppID: app.ID, MsgID: m.ID,
			EndpointID: ep.ID, DeliveryID: ds[0], URL: ep.URL, Status: tenants.StatusSuccess, StatusCode: 200, CreatedAt: now}
		if err := env.Store.RecordAttempts(ctx, []tenants.AttemptResult{{Attempt: at, Status: tenants.StatusSuccess}}); err != nil {
			t.Fatal(err)
		}
	}
	_, keyB, jwtB := env.NewTenant("B")
	type usage struct {
		Data []struct {
			Date       string
			Deliveries int64
		}
		Period struct{ Deliveries int64 }
	}
	get := func(token string) usage {
		t.Helper()
		code, body := call(t, env.URL, "GET", "/api/v1/usage", token, "")
		if code != 200 {
			t.Fatalf("usage: %d %s", code, body)
		}
		var u usage
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := get(env.APIKey); u.Period.Deliveries != 2 {
		t.Errorf("A's usage = %+v, want 2", u.Period)
	}
	for _, tok := range []string{keyB, jwtB} {
		u := get(tok)
		if u.Period.Deliveries != 0 {
			t.Errorf("B's usage = %+v, want 0", u.Period)
		}
		for _, d := range u.Data {
			if d.Deliveries != 0 {
				t.Errorf("B sees deliveries on %s", d.Date)
			}
		}
	}
	code, body := call(t, env.URL, "GET", "/api/v1/usage?since=2024-05-10T00:00:00Z&until=2024-05-01T00:00:00Z", env.APIKey, "")
	if c, loc := decodeError(t, body); code != 422 || c != "" || len(loc) != 2 || loc[1] != "until" {
		t.Errorf("inverted window: %d %s", code, body)
	}
	if code, _ := call(t, env.URL, "GET", "/api/v1/usage", "", ""); code != 401 {
		t.Errorf("usage without credentials: %d", code)
	}
}
