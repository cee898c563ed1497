package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// call sends a request to the stack and returns the status and body.
func call(t *testing.T, env *testenv.Env, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signIn(t *testing.T, env *testenv.Env, body string) string {
	t.Helper()
	code, out := call(t, env, "POST", "/console/api/session", "", body)
	if code != http.StatusCreated {
		t.Fatalf("sign in with %s: %d %s", body, code, out)
	}
	var s struct{ Token string }
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s.Token
}

// TestConsoleAPI_SignIn: bad sign-ins are clear 4xx answers; a session
// works on the console's and the tenant API's routes until signed out; a
// link works once; app-portal tokens are refused; keys of another tenant
// cannot be revoked.
func TestConsoleAPI_SignIn(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Console: true})
	ctx := context.Background()

	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"NotJSON", `{`, 400, "invalid_json"},
		{"UnknownField", `{"password":"x"}`, 400, "invalid_json"},
		{"Empty", `{}`, 422, "apiKey"},
		{"Both", `{"apiKey":"sk_x","link":"hlcl_y"}`, 422, "not both"},
		{"NotAKey", `{"apiKey":"hello"}`, 422, "starts with"},
		{"UnknownKey", `{"apiKey":"sk_unknown"}`, 401, "authentication_failed"},
		{"UnknownLink", `{"link":"hlcl_unknown"}`, 401, "authentication_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, env, "POST", "/console/api/session", "", tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}

	tok := signIn(t, env, `{"apiKey":"`+env.APIKey+`"}`)
	if !tenants.LooksLikeConsoleSession(tok) {
		t.Fatalf("token %q", tok)
	}
	if code, body := call(t, env, "GET", "/console/api/session", tok, ""); code != 200 || !strings.Contains(body, env.TenantID) {
		t.Errorf("session: %d %s", code, body)
	}
	app, err := env.SDK(tok).Application.Create(ctx, models.ApplicationIn{Name: "made with a console session"}, nil)
	if err != nil {
		t.Fatalf("the session on the tenant API: %v", err)
	}
	if code, body := call(t, env, "GET", "/console/api/overview", tok, ""); code != 200 || !strings.Contains(body, `"troubledEndpoints":[]`) {
		t.Errorf("overview: %d %s", code, body)
	}
	for _, q := range []string{"status=nope", "after=yesterday", "limit=0", "iterator=zzz"} {
		if code, body := call(t, env, "GET", "/console/api/messages?"+q, tok, ""); code != 422 {
			t.Errorf("messages?%s: %d %s, want 422", q, code, body)
		}
	}

	// App-portal tokens act for one application only.
	var pa struct{ Token string }
	code, body := call(t, env, "POST", "/api/v1/auth/app-portal-access/"+app.Id, env.APIKey, `{}`)
	if code != 200 || json.Unmarshal([]byte(body), &pa) != nil {
		t.Fatalf("app-portal-access: %d %s", code, body)
	}
	if code, body := call(t, env, "GET", "/console/api/keys", pa.Token, ""); code != 403 {
		t.Errorf("keys with an app-portal token: %d %s, want 403", code, body)
	}
	if code, body := call(t, env, "POST", "/console/api/session", "", `{"apiKey":"`+pa.Token+`"}`); code != 422 {
		t.Errorf("sign in with an app-portal token: %d %s, want 422", code, body)
	}

	// Another tenant's key is not found, like a missing one.
	tenantB, keyB, _ := env.NewTenant("B")
	keysB, err := env.Store.FindAPIKeys(ctx, tenantB)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, env, "DELETE", "/console/api/keys/"+keysB[0].ID, tok, ""); code != 404 {
		t.Errorf("revoking B's key as A: %d %s, want 404", code, body)
	}
	if _, err := env.SDK(keyB).Application.List(ctx, nil); err != nil {
		t.Errorf("B's key after A tried to revoke it: %v", err)
	}

	// Sign out: the token is dead everywhere; signing out twice is a 401.
	if code, body := call(t, env, "DELETE", "/console/api/session", tok, ""); code != 204 {
		t.Fatalf("sign out: %d %s", code, body)
	}
	if _, err := env.SDK(tok).Application.List(ctx, nil); status(err) != 401 {
		t.Errorf("the signed-out token on the API: %v, want 401", err)
	}
	if code, _ := call(t, env, "DELETE", "/console/api/session", tok, ""); code != 401 {
		t.Errorf("signing out twice: %d, want 401", code)
	}
	// API keys do not sign out.
	if code, _ := call(t, env, "DELETE", "/console/api/session", env.APIKey, ""); code != 403 {
		t.Errorf("signing out an API key: %d, want 403", code)
	}

	// A link works once; the operator API needs the operator token.
	if code, _ := call(t, env, "POST", "/admin/v1/tenants/"+tenantB+"/console-link", env.APIKey, ""); code != 401 {
		t.Errorf("console-link with a tenant key: %d, want 401", code)
	}
	if code, _ := call(t, env, "POST", "/admin/v1/tenants/org_doesnotexist/console-link", testenv.AdminToken, ""); code != 404 {
		t.Errorf("console-link for an unknown tenant: %d, want 404", code)
	}
	link := strings.SplitN(consoleLink(t, env, tenantB), "#link=", 2)[1]
	tokB := signIn(t, env, `{"link":"`+link+`"}`)
	if code, body := call(t, env, "GET", "/console/api/session", tokB, ""); code != 200 || !strings.Contains(body, tenantB) {
		t.Errorf("B's session: %d %s", code, body)
	}
	if code, _ := call(t, env, "POST", "/console/api/session", "", `{"link":"`+link+`"}`); code != 401 {
		t.Errorf("a used link: %d, want 401", code)
	}
	if _, err := env.Store.SetTenantStatus(ctx, tenantB, tenants.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, env, "POST", "/admin/v1/tenants/"+tenantB+"/console-link", testenv.AdminToken, ""); code != 403 {
		t.Errorf("console-link for a suspended tenant: %d %s, want 403", code, body)
	}
}
