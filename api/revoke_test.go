package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/testenv"
)

// TestAdmin_TokenLifetimeAndRevocation: the operator API mints tenant JWTs
// with the default lifetime (or the ttl asked for) and revokes all of one
// tenant's JWTs at once, leaving its API keys and other tenants alone.
func TestAdmin_TokenLifetimeAndRevocation(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	otherID, _, otherJWT := env.NewTenant("Other")
	mint := func(body string) (string, time.Duration) {
		t.Helper()
		code, out := call(t, env.URL, "POST", "/admin/v1/tenants/"+env.TenantID+"/jwt", testenv.AdminToken, body)
		if code != 200 {
			t.Fatalf("mint: %d %s", code, out)
		}
		var r struct{ Token string }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		var claims jwt.RegisteredClaims
		if _, _, err := jwt.NewParser().ParseUnverified(r.Token, &claims); err != nil {
			t.Fatal(err)
		}
		return r.Token, claims.ExpiresAt.Sub(claims.IssuedAt.Time)
	}
	tok, life := mint("")
	if life != api.DefaultTenantTTL {
		t.Errorf("default lifetime = %s, want %s", life, api.DefaultTenantTTL)
	}
	if _, life := mint(`{"ttl":"2h"}`); life != 2*time.Hour {
		t.Errorf("lifetime with ttl 2h = %s", life)
	}
	for _, body := range []string{`{"ttl":"forever"}`, `{"ttl":"-1h"}`, `{"ttl":"100000h"}`} {
		if code, out := call(t, env.URL, "POST", "/admin/v1/tenants/"+env.TenantID+"/jwt", testenv.AdminToken, body); code != 422 {
			t.Errorf("mint with %s: %d %s, want 422", body, code, out)
		}
	}
	get := func(token string) int {
		code, _ := call(t, env.URL, "GET", "/api/v1/app", token, "")
		return code
	}
	if get(tok) != 200 || get(env.JWT) != 200 {
		t.Fatal("the tokens do not work before revocation")
	}
	code, out := call(t, env.URL, "POST", "/admin/v1/tenants/"+env.TenantID+"/revoke-tokens", testenv.AdminToken, "")
	var tn struct{ TokensValidAfter *time.Time }
	if code != 200 || json.Unmarshal([]byte(out), &tn) != nil || tn.TokensValidAfter == nil {
		t.Fatalf("revoke: %d %s", code, out)
	}
	for name, c := range map[string]int{
		"minted JWT": get(tok), "stack JWT": get(env.JWT), "API key": get(env.APIKey), "other tenant's JWT": get(otherJWT),
	} {
		want := 401
		if name == "API key" || name == "other tenant's JWT" {
			want = 200
		}
		if c != want {
			t.Errorf("%s after revocation: %d, want %d", name, c, want)
		}
	}
	if code, _ := call(t, env.URL, "GET", "/admin/v1/tenants/"+env.TenantID, testenv.AdminToken, ""); code != 200 {
		t.Errorf("get tenant: %d", code)
	}
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/admin/v1/tenants/org_2Ug6JqzK8ODiTcjjwTnnbxbxqDh/revoke-tokens", "", 404},
		{"/admin/v1/tenants/" + otherID + "/revoke-tokens", `{"validAfter":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, 422},
		{"/admin/v1/tenants/" + otherID + "/revoke-tokens", `{"validAfter":"yesterday"}`, 422},
	} {
		if code, out := call(t, env.URL, "POST", tc.path, testenv.AdminToken, tc.body); code != tc.status {
			t.Errorf("POST %s %s: %d %s, want %d", tc.path, tc.body, code, out, tc.status)
		}
	}
	if code, _ := call(t, env.URL, "POST", "/admin/v1/tenants/"+env.TenantID+"/revoke-tokens", env.APIKey, ""); code != 401 {
		t.Errorf("revoke with a tenant API key: %d, want 401", code)
	}
	if get(otherJWT) != 200 {
		t.Error("the refused revocations touched the other tenant")
	}
}
