package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// tokenServer is an OAuth2 authorization server on loopback: it issues
// numbered access tokens to one client and records each token request.
type tokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []tokenRequest
	issued   int
	failing  bool
}

type tokenRequest struct {
	form   map[string]string
	header http.Header
	basic  [2]string // user, password of Basic auth; empty without
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		req := tokenRequest{form: map[string]string{}, header: r.Header.Clone()}
		for k := range r.PostForm {
			req.form[k] = r.PostForm.Get(k)
		}
		if u, p, ok := r.BasicAuth(); ok {
			req.basic = [2]string{u, p}
		}
		ts.mu.Lock()
		ts.requests = append(ts.requests, req)
		ts.issued++
		n, failing := ts.issued, ts.failing
		ts.mu.Unlock()
		if failing {
			http.Error(w, `{"error":"server_error"}`, 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) got() []tokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]tokenRequest(nil), ts.requests...)
}

// TestOAuth_ClientCredentials: an endpoint with an OAuth2 client
// (clientSecretBasic, scopes, extra params and headers) receives every
// webhook with "Authorization: Bearer" and a token fetched once for many
// messages; when the receiver revokes the token, the next attempt gets a
// 401, fetches a new token and succeeds within the same attempt. The
// secret is sealed and never read back.
func TestOAuth_ClientCredentials(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{RetrySchedule: []time.Duration{}})})
	ts := newTokenServer(t)
	var (
		mu      sync.Mutex
		valid   = map[string]bool{"tok-1": true}
		auths   []string
		refused int
	)
	rc := newReceiver(t, func(_ string, _ int, r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		a := r.Header.Get("Authorization")
		auths = append(auths, a)
		if !valid[strings.TrimPrefix(a, "Bearer ")] {
			refused++
			return 401
		}
		return 204
	})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
	cfg := `{"grantType":"clientCredentials","authMethod":"clientSecretBasic","clientId":"hookline","clientSecret":"s3cret-value",
		"tokenUrl":"` + ts.URL + `/token","scopes":["webhooks","write"],"extraParams":{"audience":"hooks"},"extraHeaders":{"X-Tenant":"t1"}}`
	if code, body := testenv.Call(t, env.URL, "PUT", base+"/oauth", env.APIKey, cfg); code != 204 {
		t.Fatalf("PUT oauth: %d %s", code, body)
	}
	for _, path := range []string{"/oauth", "/oauth-config"} {
		code, body := testenv.Call(t, env.URL, "GET", base+path, env.APIKey, "")
		if code != 200 || strings.Contains(body, "s3cret") || !strings.Contains(body, `"clientId":"hookline"`) || !strings.Contains(body, ts.URL) {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	var sealed []byte
	if err := env.SQL.QueryRow(ctx, `SELECT oauth_sealed FROM endpoint_security WHERE endpoint_id = $1`, ep.Id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "s3cret") || strings.Contains(string(sealed), "hookline") {
		t.Error("the OAuth2 client is not sealed at rest")
	}

	const n = 20
	for i := range n {
		if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{"i": i}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "20 webhooks", func() bool { return len(rc.requests()) == n })
	mu.Lock()
	for _, a := range auths {
		if a != "Bearer tok-1" {
			t.Errorf("Authorization = %q, want Bearer tok-1", a)
		}
	}
	mu.Unlock()
	reqs := ts.got()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests for %d messages, want 1", len(reqs), n)
	}
	r := reqs[0]
	if r.basic != [2]string{"hookline", "s3cret-value"} || r.form["grant_type"] != "client_credentials" || r.form["scope"] != "webhooks write" ||
		r.form["audience"] != "hooks" || r.form["client_secret"] != "" || r.header.Get("X-Tenant") != "t1" {
		t.Errorf("token request: basic %v form %v X-Tenant %q", r.basic, r.form, r.header.Get("X-Tenant"))
	}

	// The receiver revokes tok-1: one 401, a new token, the same attempt
	// succeeds.
	mu.Lock()
	valid = map[string]bool{"tok-2": true}
	mu.Unlock()
	m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{"i": "after"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := firstAttempt(t, c, app.Id, m.Id)
	if a.Status != models.MESSAGESTATUS_SUCCESS || a.ResponseStatusCode != 204 {
		t.Errorf("attempt after revocation: %v %d %q, want a success", a.Status, a.ResponseStatusCode, a.Response)
	}
	if got := len(ts.got()); got != 2 {
		t.Errorf("%d token requests after one 401, want 2", got)
	}
	mu.Lock()
	if refused != 1 || auths[len(auths)-1] != "Bearer tok-2" {
		t.Errorf("refused %d, last Authorization %q; want one 401, then tok-2", refused, auths[len(auths)-1])
	}
	mu.Unlock()
	if l, _ := c.MessageAttempt.ListByMsg(ctx, app.Id, m.Id, nil); l == nil || len(l.Data) != 1 {
		t.Errorf("attempts of the message: %+v, want 1", l)
	}

	// A token server that fails makes the attempt fail, saying why.
	ts.mu.Lock()
	ts.failing = true
	ts.mu.Unlock()
	if code, body := testenv.Call(t, env.URL, "PUT", base+"/oauth", env.APIKey, cfg); code != 204 { // a new revision: a new token
		t.Fatalf("PUT oauth again: %d %s", code, body)
	}
	m, err = c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{"i": "fail"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := firstAttempt(t, c, app.Id, m.Id); a.Status == models.MESSAGESTATUS_SUCCESS || !strings.Contains(a.Response, "oauth2 token") {
		t.Errorf("attempt with a failing token server: %v %q", a.Status, a.Response)
	}

	// Without OAuth2, no Authorization header.
	if code, body := testenv.Call(t, env.URL, "DELETE", base+"/oauth", env.APIKey, ""); code != 204 {
		t.Fatalf("DELETE oauth: %d %s", code, body)
	}
	if code, body := testenv.Call(t, env.URL, "GET", base+"/oauth-config", env.APIKey, ""); code != 200 || !strings.Contains(body, `"enabled":false`) {
		t.Errorf("GET oauth-config after DELETE: %d %s", code, body)
	}
}

// TestOAuth_RefreshTokenPost: the refreshToken grant with
// clientSecretPost sends the refresh token and the client's secret in the
// body.
func TestOAuth_RefreshTokenPost(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	ts := newTokenServer(t)
	rc := newReceiver(t, nil)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := `{"grantType":"refreshToken","authMethod":"clientSecretPost","clientId":"hl","clientSecret":"pst","refreshToken":"rt-1","tokenUrl":"` + ts.URL + `/token"}`
	if code, body := testenv.Call(t, env.URL, "PUT", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id+"/oauth", env.APIKey, cfg); code != 204 {
		t.Fatalf("PUT oauth: %d %s", code, body)
	}
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the webhook", func() bool { return len(rc.requests()) == 1 })
	if a := rc.requests()[0].Header.Get("Authorization"); a != "Bearer tok-1" {
		t.Errorf("Authorization = %q", a)
	}
	r := ts.got()[0]
	if r.form["grant_type"] != "refresh_token" || r.form["refresh_token"] != "rt-1" || r.form["client_id"] != "hl" || r.form["client_secret"] != "pst" || r.basic[0] != "" {
		t.Errorf("token request: form %v basic %v", r.form, r.basic)
	}
}

// TestOAuth_BadInputSSRF: an unknown grant or method, clientSecretJwt, a
// missing secret and (where private targets are refused) a token URL on a
// private address are 422s naming the field.
func TestOAuth_BadInputSSRF(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://93.184.216.34/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"grantType": "clientCredentials", "authMethod": "clientSecretBasic", "clientId": "c", "clientSecret": "s", "tokenUrl": "https://93.184.216.35/token"}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct{ name, body, field string }{
		{"Grant", with("grantType", "password"), "grantType"},
		{"Method", with("authMethod", "none"), "authMethod"},
		{"JWT", with("authMethod", "clientSecretJwt"), "authMethod"},
		{"NoSecret", with("clientSecret", nil), "clientSecret"},
		{"NoClient", with("clientId", nil), "clientId"},
		{"PrivateTokenURL", with("tokenUrl", "http://127.0.0.1:8080/token"), "tokenUrl"},
		{"MetadataTokenURL", with("tokenUrl", "http://169.254.169.254/token"), "tokenUrl"},
		{"NotURL", with("tokenUrl", "ftp://x"), "tokenUrl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := testenv.Call(t, env.URL, "PUT", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id+"/oauth", env.APIKey, tc.body)
			if _, loc := testenv.DecodeError(t, body); code != 422 || strings.Join(loc, ".") != "body."+tc.field {
				t.Errorf("%d %s; want 422 at body.%s", code, body, tc.field)
			}
		})
	}
	if code, body := testenv.Call(t, env.URL, "PUT", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id+"/oauth", env.APIKey, with("clientId", "c")); code != 204 {
		t.Errorf("a valid public token URL: %d %s", code, body)
	}
}
