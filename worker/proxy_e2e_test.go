package worker_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// testProxy is an HTTP forward proxy on loopback, as Squid or Smokescreen
// would be: CONNECT tunnels for TLS, absolute-URI requests forwarded for
// plain HTTP, Basic credentials required. It records what it was asked.
type testProxy struct {
	*httptest.Server
	mu  sync.Mutex
	log []string
}

func newTestProxy(t testing.TB, user, pass string) *testProxy {
	return newTestProxyTLS(t, user, pass, nil)
}

// newTestProxyTLS is newTestProxy served over TLS with cert when cert is
// not nil (an https:// proxy).
func newTestProxyTLS(t testing.TB, user, pass string, cert *testcerts.Cert) *testProxy {
	p := &testProxy{}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	upstream := &http.Transport{}
	t.Cleanup(upstream.CloseIdleConnections)
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Authorization") != want {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		p.mu.Lock()
		if r.Method == http.MethodConnect {
			p.log = append(p.log, "CONNECT "+r.Host)
		} else {
			p.log = append(p.log, r.Method+" "+r.URL.String())
		}
		p.mu.Unlock()
		if r.Method == http.MethodConnect {
			dst, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				dst.Close()
				return
			}
			_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
			go func() {
				_, _ = io.Copy(dst, buf)
				dst.Close()
			}()
			_, _ = io.Copy(conn, dst)
			conn.Close()
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		resp, err := upstream.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	if cert != nil {
		p.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS()}}
		p.StartTLS()
	} else {
		p.Start()
	}
	t.Cleanup(p.Close)
	return p
}

func (p *testProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func hostOf(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }

// TestEgressProxy_EveryDelivery: with HOOKLINE_EGRESS_PROXY set (with
// credentials), a plain HTTP delivery is forwarded by the proxy, an HTTPS
// delivery with a server CA and an mTLS identity goes through a CONNECT
// tunnel (the handshake still end to end), and the OAuth2 token request
// goes through the proxy too.
func TestEgressProxy_EveryDelivery(t *testing.T) {
	t.Parallel()
	proxy := newTestProxy(t, "hook", "line")
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{
		RetrySchedule: []time.Duration{}, EgressProxy: "http://hook:line@" + hostOf(proxy.URL),
	})})
	plain := newReceiver(t, nil)
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "CA", CA: true})
	secure := newTLSReceiver(t, &ca, &ca)
	client := testcerts.New(t, &ca, testcerts.Options{CommonName: "via-proxy", Client: true})
	ts := newTokenServer(t)

	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: plain.URL + "/plain"}, nil); err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: secure.URL + "/secure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
	for path, v := range map[string]any{
		"/ca":    map[string]any{"cert": string(ca.CertPEM)},
		"/mtls":  map[string]any{"identity": client.IdentityPEM()},
		"/oauth": map[string]any{"grantType": "clientCredentials", "authMethod": "clientSecretBasic", "clientId": "c", "clientSecret": "s", "tokenUrl": ts.URL + "/token"},
	} {
		b, _ := json.Marshal(v)
		if code, body := testenv.Call(t, env.URL, "PUT", base+path, env.APIKey, string(b)); code != 204 {
			t.Fatalf("PUT %s: %d %s", path, code, body)
		}
	}
	m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{"via": "proxy"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both deliveries", func() bool { return len(plain.requests()) == 1 && len(secure.got()) == 1 })
	if got := secure.got(); got[0] != "via-proxy" {
		t.Errorf("the TLS receiver saw client certificate %q", got[0])
	}
	seen := strings.Join(proxy.seen(), "\n")
	for _, want := range []string{
		"POST " + plain.URL + "/plain",
		"CONNECT " + hostOf(secure.URL),
		"POST " + ts.URL + "/token",
	} {
		if !strings.Contains(seen, want) {
			t.Errorf("the proxy was not asked %q; it saw:\n%s", want, seen)
		}
	}
	for _, a := range attemptsOf(t, c, app.Id, m.Id) {
		if a.Status != models.MESSAGESTATUS_SUCCESS {
			t.Errorf("attempt %s: %v %q", a.Id, a.Status, a.Response)
		}
	}
}

// TestEgressProxy_SSRFPrivateTarget: with a proxy set and private targets
// refused, Hookline refuses a private or loopback target itself (literal
// or a name resolving to one) before the proxy is asked; the proxy, on a
// private address itself, is the operator's and allowed.
func TestEgressProxy_SSRFPrivateTarget(t *testing.T) {
	t.Parallel()
	proxy := newTestProxy(t, "u", "p")
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{
		RetrySchedule: []time.Duration{}, EgressProxy: "http://u:p@" + hostOf(proxy.URL),
	})})
	rc := newReceiver(t, nil)
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Stored behind the API's back (it refuses these URLs).
	targets := []string{"http://127.0.0.1:" + port + "/h", "http://localhost:" + port + "/h", "https://127.0.0.1:" + port + "/h", "http://[::1]:" + port + "/h"}
	for _, u := range targets {
		if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.Id, tenants.EndpointInput{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "an attempt per endpoint", func() bool { return len(attemptsOf(t, c, app.Id, m.Id)) == len(targets) })
	for _, a := range attemptsOf(t, c, app.Id, m.Id) {
		full, err := c.MessageAttempt.Get(ctx, app.Id, m.Id, a.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if full.Status != models.MESSAGESTATUS_FAIL || !strings.Contains(full.Response, "refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)") {
			t.Errorf("attempt to %s: %v %q; want refused by the SSRF guard", full.Url, full.Status, full.Response)
		}
	}
	if got := proxy.seen(); len(got) != 0 {
		t.Errorf("the proxy was asked %v", got)
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("the receiver got %d requests", n)
	}
}

// TestEgressProxy_HTTPS: an https:// proxy whose certificate a CA of the
// operator's signed (HOOKLINE_EGRESS_PROXY_CA) carries a delivery to an
// endpoint with a server CA and an mTLS identity of its own: the proxy's
// TLS is checked against the operator's CA, the endpoint's against the
// endpoint's, and the client certificate goes to the endpoint only.
func TestEgressProxy_HTTPS(t *testing.T) {
	t.Parallel()
	opsCA := testcerts.New(t, nil, testcerts.Options{CommonName: "Operator CA", CA: true})
	proxyCert := testcerts.New(t, &opsCA, testcerts.Options{CommonName: "proxy", IPs: testcerts.Loopback()})
	proxy := newTestProxyTLS(t, "u", "p", &proxyCert)
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{
		RetrySchedule: []time.Duration{}, EgressProxy: "https://u:p@" + hostOf(proxy.URL), EgressProxyCA: opsCA.CertPEM,
	})})
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Customer CA", CA: true})
	secure := newTLSReceiver(t, &ca, &ca)
	client := testcerts.New(t, &ca, testcerts.Options{CommonName: "through-https-proxy", Client: true})
	plain := newReceiver(t, nil)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: plain.URL + "/plain"}, nil); err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: secure.URL + "/secure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
	for path, v := range map[string]any{"/ca": map[string]any{"cert": string(ca.CertPEM)}, "/mtls": map[string]any{"identity": client.IdentityPEM()}} {
		b, _ := json.Marshal(v)
		if code, body := testenv.Call(t, env.URL, "PUT", base+path, env.APIKey, string(b)); code != 204 {
			t.Fatalf("PUT %s: %d %s", path, code, body)
		}
	}
	m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both attempts", func() bool { return len(attemptsOf(t, c, app.Id, m.Id)) == 2 })
	for _, a := range attemptsOf(t, c, app.Id, m.Id) {
		if a.Status != models.MESSAGESTATUS_SUCCESS {
			t.Errorf("attempt %s: %v %q", a.Id, a.Status, a.Response)
		}
	}
	if got := secure.got(); len(got) != 1 || got[0] != "through-https-proxy" {
		t.Errorf("the endpoint saw client certificates %v", got)
	}
	seen := strings.Join(proxy.seen(), "\n")
	if !strings.Contains(seen, "CONNECT "+hostOf(secure.URL)) || !strings.Contains(seen, "POST "+plain.URL+"/plain") {
		t.Errorf("the proxy saw:\n%s", seen)
	}
}
