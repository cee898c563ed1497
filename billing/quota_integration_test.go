package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/testenv"
)

// TestQuota_CrossingMessageRefusedNextMonthResets: a tenant on a cap of 3
// deliveries a month sends through the real stack. Once its 3 deliveries
// succeeded, the next message gets 429 quota_exceeded and is not stored;
// reads still work; on the 1st of the next month (injected clock) it may
// send again.
func TestQuota_CrossingMessageRefusedNextMonthResets(t *testing.T) {
	t.Parallel()
	c := newClock(time.Now())
	env, svc := billingEnv(t, testenv.Options{Worker: true}, c, billing.Options{})
	ctx := context.Background()
	code, body := do(t, env, "PUT", "/admin/v1/tenants/"+env.TenantID+"/plan", testenv.AdminToken, []byte(`{"plan":"enterprise","monthlyCap":3}`))
	if code != 200 {
		t.Fatalf("set plan: %d %s", code, body)
	}
	rc := newReceiver(t, func(*receiver, string, int) int { return 200 })
	app := createApp(t, env)
	if code, body := do(t, env, "POST", "/api/v1/app/"+app+"/endpoint", env.APIKey, []byte(`{"url":"`+rc.URL+`"}`)); code != 201 {
		t.Fatalf("create endpoint: %d %s", code, body)
	}
	month, next := billing.MonthBounds(c.now())
	delivered := func() int64 {
		n, err := svc.Store().CountUsage(ctx, env.TenantID, month, next)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	send := func() (int, string) {
		return do(t, env, "POST", "/api/v1/app/"+app+"/msg", env.APIKey, []byte(`{"eventType":"a.b","payload":{"n":1}}`))
	}
	stored := func() int {
		var n int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1`, env.TenantID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := int64(1); i <= 3; i++ {
		if code, body := send(); code != 202 {
			t.Fatalf("message %d of 3: %d %s", i, code, body)
		}
		waitFor(t, 10*time.Second, "the delivery", func() bool { return delivered() == i })
	}
	code, body = send()
	if code != 429 || errorCode(t, body) != "quota_exceeded" {
		t.Fatalf("the message past the cap: %d %s, want 429 quota_exceeded", code, body)
	}
	if n := stored(); n != 3 {
		t.Errorf("%d messages stored, want 3: the refused one must not be", n)
	}
	// Reads still work and show the cap reached.
	code, body = do(t, env, "GET", "/api/v1/usage", env.APIKey, nil)
	if code != 200 {
		t.Fatalf("usage: %d %s", code, body)
	}
	u := decode[struct {
		Period struct {
			Deliveries int64
			Cap        *int64
			Remaining  *int64
			Exceeded   bool
		}
	}](t, body)
	if u.Period.Deliveries != 3 || u.Period.Cap == nil || *u.Period.Cap != 3 || *u.Period.Remaining != 0 || !u.Period.Exceeded {
		t.Errorf("usage period = %+v, want 3 of 3, exceeded", u.Period)
	}
	if code, _ := do(t, env, "GET", "/api/v1/app/"+app+"/msg", env.APIKey, nil); code != 200 {
		t.Errorf("listing messages over the cap: %d", code)
	}
	// Raising the cap lets the tenant send again at once.
	if code, body := do(t, env, "PUT", "/admin/v1/tenants/"+env.TenantID+"/plan", testenv.AdminToken, []byte(`{"plan":"enterprise","monthlyCap":4}`)); code != 200 {
		t.Fatalf("raise cap: %d %s", code, body)
	}
	if code, body := send(); code != 202 {
		t.Fatalf("after raising the cap: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the delivery", func() bool { return delivered() == 4 })
	if code, _ := send(); code != 429 {
		t.Fatalf("at the raised cap: %d, want 429", code)
	}
	// The next month starts from zero.
	c.set(next.Add(time.Minute))
	if code, body := send(); code != 202 {
		t.Fatalf("first message of the next month: %d %s", code, body)
	}
	if n := stored(); n != 5 {
		t.Errorf("%d messages stored, want 5", n)
	}
}

// TestQuota_OperatorPlanAPI covers the operator's plan routes: listing
// plans, refusing caps that do not fit the plan, unknown plans and
// tenants, and the default plan of a tenant never put on one.
func TestQuota_OperatorPlanAPI(t *testing.T) {
	t.Parallel()
	c := newClock(time.Now())
	env, _ := billingEnv(t, testenv.Options{}, c, billing.Options{})
	admin := func(method, path, body string) (int, string) {
		return do(t, env, method, path, testenv.AdminToken, []byte(body))
	}
	code, body := admin("GET", "/admin/v1/plans", "")
	if code != 200 || !contains(body, `"id":"free"`) || !contains(body, `"id":"pro"`) || !contains(body, `"id":"enterprise"`) {
		t.Errorf("plans: %d %s", code, body)
	}
	code, body = admin("GET", "/admin/v1/tenants/"+env.TenantID+"/billing", "")
	if code != 200 || !contains(body, `"plan":"pro"`) || !contains(body, `"planIsDefault":true`) || !contains(body, `"monthlyCap":null`) {
		t.Errorf("billing of a new tenant: %d %s, want the default pro plan without cap", code, body)
	}
	for _, tc := range []struct{ body, loc string }{
		{`{"plan":"gold"}`, "plan"},
		{`{"plan":"enterprise"}`, "monthlyCap"},
		{`{"plan":"free","monthlyCap":5}`, "monthlyCap"},
		{`{"plan":"enterprise","monthlyCap":-1}`, "monthlyCap"},
		{`{}`, "plan"},
	} {
		code, body := admin("PUT", "/admin/v1/tenants/"+env.TenantID+"/plan", tc.body)
		if code != 422 || !contains(body, `"`+tc.loc+`"`) {
			t.Errorf("PUT plan %s: %d %s, want 422 on %s", tc.body, code, body, tc.loc)
		}
	}
	if code, body := admin("PUT", "/admin/v1/tenants/org_2abcdefghijklmnopqrstuvwxyz/plan", `{"plan":"free"}`); code != 404 {
		t.Errorf("PUT plan of a missing tenant: %d %s", code, body)
	}
	code, body = admin("PUT", "/admin/v1/tenants/"+env.TenantID+"/plan", `{"plan":"free"}`)
	if code != 200 || !contains(body, `"plan":"free"`) || !contains(body, `"monthlyCap":10000`) {
		t.Errorf("PUT free: %d %s", code, body)
	}
	if code, body := admin("PUT", "/admin/v1/tenants/"+env.TenantID+"/stripe", `{}`); code != 409 || errorCode(t, body) != "stripe_disabled" {
		t.Errorf("attach Stripe without Stripe: %d %s, want 409 stripe_disabled", code, body)
	}
}
