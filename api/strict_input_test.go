package api_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
)

// want422At checks that a request is a 422 whose first detail names loc.
func want422At(t *testing.T, what string, code int, body string, loc ...string) {
	t.Helper()
	if code != http.StatusUnprocessableEntity {
		t.Errorf("%s: status %d, want 422; body %s", what, code, body)
		return
	}
	if _, got := decodeError(t, body); !slices.Equal(got, loc) {
		t.Errorf("%s: loc %v, want %v; body %s", what, got, loc, body)
	}
}

// TestStrictInput_EndpointVersion: Svix's deprecated EndpointIn.version is
// an integer from 1 to 65535 (the SDK's uint16) at create, PUT and PATCH;
// a string, an array, an object, a fraction, an exponent or a value out of
// range is a 422 on body.version. The SDK's own version goes through.
func TestStrictInput_EndpointVersion(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "Acme"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/h", Version: ptr(uint16(1))}, nil)
	if err != nil {
		t.Fatalf("SDK with version 1: %v", err)
	}
	if _, err := c.Endpoint.Patch(ctx, app.Id, ep.Id, models.EndpointPatch{Version: ptr(uint16(2))}); err != nil {
		t.Fatalf("SDK patch with version 2: %v", err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint"
	for _, v := range []string{`"1"`, `[1]`, `{}`, `1e300`, `1.5`, `1.0`, `0`, `-1`, `65536`, `true`} {
		body := `{"url":"https://127.0.0.1:9/h","version":` + v + `}`
		for _, r := range []struct{ method, path string }{{"POST", base}, {"PUT", base + "/" + ep.Id}, {"PATCH", base + "/" + ep.Id}} {
			code, resp := call(t, env.URL, r.method, r.path, env.APIKey, body)
			want422At(t, r.method+" version "+v, code, resp, "body", "version")
		}
	}
	for _, v := range []string{`1`, `65535`, `null`} {
		if code, resp := call(t, env.URL, "POST", base, env.APIKey, `{"url":"https://127.0.0.1:9/h","version":`+v+`}`); code != http.StatusCreated {
			t.Errorf("version %s: %d %s, want 201", v, code, resp)
		}
	}
}

// TestStrictInput_MessageShapes: MessageIn.transformationsParams must be
// an object, application an ApplicationIn (checked even when the
// application exists), and a deliverAt that does not parse is a 422 on
// body.deliverAt rather than on the whole body.
func TestStrictInput_MessageShapes(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "Acme", Uid: ptr("acme")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/app/acme/msg"
	msg := func(extra string) string { return `{"eventType":"user.created","payload":{"a":1}` + extra + `}` }
	for _, tc := range []struct {
		extra string
		loc   []string
	}{
		{`,"transformationsParams":"x"`, []string{"body", "transformationsParams"}},
		{`,"transformationsParams":[1]`, []string{"body", "transformationsParams"}},
		{`,"transformationsParams":7`, []string{"body", "transformationsParams"}},
		{`,"application":"acme"`, []string{"body", "application"}},
		{`,"application":[1]`, []string{"body", "application"}},
		{`,"application":{}`, []string{"body", "application", "name"}},
		{`,"application":{"name":5}`, []string{"body", "application", "name"}},
		{`,"application":{"name":"Acme","throttleRate":0}`, []string{"body", "application", "throttleRate"}},
		{`,"application":{"name":"` + strings.Repeat("n", 257) + `"}`, []string{"body", "application", "name"}},
		{`,"deliverAt":"tomorrow"`, []string{"body", "deliverAt"}},
		{`,"deliverAt":"2030-13-01T00:00:00Z"`, []string{"body", "deliverAt"}},
		{`,"deliverAt":5`, []string{"body", "deliverAt"}},
	} {
		code, resp := call(t, env.URL, "POST", path, env.APIKey, msg(tc.extra))
		want422At(t, tc.extra, code, resp, tc.loc...)
	}
	for _, extra := range []string{`,"transformationsParams":{"k":[1]}`, `,"transformationsParams":null`, `,"application":{"name":"Acme"}`, `,"application":null`,
		`,"deliverAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"`} {
		if code, resp := call(t, env.URL, "POST", path, env.APIKey, msg(extra)); code != http.StatusAccepted {
			t.Errorf("%s: %d %s, want 202", extra, code, resp)
		}
	}
	// Other body times name their field too.
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/h", Disabled: ptr(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, body, field string }{
		{"/api/v1/app/acme/endpoint/" + ep.Id + "/recover", `{"since":"yesterday"}`, "since"},
		{"/api/v1/app/acme/endpoint/" + ep.Id + "/replay-missing", `{"since":"2030-01-01T00:00:00Z","until":7}`, "until"},
		{"/api/v1/app/acme/endpoint/" + ep.Id + "/bulk-replay", `{"since":"not a time"}`, "since"},
		{"/api/v1/stats/usage/app", `{"since":"2030-01-01T00:00:00Z","until":"soon"}`, "until"},
	} {
		code, resp := call(t, env.URL, "POST", tc.path, env.APIKey, tc.body)
		want422At(t, tc.path, code, resp, "body", tc.field)
	}
	code, resp := call(t, env.URL, "POST", "/admin/v1/tenants/"+env.TenantID+"/revoke-tokens", testenv.AdminToken, `{"validAfter":"last week"}`)
	want422At(t, "revoke-tokens", code, resp, "body", "validAfter")
	// The SDK's own fields pass.
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"a": 1},
		TransformationsParams: &map[string]any{"x": 1}, Application: &models.ApplicationIn{Name: "Acme"}}, nil); err != nil {
		t.Fatalf("SDK message with transformationsParams and application: %v", err)
	}
}

// TestStrictInput_Lengths: an application name is at most 256 characters,
// an endpoint's (and an operational endpoint's) description 1024 and an
// event type's description 4096, at create, PUT and PATCH; one past each
// limit is a 422 on the field, the limit itself passes. Characters, not
// bytes, are counted.
func TestStrictInput_Lengths(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: strings.Repeat("é", 256)}, nil)
	if err != nil {
		t.Fatalf("a 256-character name: %v", err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/h", Description: ptr(strings.Repeat("é", 1024))}, nil)
	if err != nil {
		t.Fatalf("a 1024-character description: %v", err)
	}
	if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: "user.created", Description: strings.Repeat("d", 4096)}, nil); err != nil {
		t.Fatalf("a 4096-character event type description: %v", err)
	}
	long := func(n int) string { return `"` + strings.Repeat("x", n) + `"` }
	appPath, epPath := "/api/v1/app/"+app.Id, "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id
	for _, tc := range []struct {
		method, path, body string
		field              string
	}{
		{"POST", "/api/v1/app", `{"name":` + long(257) + `}`, "name"},
		{"POST", "/api/v1/app", `{"name":` + long(70000) + `}`, "name"},
		{"PUT", appPath, `{"name":` + long(257) + `}`, "name"},
		{"PATCH", appPath, `{"name":` + long(257) + `}`, "name"},
		{"POST", "/api/v1/app/" + app.Id + "/endpoint", `{"url":"https://127.0.0.1:9/h","description":` + long(1025) + `}`, "description"},
		{"POST", "/api/v1/app/" + app.Id + "/endpoint", `{"url":"https://127.0.0.1:9/h","description":` + long(70000) + `}`, "description"},
		{"PUT", epPath, `{"url":"https://127.0.0.1:9/h","description":` + long(1025) + `}`, "description"},
		{"PATCH", epPath, `{"description":` + long(1025) + `}`, "description"},
		{"POST", "/api/v1/operational-webhook/endpoint", `{"url":"https://127.0.0.1:9/h","description":` + long(1025) + `}`, "description"},
		{"POST", "/api/v1/event-type", `{"name":"a.b","description":` + long(4097) + `}`, "description"},
		{"PUT", "/api/v1/event-type/user.created", `{"description":` + long(4097) + `}`, "description"},
		{"PATCH", "/api/v1/event-type/user.created", `{"description":` + long(4097) + `}`, "description"},
	} {
		code, resp := call(t, env.URL, tc.method, tc.path, env.APIKey, tc.body)
		want422At(t, tc.method+" "+tc.path, code, resp, "body", tc.field)
	}
}

// rawCall sends body with the given Content-Type ("" sends none) and
// returns the status and body.
func rawCall(t *testing.T, method, url, token, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStrictInput_ContentType: a JSON body sent with a non-JSON
// Content-Type is a 415 with a machine-readable body, on an ordinary route
// and on message creation; JSON types (parameters and +json suffixes
// included) pass, and so does no Content-Type at all (curl and some
// clients send none).
func TestStrictInput_ContentType(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	app, err := env.SDK(env.APIKey).Application.Create(ctx, models.ApplicationIn{Name: "Acme"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgURL := env.URL + "/api/v1/app/" + app.Id + "/msg"
	for _, ct := range []string{"application/xml", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json", "not a type"} {
		code, body := rawCall(t, "POST", env.URL+"/api/v1/app", env.APIKey, ct, `{"name":"X"}`)
		if code, _ := decodeError(t, body); code != "unsupported_media_type" {
			t.Errorf("create app with Content-Type %q: code %q, want unsupported_media_type; body %s", ct, code, body)
		}
		if code != http.StatusUnsupportedMediaType {
			t.Errorf("create app with Content-Type %q: %d, want 415", ct, code)
		}
		if code, body := rawCall(t, "POST", msgURL, env.APIKey, ct, `{"eventType":"a.b","payload":{}}`); code != http.StatusUnsupportedMediaType {
			t.Errorf("create message with Content-Type %q: %d %s, want 415", ct, code, body)
		}
	}
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"} {
		if code, body := rawCall(t, "POST", env.URL+"/api/v1/app", env.APIKey, ct, `{"name":"X"}`); code != http.StatusCreated {
			t.Errorf("create app with Content-Type %q: %d %s, want 201", ct, code, body)
		}
		if code, body := rawCall(t, "POST", msgURL, env.APIKey, ct, `{"eventType":"a.b","payload":{}}`); code != http.StatusAccepted {
			t.Errorf("create message with Content-Type %q: %d %s, want 202", ct, code, body)
		}
	}
}

// TestAuth_FutureIssuedAtRefused: a correctly signed tenant JWT whose iat
// lies in the future beyond the clock leeway is refused (401); one within
// the leeway passes. Such a token would outlive every revoke-tokens until
// its iat passed.
func TestAuth_FutureIssuedAtRefused(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	mint := func(iat time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Issuer: "hookline", Subject: env.TenantID, Audience: jwt.ClaimStrings{"hookline-api"},
			IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(time.Now().Add(2 * 365 * 24 * time.Hour)),
		}).SignedString([]byte(testenv.JWTSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, ahead := range []time.Duration{365 * 24 * time.Hour, time.Hour, 2 * time.Minute} {
		if code, body := call(t, env.URL, "GET", "/api/v1/app", mint(time.Now().Add(ahead)), ""); code != http.StatusUnauthorized {
			t.Errorf("iat %s ahead: %d %s, want 401", ahead, code, body)
		}
	}
	for _, ahead := range []time.Duration{0, 10 * time.Second, -time.Hour} {
		if code, body := call(t, env.URL, "GET", "/api/v1/app", mint(time.Now().Add(ahead)), ""); code != http.StatusOK {
			t.Errorf("iat %s ahead: %d %s, want 200", ahead, code, body)
		}
	}
}

// TestHeaders_NosniffAndFrameAncestors: every answer carries
// X-Content-Type-Options: nosniff (JSON, errors, unknown routes, the
// portal's and the console's pages), and every HTML page a
// frame-ancestors policy, the portal's bootstrap page included.
func TestHeaders_NosniffAndFrameAncestors(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Console: true})
	get := func(path, token string) *http.Response {
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, r := range []struct{ path, token string }{
		{"/api/v1/app", env.APIKey}, {"/api/v1/app", ""}, {"/api/v1/no-such-route", env.APIKey}, {"/api/v1/health", ""},
		{"/portal/", ""}, {"/portal/o/" + env.TenantID + "/", ""}, {"/portal/assets/app.js", ""}, {"/console/", ""},
	} {
		resp := get(r.path, r.token)
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q, want nosniff", r.path, resp.StatusCode, got)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			if csp := strings.Join(resp.Header.Values("Content-Security-Policy"), "; "); !strings.Contains(csp, "frame-ancestors") {
				t.Errorf("GET %s: HTML without frame-ancestors; CSP %q", r.path, csp)
			}
		}
	}
	if ct := get("/portal/", "").Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("the portal's bootstrap page is %q, not HTML: the frame-ancestors check above did not run", ct)
	}
}
