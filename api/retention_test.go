package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestMessage_PayloadRetentionPeriod: a message sent with
// payloadRetentionPeriod reads as expunged once the period has passed —
// through the API, the listings and the portal's token — before the
// periodic expiry has nulled the column, and its resend is refused with
// missing_payload; the expiry then drops the bytes. The period's passing
// is simulated by moving the message's expiry into the past.
func TestMessage_PayloadRetentionPeriod(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	code, body := call(t, env.URL, "POST", "/api/v1/app", env.APIKey, `{"name":"r","uid":"retained"}`)
	if code != 201 {
		t.Fatalf("create app: %d %s", code, body)
	}
	app := mustApp(t, env, "retained")
	code, body = call(t, env.URL, "POST", "/api/v1/app/"+app+"/endpoint", env.APIKey, `{"url":"http://127.0.0.1:9/h"}`)
	if code != 201 {
		t.Fatalf("create endpoint: %d %s", code, body)
	}
	var ep struct{ ID string }
	_ = json.Unmarshal([]byte(body), &ep)
	code, body = call(t, env.URL, "POST", "/api/v1/app/"+app+"/msg", env.APIKey,
		`{"eventType":"e.t","payload":{"secret":"s3cr3t"},"payloadRetentionPeriod":1}`)
	if code != 202 {
		t.Fatalf("create message: %d %s", code, body)
	}
	var m struct{ ID string }
	_ = json.Unmarshal([]byte(body), &m)
	var days float64
	if err := env.SQL.QueryRow(ctx, `SELECT extract(epoch FROM expires_at - created_at) / 86400 FROM messages WHERE id = $1`, m.ID).Scan(&days); err != nil || days != 1 {
		t.Fatalf("payload kept %v days (%v), want 1", days, err)
	}
	portalToken, _, err := env.AppTokens.Mint(tenants.AppToken{TenantID: env.TenantID, AppID: app, Capabilities: tenants.AllCapabilities}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	get := func(token string) string {
		t.Helper()
		code, body := call(t, env.URL, "GET", "/api/v1/app/"+app+"/msg/"+m.ID, token, "")
		if code != 200 {
			t.Fatalf("get message: %d %s", code, body)
		}
		return body
	}
	if b := get(env.APIKey); !strings.Contains(b, "s3cr3t") {
		t.Fatalf("within the period the payload is there: %s", b)
	}

	// A day later.
	if _, err := env.SQL.Exec(ctx, `UPDATE messages SET expires_at = now() - interval '1 second' WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	for who, tok := range map[string]string{"API key": env.APIKey, "portal token": portalToken} {
		if b := get(tok); strings.Contains(b, "s3cr3t") || !strings.Contains(b, `"expired":true`) {
			t.Errorf("past the period, through the %s: %s; want the payload expunged", who, b)
		}
	}
	if code, body := call(t, env.URL, "GET", "/api/v1/app/"+app+"/msg?with_content=true", env.APIKey, ""); code != 200 || strings.Contains(body, "s3cr3t") {
		t.Errorf("listing past the period: %d %s", code, body)
	}
	code, body = call(t, env.URL, "POST", "/api/v1/app/"+app+"/msg/"+m.ID+"/endpoint/"+ep.ID+"/resend", env.APIKey, "")
	if code != 400 || !strings.Contains(body, "missing_payload") {
		t.Errorf("resend past the period: %d %s; want 400 missing_payload", code, body)
	}
	if _, err := env.Store.ExpirePayloads(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	var gone bool
	if err := env.SQL.QueryRow(ctx, `SELECT payload IS NULL FROM messages WHERE id = $1`, m.ID).Scan(&gone); err != nil || !gone {
		t.Errorf("after the periodic expiry the payload column holds bytes (%v)", err)
	}
}

// TestAdmin_TenantRetention: the operator sets a tenant's retention, sees
// it next to its plan's, and returns it to the plan's with null.
func TestAdmin_TenantRetention(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	path := "/admin/v1/tenants/" + env.TenantID + "/retention"
	code, body := call(t, env.URL, "GET", path, testenv.AdminToken, "")
	if code != 200 || !strings.Contains(body, `"days":null`) || !strings.Contains(body, `"planDays":90`) || !strings.Contains(body, `"effectiveDays":90`) {
		t.Fatalf("default retention: %d %s", code, body)
	}
	if code, body = call(t, env.URL, "PUT", path, testenv.AdminToken, `{"days":7}`); code != 200 || !strings.Contains(body, `"days":7`) || !strings.Contains(body, `"effectiveDays":7`) {
		t.Fatalf("set 7 days: %d %s", code, body)
	}
	if code, body = call(t, env.URL, "PUT", path, testenv.AdminToken, `{"days":null}`); code != 200 || !strings.Contains(body, `"effectiveDays":90`) {
		t.Fatalf("back to the plan's: %d %s", code, body)
	}
	for _, bad := range []string{`{"days":0}`, `{}`, `{"days":"x"}`} {
		if code, body = call(t, env.URL, "PUT", path, testenv.AdminToken, bad); code != 422 {
			t.Errorf("PUT %s: %d %s, want 422", bad, code, body)
		}
	}
	if code, _ = call(t, env.URL, "PUT", "/admin/v1/tenants/org_2Ug6JqzK8ODiTcjjwTnnbxbxqDh/retention", testenv.AdminToken, `{"days":7}`); code != 404 {
		t.Errorf("unknown tenant: %d, want 404", code)
	}
	if code, _ = call(t, env.URL, "GET", path, env.APIKey, ""); code != 401 && code != 403 {
		t.Errorf("with a tenant's key: %d, want 401/403", code)
	}
}
