package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// portalFixture is a tenant with two applications, an endpoint and a
// message in the first, as the portal tests need.
type portalFixture struct {
	env        *testenv.Env
	app, other string // application ids
	ep, msg    string
}

func newPortalFixture(t *testing.T, o testenv.Options) portalFixture {
	t.Helper()
	env := testenv.New(t, o)
	ctx := context.Background()
	s, tid := env.Store, env.TenantID
	if _, err := s.CreateEventType(ctx, tid, tenants.EventTypeInput{Name: "user.created", Description: "A user signed up"}); err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateApplication(ctx, tid, tenants.ApplicationInput{Name: "Acme", UID: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateApplication(ctx, tid, tenants.ApplicationInput{Name: "Globex", UID: ptr("globex")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, tid, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEndpoint(ctx, tid, other.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/globex-hook"}); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.CreateMessage(ctx, tid, app.ID, tenants.MessageInput{EventType: "user.created", Payload: []byte(`{"id":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return portalFixture{env: env, app: app.ID, other: other.ID, ep: ep.ID, msg: m.ID}
}

// link asks for a magic link over HTTP, as a tenant's backend does, and
// returns its token.
func (f portalFixture) link(t *testing.T, app, body string) string {
	t.Helper()
	code, resp := call(t, f.env.URL, "POST", "/api/v1/auth/app-portal-access/"+app, f.env.APIKey, body)
	if code != 200 {
		t.Fatalf("app-portal-access: %d %s", code, resp)
	}
	var out struct{ URL, Token string }
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		t.Fatal(err)
	}
	if want := "http://hookline.test/portal/#key=" + out.Token; out.URL != want || out.Token == "" {
		t.Fatalf("url = %q, want %q", out.URL, want)
	}
	return out.Token
}

type check struct {
	method, path, body string
	want               int
}

func (f portalFixture) expect(t *testing.T, token string, checks []check) {
	t.Helper()
	for _, c := range checks {
		path := strings.NewReplacer("{app}", f.app, "{other}", f.other, "{ep}", f.ep, "{msg}", f.msg).Replace(c.path)
		body := strings.ReplaceAll(c.body, "{since}", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		if code, resp := call(t, f.env.URL, c.method, path, token, body); code != c.want {
			t.Errorf("%s %s: status %d, want %d; body %s", c.method, c.path, code, c.want, resp)
		}
	}
}

// TestAppPortalAccess_SDK gets magic links through the official SDK, with
// the application created on the fly, and through the deprecated
// dashboard-access route.
func TestAppPortalAccess_SDK(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)

	if _, err := c.Authentication.AppPortalAccess(ctx, "new-app", models.AppPortalAccessIn{}, nil); sdkStatus(err) != 404 {
		t.Fatalf("unknown app without application: err = %v, want 404", err)
	}
	out, err := c.Authentication.AppPortalAccess(ctx, "new-app", models.AppPortalAccessIn{
		Application: &models.ApplicationIn{Name: "New app", Uid: ptr("new-app")},
		Expiry:      ptr(uint64(3600)), SessionId: ptr("s1"), FeatureFlags: []string{"beta"},
		Capabilities: []models.AppPortalCapability{models.APPPORTALCAPABILITY_VIEW_BASE},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.Url, "http://hookline.test/portal/#key=") || !strings.HasSuffix(out.Url, out.Token) {
		t.Fatalf("url = %q", out.Url)
	}
	app, err := env.Store.FindApplication(ctx, env.TenantID, "new-app")
	if err != nil || app.Name != "New app" {
		t.Fatalf("application created on the fly: %+v, %v", app, err)
	}
	tok, err := env.AppTokens.Parse(out.Token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AppID != app.ID || tok.TenantID != env.TenantID || tok.SessionID != "s1" || tok.Capabilities != tenants.CapViewBase ||
		tok.ReadOnly || !lifetimeIs(tok, time.Hour) || !strings.HasPrefix(tok.ID, tenants.PrefixAppToken) {
		t.Fatalf("token = %+v", tok)
	}
	// The token works with the SDK on its own application.
	got, err := env.SDK(out.Token).Application.Get(ctx, "new-app")
	if err != nil || got.Id != app.ID {
		t.Fatalf("get own app with the app token: %+v, %v", got, err)
	}

	dash, err := c.Authentication.DashboardAccess(ctx, "new-app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := env.AppTokens.Parse(dash.Token); err != nil || tok.Capabilities != tenants.AllCapabilities ||
		!lifetimeIs(tok, tenants.MaxAppTokenTTL) {
		t.Fatalf("dashboard-access token = %+v, %v", tok, err)
	}
}

// lifetimeIs reports whether a token lives d: exp counts whole seconds.
func lifetimeIs(tok tenants.AppToken, d time.Duration) bool {
	got := tok.ExpiresAt.Sub(tok.IssuedAt)
	return got > d-time.Second && got <= d
}

// TestAppPortalAccess_Validation refuses bad requests with 422s that name
// the field.
func TestAppPortalAccess_Validation(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	for _, tc := range []struct{ body, loc string }{
		{`{"expiry":60}`, "expiry"},
		{`{"expiry":700000}`, "expiry"},
		{`{"capabilities":["ViewBase","Root"]}`, "capabilities"},
		{`{"sessionId":""}`, "sessionId"},
		{`{"featureFlags":["no spaces"]}`, "featureFlags"},
		{`{"readOnly":"yes"}`, "readOnly"},
	} {
		code, resp := call(t, f.env.URL, "POST", "/api/v1/auth/app-portal-access/"+f.app, f.env.APIKey, tc.body)
		if _, loc := decodeError(t, resp); code != 422 || len(loc) < 2 || loc[1] != tc.loc {
			t.Errorf("%s: %d %s, want 422 at %s", tc.body, code, resp, tc.loc)
		}
	}
}

// TestAppToken_Scoping: an app-portal token reaches its own application
// through the public API and nothing else.
func TestAppToken_Scoping(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	token := f.link(t, "acme", `{}`)
	f.expect(t, token, []check{
		// Its own application, by id and uid.
		{"GET", "/api/v1/app/{app}", "", 200},
		{"GET", "/api/v1/app/acme/endpoint", "", 200},
		{"GET", "/api/v1/app/{app}/msg", "", 200},
		{"GET", "/api/v1/app/{app}/msg/{msg}", "", 200},
		{"GET", "/api/v1/app/{app}/endpoint/{ep}/secret", "", 200},
		{"GET", "/api/v1/app/{app}/endpoint-stats", "", 200},
		{"GET", "/api/v1/event-type", "", 200},
		{"GET", "/api/v1/event-type/user.created", "", 200},
		{"GET", "/api/v1/auth/portal-session", "", 200},
		{"POST", "/api/v1/app/{app}/endpoint", `{"url":"http://127.0.0.1:9/new"}`, 201},
		{"PATCH", "/api/v1/app/{app}/endpoint/{ep}", `{"description":"mine"}`, 200},
		{"POST", "/api/v1/app/{app}/endpoint/{ep}/secret/rotate", `{}`, 204},
		{"POST", "/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend", `{}`, 202},
		// Another application of the same tenant: as if it did not exist.
		{"GET", "/api/v1/app/{other}", "", 404},
		{"GET", "/api/v1/app/globex", "", 404},
		{"GET", "/api/v1/app/{other}/endpoint", "", 404},
		{"POST", "/api/v1/app/{other}/endpoint", `{"url":"http://127.0.0.1:9/x"}`, 404},
		{"GET", "/api/v1/app/{other}/msg", "", 404},
		{"GET", "/api/v1/app/{other}/endpoint-stats", "", 404},
		// Tenant-level routes.
		{"GET", "/api/v1/app", "", 403},
		{"POST", "/api/v1/app", `{"name":"x"}`, 403},
		{"PATCH", "/api/v1/app/{app}", `{"name":"x"}`, 403},
		{"DELETE", "/api/v1/app/{app}", "", 403},
		{"POST", "/api/v1/event-type", `{"name":"x.y","description":"x"}`, 403},
		{"PATCH", "/api/v1/event-type/user.created", `{"description":"x"}`, 403},
		{"POST", "/api/v1/app/{app}/msg", `{"eventType":"user.created","payload":{}}`, 403},
		{"DELETE", "/api/v1/app/{app}/msg/{msg}/content", "", 403},
		{"POST", "/api/v1/auth/app-portal-access/{app}", `{}`, 403},
		{"POST", "/api/v1/auth/app/{app}/expire-all", `{}`, 403},
		{"GET", "/api/v1/settings", "", 403},
		{"PATCH", "/api/v1/settings", `{"theme":"dark"}`, 403},
		{"GET", "/admin/v1/tenants", "", 401},
	})

	// Another tenant's token never reaches this tenant's application.
	bID, bKey, _ := f.env.NewTenant("Tenant B")
	if _, err := f.env.Store.CreateApplication(context.Background(), bID, tenants.ApplicationInput{Name: "B", UID: ptr("b-app")}); err != nil {
		t.Fatal(err)
	}
	code, resp := call(t, f.env.URL, "POST", "/api/v1/auth/app-portal-access/b-app", bKey, `{}`)
	if code != 200 {
		t.Fatalf("B's link: %d %s", code, resp)
	}
	var out struct{ Token string }
	_ = json.Unmarshal([]byte(resp), &out)
	f.expect(t, out.Token, []check{
		{"GET", "/api/v1/app/{app}", "", 404},
		{"GET", "/api/v1/app/acme", "", 404},
		{"GET", "/api/v1/app/{app}/endpoint/{ep}/secret", "", 404},
		{"GET", "/api/v1/app/b-app", "", 200},
	})
}

// TestAppToken_Invalid: expired, forged and misplaced tokens are 401.
func TestAppToken_Invalid(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	spec := tenants.AppToken{TenantID: f.env.TenantID, AppID: f.app}

	past := portal.NewAppTokens(testenv.JWTSecret, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	expired, _, err := past.Mint(spec, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := portal.NewAppTokens("another-secret-0123456789abcdefghijkl", nil).Mint(spec, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	valid, _, err := f.env.AppTokens.Mint(spec, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"expired":   expired,
		"forged":    forged,
		"truncated": valid[:len(valid)-4],
		"garbage":   "not-a-token",
	} {
		if code, resp := call(t, f.env.URL, "GET", "/api/v1/app/"+f.app, tok, ""); code != 401 {
			t.Errorf("%s token: %d %s, want 401", name, code, resp)
		}
	}
	if code, _ := call(t, f.env.URL, "GET", "/api/v1/app/"+f.app, valid, ""); code != 200 {
		t.Fatalf("valid token: %d", code)
	}
	// An app token is not a tenant token, however it is presented.
	if _, err := f.env.Tokens.ParseTenantToken(valid); err == nil {
		t.Error("an app token parsed as a tenant token")
	}
	if _, err := f.env.AppTokens.Parse(f.env.JWT); err == nil {
		t.Error("a tenant token parsed as an app token")
	}
}

// TestAppToken_ReadOnly: a read-only token reads and never writes.
func TestAppToken_ReadOnly(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	token := f.link(t, f.app, `{"readOnly":true}`)
	f.expect(t, token, []check{
		{"GET", "/api/v1/app/{app}/endpoint", "", 200},
		{"GET", "/api/v1/app/{app}/endpoint/{ep}/secret", "", 200},
		{"GET", "/api/v1/app/{app}/attempt/endpoint/{ep}", "", 200},
		{"POST", "/api/v1/app/{app}/endpoint", `{"url":"http://127.0.0.1:9/new"}`, 403},
		{"PATCH", "/api/v1/app/{app}/endpoint/{ep}", `{"disabled":true}`, 403},
		{"DELETE", "/api/v1/app/{app}/endpoint/{ep}", "", 403},
		{"PUT", "/api/v1/app/{app}/endpoint/{ep}/headers", `{"headers":{"X-A":"b"}}`, 403},
		{"POST", "/api/v1/app/{app}/endpoint/{ep}/secret/rotate", `{}`, 403},
		{"POST", "/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend", `{}`, 403},
		{"POST", "/api/v1/app/{app}/endpoint/{ep}/recover", `{"since":"{since}"}`, 403},
		{"POST", "/api/v1/app/{app}/endpoint/{ep}/send-example", `{"eventType":"svix.ping"}`, 403},
		// A read-only token may still end itself.
		{"POST", "/api/v1/auth/logout", "", 204},
		{"GET", "/api/v1/app/{app}/endpoint", "", 401},
	})
	if e, err := f.env.Store.FindEndpoint(context.Background(), f.env.TenantID, f.app, f.ep); err != nil || e.Disabled {
		t.Fatalf("endpoint after read-only writes: %+v, %v", e, err)
	}
}

// TestAppToken_Capabilities: each Svix capability unlocks its routes and
// no others.
func TestAppToken_Capabilities(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	secret, rotate := "/api/v1/app/{app}/endpoint/{ep}/secret", "/api/v1/app/{app}/endpoint/{ep}/secret/rotate"
	resend := "/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend"
	create, patch := "/api/v1/app/{app}/endpoint", "/api/v1/app/{app}/endpoint/{ep}"
	headers := "/api/v1/app/{app}/endpoint/{ep}/headers"
	example := "/api/v1/app/{app}/endpoint/{ep}/send-example"
	for _, tc := range []struct {
		caps   string
		checks []check
	}{
		{`["ViewBase"]`, []check{
			{"GET", "/api/v1/app/{app}/endpoint", "", 200},
			{"GET", patch, "", 200},
			{"GET", headers, "", 200},
			{"GET", "/api/v1/app/{app}/attempt/msg/{msg}", "", 200},
			{"GET", secret, "", 403},
			{"POST", rotate, `{}`, 403},
			{"POST", resend, `{}`, 403},
			{"POST", example, `{"eventType":"svix.ping"}`, 403},
			{"POST", "/api/v1/app/{app}/endpoint/{ep}/recover", `{"since":"{since}"}`, 403},
			{"POST", create, `{"url":"http://127.0.0.1:9/new"}`, 403},
			{"PATCH", patch, `{"description":"x"}`, 403},
			{"PATCH", headers, `{"headers":{"X-A":"b"}}`, 403},
			{"DELETE", patch, "", 403},
		}},
		{`["ViewEndpointSecret"]`, []check{
			{"GET", secret, "", 200},
			{"POST", rotate, `{}`, 403},
			{"PATCH", patch, `{"description":"x"}`, 403},
		}},
		{`["ManageEndpointSecret"]`, []check{
			{"GET", secret, "", 200},
			{"POST", rotate, `{}`, 204},
			{"POST", resend, `{}`, 403},
		}},
		{`["CreateAttempts"]`, []check{
			{"POST", resend, `{}`, 202},
			{"POST", example, `{"eventType":"svix.ping"}`, 200},
			{"POST", "/api/v1/app/{app}/endpoint/{ep}/replay-missing", `{"since":"{since}"}`, 202},
			{"GET", secret, "", 403},
			{"POST", create, `{"url":"http://127.0.0.1:9/new"}`, 403},
		}},
		{`["ManageEndpoint"]`, []check{
			{"POST", create, `{"url":"http://127.0.0.1:9/new"}`, 201},
			{"PATCH", patch, `{"description":"x"}`, 200},
			{"PATCH", headers, `{"headers":{"X-A":"b"}}`, 204},
			{"GET", secret, "", 200},
			{"POST", rotate, `{}`, 204},
			{"POST", resend, `{}`, 403},
		}},
	} {
		t.Run(tc.caps, func(t *testing.T) {
			f.expect(t, f.link(t, f.app, `{"capabilities":`+tc.caps+`}`), tc.checks)
		})
	}
}

// TestAppToken_Revocation: logout ends one token, expire-all ends every
// token of the application issued so far (or of some sessions), each at
// once and for good, while new links keep working.
func TestAppToken_Revocation(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	ctx := context.Background()
	get := func(token string) int {
		code, _ := call(t, f.env.URL, "GET", "/api/v1/app/"+f.app+"/endpoint", token, "")
		return code
	}

	t.Run("Logout", func(t *testing.T) {
		a, b := f.link(t, f.app, `{}`), f.link(t, f.app, `{}`)
		if get(a) != 200 || get(b) != 200 { // and so the revocation state is cached
			t.Fatal("fresh tokens refused")
		}
		if err := f.env.SDK(a).Authentication.Logout(ctx, nil); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if code := get(a); code != 401 {
			t.Errorf("logged-out token: %d, want 401", code)
		}
		if code := get(b); code != 200 {
			t.Errorf("another token of the app after logout: %d, want 200", code)
		}
		// Tenant credentials cannot log out.
		if code, resp := call(t, f.env.URL, "POST", "/api/v1/auth/logout", f.env.JWT, ""); code != 403 {
			t.Errorf("logout with a tenant JWT: %d %s, want 403", code, resp)
		}
	})

	t.Run("ExpireAll", func(t *testing.T) {
		a, b := f.link(t, f.app, `{"sessionId":"s1"}`), f.link(t, f.app, `{}`)
		other := f.link(t, f.other, `{}`)
		if get(a) != 200 || get(b) != 200 {
			t.Fatal("fresh tokens refused")
		}
		if err := f.env.SDK(f.env.APIKey).Authentication.ExpireAll(ctx, "acme", models.ApplicationTokenExpireIn{}, nil); err != nil {
			t.Fatalf("expire-all: %v", err)
		}
		if get(a) != 401 || get(b) != 401 {
			t.Errorf("tokens after expire-all: %d, %d, want 401", get(a), get(b))
		}
		if code, _ := call(t, f.env.URL, "GET", "/api/v1/app/"+f.other, other, ""); code != 200 {
			t.Errorf("another application's token after expire-all: %d, want 200", code)
		}
		if code := get(f.link(t, f.app, `{}`)); code != 200 {
			t.Errorf("a link minted after expire-all: %d, want 200", code)
		}
	})

	t.Run("ExpireSessions", func(t *testing.T) {
		s1, s2, none := f.link(t, f.app, `{"sessionId":"s1"}`), f.link(t, f.app, `{"sessionId":"s2"}`), f.link(t, f.app, `{}`)
		if get(s1) != 200 || get(s2) != 200 || get(none) != 200 {
			t.Fatal("fresh tokens refused")
		}
		code, resp := call(t, f.env.URL, "POST", "/api/v1/auth/app/"+f.app+"/expire-all", f.env.APIKey, `{"sessionIds":["s1"]}`)
		if code != 204 {
			t.Fatalf("expire-all for s1: %d %s", code, resp)
		}
		if code := get(s1); code != 401 {
			t.Errorf("session s1 after its expire-all: %d, want 401", code)
		}
		if get(s2) != 200 || get(none) != 200 {
			t.Errorf("other sessions after s1's expire-all: %d, %d, want 200", get(s2), get(none))
		}
		// The singular form works too, and a later token of s1 lives.
		later := f.link(t, f.app, `{"sessionId":"s1"}`)
		if code, _ := call(t, f.env.URL, "POST", "/api/v1/auth/app/acme/expire-all", f.env.APIKey, `{"sessionId":"s2"}`); code != 204 {
			t.Fatalf("expire-all for s2: %d", code)
		}
		if get(s2) != 401 || get(later) != 200 {
			t.Errorf("after s2's expire-all: s2 %d (want 401), later s1 %d (want 200)", get(s2), get(later))
		}
	})

	t.Run("Delayed", func(t *testing.T) {
		tok := f.link(t, f.app, `{}`)
		code, _ := call(t, f.env.URL, "POST", "/api/v1/auth/app/"+f.app+"/expire-all", f.env.APIKey, `{"expiry":3600}`)
		if code != 204 {
			t.Fatalf("delayed expire-all: %d", code)
		}
		if code := get(tok); code != 200 {
			t.Errorf("token during the grace period: %d, want 200", code)
		}
	})

	t.Run("UnknownApp", func(t *testing.T) {
		if code, _ := call(t, f.env.URL, "POST", "/api/v1/auth/app/nope/expire-all", f.env.APIKey, `{}`); code != 404 {
			t.Errorf("expire-all of an unknown app: %d, want 404", code)
		}
	})
}

// TestPortalSettings sets branding and framing through the tenant API and
// the operator API, and reads them back through the portal's session.
func TestPortalSettings(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	env := f.env

	code, resp := call(t, env.URL, "GET", "/api/v1/settings", env.APIKey, "")
	if code != 200 || !strings.Contains(resp, `"allowedFrameOrigins":[]`) || !strings.Contains(resp, `"theme":"auto"`) {
		t.Fatalf("default settings: %d %s", code, resp)
	}
	for _, tc := range []struct{ body, loc string }{
		{`{"primaryColor":"red"}`, "primaryColor"},
		{`{"primaryColor":"#12345"}`, "primaryColor"},
		{`{"theme":"blue"}`, "theme"},
		{`{"logoUrl":"javascript:alert(1)"}`, "logoUrl"},
		{`{"logoUrl":"http://cdn.example/logo.png"}`, "logoUrl"},
		{`{"allowedFrameOrigins":["https://a.example; script-src *"]}`, "allowedFrameOrigins"},
		{`{"allowedFrameOrigins":["https://a.example/path"]}`, "allowedFrameOrigins"},
		{`{"allowedFrameOrigins":["ftp://a.example"]}`, "allowedFrameOrigins"},
		{`{"allowedFrameOrigins":["'self'"]}`, "allowedFrameOrigins"},
		{`{"displayName":"` + strings.Repeat("x", 101) + `"}`, "displayName"},
	} {
		code, resp := call(t, env.URL, "PATCH", "/api/v1/settings", env.APIKey, tc.body)
		if _, loc := decodeError(t, resp); code != 422 || len(loc) < 2 || loc[1] != tc.loc {
			t.Errorf("%s: %d %s, want 422 at %s", tc.body, code, resp, tc.loc)
		}
	}

	code, resp = call(t, env.URL, "PATCH", "/api/v1/settings", env.JWT,
		`{"displayName":"Acme Webhooks","primaryColor":"#0E7C66","theme":"dark","logoUrl":"https://cdn.acme.example/logo.svg",
		  "allowedFrameOrigins":["https://App.Acme.example/","https://*.acme.example:8443","https://app.acme.example"]}`)
	if code != 200 {
		t.Fatalf("patch settings: %d %s", code, resp)
	}
	var got struct {
		DisplayName, PrimaryColor, Theme, LogoURL string
		AllowedFrameOrigins                       []string
	}
	if err := json.Unmarshal([]byte(resp), &got); err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Acme Webhooks" || got.PrimaryColor != "#0e7c66" || got.Theme != "dark" ||
		strings.Join(got.AllowedFrameOrigins, " ") != "https://app.acme.example https://*.acme.example:8443" {
		t.Fatalf("patched settings = %+v", got)
	}

	// The portal's page carries the framing policy; the session the branding.
	req, _ := http.NewRequest("GET", env.URL+"/portal/o/"+env.TenantID+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); res.StatusCode != 200 ||
		csp != "frame-ancestors https://app.acme.example https://*.acme.example:8443" {
		t.Fatalf("portal page: %d, CSP %q", res.StatusCode, csp)
	}
	token := f.link(t, f.app, `{"capabilities":["CreateAttempts"],"readOnly":true}`)
	code, resp = call(t, env.URL, "GET", "/api/v1/auth/portal-session", token, "")
	var sess struct {
		TenantID     string
		ReadOnly     bool
		Capabilities []string
		Application  struct{ ID, Name string }
		Branding     struct{ DisplayName, PrimaryColor, Theme, LogoURL string }
	}
	if err := json.Unmarshal([]byte(resp), &sess); err != nil || code != 200 {
		t.Fatalf("portal session: %d %s", code, resp)
	}
	if sess.TenantID != env.TenantID || !sess.ReadOnly || strings.Join(sess.Capabilities, ",") != "ViewBase,CreateAttempts" ||
		sess.Application.ID != f.app || sess.Application.Name != "Acme" || sess.Branding.DisplayName != "Acme Webhooks" ||
		sess.Branding.PrimaryColor != "#0e7c66" || sess.Branding.Theme != "dark" || sess.Branding.LogoURL != "https://cdn.acme.example/logo.svg" {
		t.Fatalf("portal session = %+v", sess)
	}

	// The operator sees and changes the same settings; null resets.
	code, resp = call(t, env.URL, "PATCH", "/admin/v1/tenants/"+env.TenantID+"/settings", testenv.AdminToken,
		`{"allowedFrameOrigins":null,"displayName":null}`)
	if code != 200 || !strings.Contains(resp, `"allowedFrameOrigins":[]`) || !strings.Contains(resp, `"displayName":null`) ||
		!strings.Contains(resp, `"primaryColor":"#0e7c66"`) {
		t.Fatalf("operator patch: %d %s", code, resp)
	}
	if code, resp = call(t, env.URL, "GET", "/admin/v1/tenants/"+env.TenantID+"/settings", testenv.AdminToken, ""); code != 200 ||
		!strings.Contains(resp, `"theme":"dark"`) {
		t.Fatalf("operator get: %d %s", code, resp)
	}
	if code, _ = call(t, env.URL, "GET", "/admin/v1/tenants/org_nope/settings", testenv.AdminToken, ""); code != 404 {
		t.Errorf("operator get of an unknown tenant: %d, want 404", code)
	}
	if code, _ = call(t, env.URL, "PATCH", "/admin/v1/tenants/org_nope/settings", testenv.AdminToken, `{"theme":"dark"}`); code != 404 {
		t.Errorf("operator patch of an unknown tenant: %d, want 404", code)
	}
	res, err = http.Get(env.URL + "/portal/o/" + env.TenantID + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); csp != "frame-ancestors *" {
		t.Fatalf("CSP after reset: %q", csp)
	}
	// Without the tenant's settings the session shows the tenant's name.
	code, resp = call(t, env.URL, "GET", "/api/v1/auth/portal-session", token, "")
	if code != 200 || !strings.Contains(resp, `"displayName":"Test tenant"`) {
		t.Fatalf("portal session after reset: %d %s", code, resp)
	}
}

// TestEndpointSuccessRates reads the per-endpoint success share of the
// last day, as the portal's endpoint list shows it.
func TestEndpointSuccessRates(t *testing.T) {
	t.Parallel()
	f := newPortalFixture(t, testenv.Options{})
	ctx := context.Background()
	s, tid := f.env.Store, f.env.TenantID
	m, deliveries, err := s.CreateMessage(ctx, tid, f.app, tenants.MessageInput{EventType: "user.created", Payload: []byte(`{"id":2}`)})
	if err != nil || len(deliveries) != 1 {
		t.Fatalf("message: %v %v", deliveries, err)
	}
	var results []tenants.AttemptResult
	for i, st := range []tenants.Status{tenants.StatusFail, tenants.StatusFail, tenants.StatusFail, tenants.StatusSuccess} {
		now := time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(i) * time.Millisecond)
		results = append(results, tenants.AttemptResult{Status: st, Attempt: tenants.Attempt{
			ID: tenants.NewID(tenants.PrefixAttempt, now), TenantID: tid, AppID: f.app, MsgID: m.ID, EndpointID: f.ep,
			DeliveryID: deliveries[0], URL: "http://127.0.0.1:9/hook", Status: st, CreatedAt: now,
		}})
	}
	if err := s.RecordAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
	token := f.link(t, f.app, `{"capabilities":["ViewBase"]}`)
	code, resp := call(t, f.env.URL, "GET", "/api/v1/app/"+f.app+"/endpoint-stats", token, "")
	var out struct {
		Data []struct {
			EndpointID  string
			SuccessRate float64
		}
	}
	if err := json.Unmarshal([]byte(resp), &out); err != nil || code != 200 {
		t.Fatalf("endpoint-stats: %d %s", code, resp)
	}
	if len(out.Data) != 1 || out.Data[0].EndpointID != f.ep || out.Data[0].SuccessRate != 0.25 {
		t.Fatalf("endpoint-stats = %+v, want %s at 0.25", out.Data, f.ep)
	}
	if code, _ := call(t, f.env.URL, "GET", "/api/v1/app/"+f.app+"/endpoint-stats?since=2001-01-01T00:00:00Z", token, ""); code != 400 {
		t.Errorf("a window older than 28 days: %d, want 400", code)
	}
}

// call and decodeError are the stack's plain-HTTP helpers (testenv).
var (
	call        = testenv.Call
	decodeError = testenv.DecodeError
)

// sdkStatus is the HTTP status of an SDK error (0 when none).
func sdkStatus(err error) int {
	var e *svix.Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return 0
}
