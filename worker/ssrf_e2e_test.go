package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// TestSSRF_EveryAddressForm runs with the default configuration (private
// targets not allowed; the name carries "SSRF" so the test stack keeps
// that default) against real receivers on 127.0.0.1 and [::1]. The API
// refuses, with a 422 on url, an endpoint aimed at them in every spelling,
// at create, PUT and PATCH. Endpoints already stored with such URLs (made
// while private targets were allowed, or names that resolve to loopback,
// such as localhost) are refused at dial time: the attempt is recorded as
// blocked and neither receiver gets anything. The only change from the
// defaults is no retries (RetrySchedule empty), so each endpoint has
// exactly one attempt to wait for.
func TestSSRF_EveryAddressForm(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{RetrySchedule: []time.Duration{}})
	ctx := context.Background()
	v4 := newReceiver(t, nil) // 127.0.0.1
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("IPv6 loopback: %v", err)
	}
	v6 := newReceiver(t, nil)
	v6.Close()
	v6.Server = httptest.NewUnstartedServer(v6.Config.Handler)
	v6.Listener.Close()
	v6.Listener = ln
	v6.Start()
	p4 := v4.URL[strings.LastIndex(v4.URL, ":")+1:]
	p6 := v6.URL[strings.LastIndex(v6.URL, ":")+1:]

	forms := []string{
		"http://127.0.0.1:" + p4 + "/h", "http://127.0.0.1.:" + p4 + "/h", "http://127.1:" + p4 + "/h",
		"http://2130706433:" + p4 + "/h", "http://0x7f000001:" + p4 + "/h", "http://0x7f.0.0.1:" + p4 + "/h",
		"http://0177.0.0.1:" + p4 + "/h", "http://0.0.0.0:" + p4 + "/h", "http://localhost:" + p4 + "/h",
		"http://LocalHost.:" + p4 + "/h", "http://[::ffff:127.0.0.1]:" + p4 + "/h", "http://[::ffff:7f00:1]:" + p4 + "/h",
		"http://[::127.0.0.1]:" + p4 + "/h", "http://[64:ff9b::7f00:1]:" + p4 + "/h", "http://[2002:7f00:1::]:" + p4 + "/h",
		"http://[::ffff:0:127.0.0.1]:" + p4 + "/h",
		"http://[::1]:" + p6 + "/h", "http://[::1%25lo]:" + p6 + "/h", "http://[::1%251]:" + p6 + "/h",
		"http://[0:0:0:0:0:0:0:1]:" + p6 + "/h", "http://[::]:" + p6 + "/h", "http://[fe80::1%25lo]:" + p6 + "/h",
		"http://[fd00::1%25eth0]:" + p6 + "/h",
		// Unicode spellings that IDNA (as net/http applies it before
		// dialling) maps to loopback, link-local or localhost.
		"http://127。0。0。1:" + p4 + "/h", "http://１２７.０.０.１:" + p4 + "/h", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:" + p4 + "/h",
		"http://①②⑦.⓪.⓪.①:" + p4 + "/h", "http://169。254。169。254/latest/meta-data/",
		"http://127%E3%80%820%E3%80%820%E3%80%821:" + p4 + "/h",
		// Ports out of range or empty: every attempt would fail.
		"http://hooks.test:0/h", "http://hooks.test:65536/h", "http://hooks.test:99999999999999999999/h", "http://hooks.test:/h",
	}
	// An endpoint stored while private targets were allowed, to update.
	old, err := env.Store.CreateEndpoint(ctx, env.TenantID, appID, tenants.EndpointInput{URL: "http://127.0.0.1:9/old", Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	opEp, err := c.OperationalWebhookEndpoint.Create(ctx, models.OperationalWebhookEndpointIn{Url: "https://hooks.test/op", Disabled: ptr(true)} /* disabled: no event may go to an outside name */, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range forms {
		body, _ := json.Marshal(map[string]string{"url": u})
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/v1/app/" + appID + "/endpoint"},
			{"PUT", "/api/v1/app/" + appID + "/endpoint/" + old.ID},
			{"PATCH", "/api/v1/app/" + appID + "/endpoint/" + old.ID},
			{"PUT", "/api/v1/app/" + appID + "/endpoint/new-uid"},
			{"POST", "/api/v1/operational-webhook/endpoint"},
			{"PUT", "/api/v1/operational-webhook/endpoint/" + opEp.Id},
		} {
			code, loc := apiCall(t, env.URL, env.APIKey, req.method, req.path, string(body))
			if code != http.StatusUnprocessableEntity || !slices.Equal(loc, []string{"body", "url"}) {
				t.Errorf("%s %s with url %s: %d loc %v, want 422 on body.url", req.method, req.path, u, code, loc)
			}
		}
	}
	if eps, err := env.Store.FindEndpoints(ctx, env.TenantID, appID, tenants.ListParams{}); err != nil || len(eps.Items) != 1 || eps.Items[0].URL != old.URL {
		t.Fatalf("endpoints after refused requests: %+v %v; want only the old one, unchanged", eps.Items, err)
	}
	if got, err := c.OperationalWebhookEndpoint.Get(ctx, opEp.Id); err != nil || got.Url != opEp.Url {
		t.Fatalf("operational endpoint after refused requests: %+v %v; want it unchanged", got, err)
	}

	// Stored behind the API's back: the dialer is the last line.
	dialTime := []string{
		"http://localhost:" + p4 + "/h", "http://127.0.0.1:" + p4 + "/h", "http://0.0.0.0:" + p4 + "/h",
		"http://[::ffff:127.0.0.1]:" + p4 + "/h", "http://[::1]:" + p6 + "/h", "http://[::1%25lo]:" + p6 + "/h",
		"http://[::]:" + p6 + "/h", "http://127。0。0。1:" + p4 + "/h",
	}
	for _, u := range dialTime {
		if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, appID, tenants.EndpointInput{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	m := send(t, c, appID, "a.b", nil)
	waitFor(t, 15*time.Second, "an attempt per endpoint", func() bool { return len(attemptsOf(t, c, appID, m.Id)) == len(dialTime) })
	seen := map[string]bool{}
	for _, a := range attemptsOf(t, c, appID, m.Id) {
		full, err := c.MessageAttempt.Get(ctx, appID, m.Id, a.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[full.Url] = true
		if full.Status != models.MESSAGESTATUS_FAIL || full.ResponseStatusCode != 0 ||
			!strings.Contains(full.Response, "refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)") {
			t.Errorf("attempt to %s: status %v code %d response %q; want blocked by the SSRF guard", full.Url, full.Status, full.ResponseStatusCode, full.Response)
		}
	}
	if len(seen) != len(dialTime) {
		t.Errorf("attempts went to %d distinct URLs, want %d: %v", len(seen), len(dialTime), seen)
	}
	if n4, n6 := len(v4.requests()), len(v6.requests()); n4 != 0 || n6 != 0 {
		t.Errorf("receivers were reached: 127.0.0.1 %d times, [::1] %d times", n4, n6)
	}
}

// apiCall sends one request with an API key and returns the status and,
// for a 422, the loc of its first detail.
func apiCall(t *testing.T, base, key, method, path, body string) (int, []string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Detail []struct {
			Loc []string `json:"loc"`
		} `json:"detail"`
	}
	if json.Unmarshal(b, &out) == nil && len(out.Detail) > 0 {
		return resp.StatusCode, out.Detail[0].Loc
	}
	return resp.StatusCode, nil
}
