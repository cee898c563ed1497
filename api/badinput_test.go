package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestBadInput sends malformed and invalid requests: each must get a clear
// 4xx in the contract's shape (422 with the offending field's loc), never a
// 500, and must change nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "x", UID: ptr("app1")})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"eventType":"a.b","payload":{"k":"` + strings.Repeat("x", 1<<20) + `"}}`
	huge := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string   // for {"code","detail"} bodies
		loc                      []string // for 422 bodies
	}{
		{"MalformedJSON", "POST", "/api/v1/app", `{"name": "x"`, 422, "", []string{"body"}},
		{"NotAnObject", "POST", "/api/v1/app", `["x"]`, 422, "", []string{"body"}},
		{"EmptyBody", "POST", "/api/v1/app", ``, 422, "", []string{"body"}},
		{"MissingName", "POST", "/api/v1/app", `{"uid":"u1"}`, 422, "", []string{"body", "name"}},
		{"WrongType", "POST", "/api/v1/app", `{"name": 5}`, 422, "", []string{"body", "name"}},
		{"BadUID", "POST", "/api/v1/app", `{"name":"x","uid":"has space"}`, 422, "", []string{"body", "uid"}},
		{"UIDWithIDPrefix", "POST", "/api/v1/app", `{"name":"x","uid":"app_123"}`, 422, "", []string{"body", "uid"}},
		{"MetadataTooBig", "POST", "/api/v1/app", `{"name":"x","metadata":{"k":"` + strings.Repeat("m", 5000) + `"}}`, 422, "", []string{"body", "metadata"}},
		{"BadThrottle", "POST", "/api/v1/app", `{"name":"x","throttleRate":0}`, 422, "", []string{"body", "throttleRate"}},
		{"BodyOverLimit", "POST", "/api/v1/app", huge, 413, "payload_too_large", nil},
		{"MissingURL", "POST", "/api/v1/app/app1/endpoint", `{"description":"d"}`, 422, "", []string{"body", "url"}},
		{"BadURLScheme", "POST", "/api/v1/app/app1/endpoint", `{"url":"ftp://127.0.0.1:9/x"}`, 422, "", []string{"body", "url"}},
		{"URLWithoutHost", "POST", "/api/v1/app/app1/endpoint", `{"url":"https:///x"}`, 422, "", []string{"body", "url"}},
		{"UnknownEventType", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9","filterTypes":["nope"]}`, 422, "", []string{"body", "eventTypes"}},
		{"TooManyChannels", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9","channels":["1","2","3","4","5","6","7","8","9","10","11"]}`, 422, "", []string{"body", "channels"}},
		{"BadSecret", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9","secret":"whsec_short"}`, 422, "", []string{"body", "secret"}},
		{"ForbiddenHeader", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9","headers":{"svix-id":"x"}}`, 422, "", []string{"body", "headers", "svix-id"}},
		{"LimitOver250", "GET", "/api/v1/app?limit=251", ``, 422, "", []string{"query", "limit"}},
		{"LimitNotANumber", "GET", "/api/v1/app?limit=ten", ``, 422, "", []string{"query", "limit"}},
		{"BadOrder", "GET", "/api/v1/app?order=sideways", ``, 422, "", []string{"query", "order"}},
		{"UnknownApp", "GET", "/api/v1/app/app_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", ``, 404, "not_found", nil},
		{"UnknownAppUID", "GET", "/api/v1/app/no-such-app", ``, 404, "not_found", nil},
		{"UnknownEndpoint", "GET", "/api/v1/app/app1/endpoint/ep_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", ``, 404, "not_found", nil},
		{"UnknownRoute", "GET", "/api/v1/nothing-here", ``, 404, "not_found", nil},
		{"MessageWithoutEventType", "POST", "/api/v1/app/app1/msg", `{"payload":{}}`, 422, "", []string{"body", "eventType"}},
		{"PayloadNotObject", "POST", "/api/v1/app/app1/msg", `{"eventType":"a.b","payload":[1,2]}`, 422, "", []string{"body", "payload"}},
		{"PayloadOverLimit", "POST", "/api/v1/app/app1/msg", big, 413, "payload_too_large", nil},
		{"BadBefore", "GET", "/api/v1/app/app1/msg?before=yesterday", ``, 422, "", []string{"query", "before"}},
		{"GraceTooLong", "POST", "/api/v1/app/app1/endpoint/ep_2Ug6JqzK8ODiTcjjwTnnbxbxqDh/secret/rotate", `{"gracePeriodSeconds":9999999}`, 422, "", []string{"body", "gracePeriodSeconds"}},
		{"EventTypeWithoutDescription", "POST", "/api/v1/event-type", `{"name":"a.b"}`, 422, "", []string{"body", "description"}},
		{"TrailingSlashTolerated", "GET", "/api/v1/app/app1/", ``, 200, "", nil},
		{"UnknownFieldsIgnored", "POST", "/api/v1/app", `{"name":"ok","whatever":{"x":1}}`, 201, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, env.URL, tc.method, tc.path, env.APIKey, tc.body)
			if code != tc.status {
				t.Fatalf("status = %d, want %d; body %.300s", code, tc.status, body)
			}
			if code < 400 {
				return
			}
			gotCode, gotLoc := decodeError(t, body)
			if tc.code != "" && gotCode != tc.code {
				t.Errorf("code = %q, want %q; body %.300s", gotCode, tc.code, body)
			}
			if tc.loc != nil && !slices.Equal(gotLoc, tc.loc) {
				t.Errorf("loc = %v, want %v; body %.300s", gotLoc, tc.loc, body)
			}
		})
	}
	// Nothing invalid was stored.
	pg, err := env.Store.FindApplications(ctx, env.TenantID, tenants.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Items) != 2 { // app1 and "ok"
		t.Errorf("%d applications stored, want 2", len(pg.Items))
	}
	if eps, _ := env.Store.FindEndpoints(ctx, env.TenantID, app.ID, tenants.ListParams{}); len(eps.Items) != 0 {
		t.Errorf("%d endpoints stored by invalid requests", len(eps.Items))
	}
}

// TestAuth covers every way a credential can be refused.
func TestAuth(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	secret := []byte(testenv.JWTSecret)
	expired := sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": env.TenantID, "exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})
	future := sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": env.TenantID, "nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()})
	hs512 := sign(jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": env.TenantID, "exp": now.Add(time.Hour).Unix()})
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": env.TenantID, "exp": now.Add(time.Hour).Unix()})
	otherKey := sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), jwt.MapClaims{"sub": env.TenantID, "exp": now.Add(time.Hour).Unix()})
	svixStyle := sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": env.TenantID, "iss": "svix-server", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix()})
	notTenant := sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "user_1", "exp": now.Add(time.Hour).Unix()})

	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"Missing", "", 401},
		{"NotBearer", "Basic dXNlcjpwYXNz", 401},
		{"UnknownKey", "Bearer sk_nope", 401},
		{"Garbage", "Bearer not.a.jwt", 401},
		{"Expired", "Bearer " + expired, 401},
		{"NotYetValid", "Bearer " + future, 401},
		{"WrongAlgorithm", "Bearer " + hs512, 401},
		{"AlgNone", "Bearer " + none, 401},
		{"WrongKey", "Bearer " + otherKey, 401},
		{"SubjectNotATenant", "Bearer " + notTenant, 401},
		{"ValidKey", "Bearer " + env.APIKey, 200},
		{"ValidJWT", "Bearer " + env.JWT, 200},
		{"SvixServerStyleJWT", "Bearer " + svixStyle, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", env.URL+"/api/v1/app", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}

	// Revocation and suspension through the operator API take effect at
	// once on this process.
	keys, _ := env.Store.FindAPIKeys(ctx, env.TenantID)
	admin := func(method, path string) (int, string) {
		return call(t, env.URL, method, path, testenv.AdminToken, "")
	}
	if code, body := admin("DELETE", "/admin/v1/tenants/"+env.TenantID+"/api-keys/"+keys[0].ID); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, body := call(t, env.URL, "GET", "/api/v1/app", env.APIKey, ""); code != 401 || !strings.Contains(body, "revoked") {
		t.Errorf("revoked key: %d %s, want 401", code, body)
	}
	if code, _ := admin("POST", "/admin/v1/tenants/"+env.TenantID+"/suspend"); code != 200 {
		t.Fatalf("suspend: %d", code)
	}
	if code, body := call(t, env.URL, "GET", "/api/v1/app", env.JWT, ""); code != 403 {
		t.Errorf("suspended tenant: %d %s, want 403", code, body)
	}
	if code, _ := admin("POST", "/admin/v1/tenants/"+env.TenantID+"/resume"); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	if code, _ := call(t, env.URL, "GET", "/api/v1/app", env.JWT, ""); code != 200 {
		t.Errorf("resumed tenant: %d, want 200", code)
	}
	if code, _ := call(t, env.URL, "GET", "/admin/v1/tenants", "wrong-token", ""); code != 401 {
		t.Errorf("operator API with a wrong token: %d, want 401", code)
	}
	// API keys' last use is recorded, in a batch.
	env.Auth.Flush(ctx)
	keys, _ = env.Store.FindAPIKeys(ctx, env.TenantID)
	if keys[0].LastUsedAt == nil {
		t.Error("last_used_at was not recorded")
	}
}
