package portal_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestHandler serves the pages and assets with their security headers,
// revalidates them by ETag, and answers 404 to anything else.
func TestHandler(t *testing.T) {
	h, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/portal/", "text/html; charset=utf-8", `src="assets/boot.js"`},
		{"/portal/o/org_2abc/", "text/html; charset=utf-8", `src="../../assets/app.js"`},
		{"/portal/assets/app.js", "text/javascript; charset=utf-8", "import"},
		{"/portal/assets/pages/endpoint.js", "text/javascript; charset=utf-8", "export async function endpointPage"},
		{"/portal/assets/portal.css", "text/css; charset=utf-8", "--brand"},
	} {
		rec := get("GET", tc.path, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tc.ctype || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.contains,
				strings.Contains(rec.Body.String(), tc.contains))
			continue
		}
		hd := rec.Header()
		if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") ||
			strings.Contains(csp, "frame-ancestors") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if hd.Get("Referrer-Policy") != "no-referrer" || hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Set-Cookie") != "" {
			t.Errorf("GET %s: headers %v", tc.path, hd)
		}
		etag := hd.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tc.path)
			continue
		}
		if rec := get("GET", tc.path, map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes", tc.path, rec.Code, rec.Body.Len())
		}
	}
	for _, path := range []string{
		"/portal/o/", "/portal/o/org_1/extra/", "/portal/o/org_1", "/portal/assets/index.html", "/portal/assets/nope.js",
		"/portal/assets/../portal.go", "/portal/x", "/elsewhere",
	} {
		if rec := get("GET", path, nil); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
	if rec := get("POST", "/portal/", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /portal/: %d", rec.Code)
	}
	if rec := get("HEAD", "/portal/assets/app.js", nil); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestServedByAPI: through the API's routes the tenant page gets the
// tenant's frame-ancestors policy and the bootstrap page an explicit one, /portal redirects to /portal/, and the
// token never appears in a response.
func TestServedByAPI(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		res, err := client.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := get("/portal"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "portal/" {
		t.Errorf("/portal: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res := get("/portal/")
	// The bootstrap page cannot know the tenant yet: it says explicitly
	// that any site may frame it.
	if csp := res.Header.Values("Content-Security-Policy"); res.StatusCode != 200 || len(csp) != 2 || csp[0] == "" || csp[1] != "frame-ancestors *" {
		t.Errorf("/portal/: %d, CSP %q", res.StatusCode, csp)
	}
	res = get("/portal/o/" + env.TenantID + "/")
	if csp := res.Header.Values("Content-Security-Policy"); res.StatusCode != 200 || len(csp) != 2 || csp[0] != "frame-ancestors *" {
		t.Errorf("tenant page: %d, CSP %q", res.StatusCode, csp)
	}
	if _, err := env.Store.PatchPortalSettings(t.Context(), env.TenantID, tenants.PortalSettingsPatch{
		FrameOrigins: &[]string{"https://app.acme.example", "https://*.acme.example"},
	}); err != nil {
		t.Fatal(err)
	}
	res = get("/portal/o/" + env.TenantID + "/")
	if csp := res.Header.Values("Content-Security-Policy"); len(csp) != 2 || csp[0] != "frame-ancestors https://app.acme.example https://*.acme.example" {
		t.Errorf("restricted tenant page: CSP %q", csp)
	}
	if res := get("/portal/o/not-a-tenant/"); res.StatusCode != 404 {
		t.Errorf("a path that is not a tenant id: %d, want 404", res.StatusCode)
	}
	if res := get("/portal/assets/app.js"); res.StatusCode != 200 {
		t.Errorf("asset through the API: %d", res.StatusCode)
	}
}

// TestAppToken_Claims signs and parses app tokens with an injected clock.
func TestAppToken_Claims(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)
	clock := func() time.Time { return now }
	tk := portal.NewAppTokens("secret-for-tests-0123456789abcdefghij", clock)
	raw, spec, err := tk.Mint(tenants.AppToken{TenantID: "org_1", AppID: "app_1", SessionID: "s", ReadOnly: true,
		Capabilities: tenants.CapCreateAttempts}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != spec.ID || got.TenantID != "org_1" || got.AppID != "app_1" || got.SessionID != "s" || !got.ReadOnly ||
		got.Capabilities != tenants.CapViewBase|tenants.CapCreateAttempts || !got.IssuedAt.Equal(now.Truncate(time.Microsecond)) ||
		!got.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("parsed = %+v, signed %+v", got, spec)
	}
	// Past its expiry (and the 30 s leeway) it is refused.
	now = now.Add(time.Hour + 31*time.Second)
	if _, err := tk.Parse(raw); !errors.Is(err, portal.ErrBadToken) {
		t.Fatalf("an expired token: %v, want ErrBadToken", err)
	}
	// Another secret's token is not one of ours.
	other, _, _ := portal.NewAppTokens("another-secret-0123456789abcdefghijkl", nil).Mint(tenants.AppToken{TenantID: "org_1", AppID: "app_1"}, time.Hour)
	now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := tk.Parse(other); !errors.Is(err, portal.ErrBadToken) {
		t.Fatalf("a foreign token: %v, want ErrBadToken", err)
	}
	// Unknown capability names in a token make it invalid.
	if _, err := tenants.ParseCapabilities([]string{"ViewBase", "Admin"}); err == nil {
		t.Fatal("an unknown capability parsed")
	}
	if c, _ := tenants.ParseCapabilities(nil); c != tenants.AllCapabilities {
		t.Fatalf("no capabilities = %v, want all", c.Names())
	}
}
