package worker_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// tlsReceiver is an HTTPS server on 127.0.0.1 whose certificate a test CA
// signed, and which requires a client certificate another (or the same)
// CA signed. It records the client certificates' common names.
type tlsReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	clients []string
}

func newTLSReceiver(t *testing.T, serverCA, clientCA *testcerts.Cert) *tlsReceiver {
	t.Helper()
	cert := testcerts.New(t, serverCA, testcerts.Options{CommonName: "receiver", IPs: testcerts.Loopback()})
	rc := &tlsReceiver{}
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.clients = append(rc.clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		rc.mu.Unlock()
		w.WriteHeader(204)
	}))
	rc.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS()}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool()}
	rc.StartTLS()
	t.Cleanup(rc.Close)
	return rc
}

func (rc *tlsReceiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.clients...)
}

// firstAttempt waits for the first recorded attempt of msgID and returns
// it.
func firstAttempt(t *testing.T, c *svix.Svix, appID, msgID string) models.MessageAttemptOut {
	t.Helper()
	var a models.MessageAttemptOut
	waitFor(t, 15*time.Second, "an attempt of "+msgID, func() bool {
		l, err := c.MessageAttempt.ListByMsg(context.Background(), appID, msgID, nil)
		if err != nil || len(l.Data) == 0 {
			return false
		}
		a = l.Data[len(l.Data)-1]
		return true
	})
	return a
}

// TestMTLS_IdentityAndServerCA: against an HTTPS receiver whose
// certificate a private CA signed and which requires a client
// certificate, delivery fails until the endpoint's server CA is set
// (…/ca), fails the handshake while it has no identity, succeeds with the
// identity (…/mtls) the receiver asked for, and fails again once the
// identity is deleted. GET shows the certificate's subject and expiry,
// never its key, which is sealed at rest.
func TestMTLS_IdentityAndServerCA(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{RetrySchedule: []time.Duration{}})})
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Test CA", CA: true})
	rc := newTLSReceiver(t, &ca, &ca)
	client := testcerts.New(t, &ca, testcerts.Options{CommonName: "hookline-client", Client: true})

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
	call := func(method, path string, body any) (int, string) {
		t.Helper()
		b := ""
		if body != nil {
			j, _ := json.Marshal(body)
			b = string(j)
		}
		return testenv.Call(t, env.URL, method, base+path, env.APIKey, b)
	}
	send := func(n int) string {
		t.Helper()
		m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "e", Payload: map[string]any{"n": n}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m.Id
	}

	// The system pool does not know the private CA.
	a := firstAttempt(t, c, app.Id, send(1))
	if a.Status == models.MESSAGESTATUS_SUCCESS || !strings.Contains(a.Response, "certificate") {
		t.Errorf("without the CA: %v %q, want a certificate failure", a.Status, a.Response)
	}
	if code, body := call("PUT", "/ca", map[string]any{"cert": string(ca.CertPEM)}); code != 204 {
		t.Fatalf("PUT ca: %d %s", code, body)
	}
	if code, body := call("GET", "/ca", nil); code != 200 || !strings.Contains(body, "BEGIN CERTIFICATE") {
		t.Errorf("GET ca: %d %s", code, body)
	}
	// Trusted now, but the receiver wants a client certificate.
	a = firstAttempt(t, c, app.Id, send(2))
	if a.Status == models.MESSAGESTATUS_SUCCESS {
		t.Errorf("without an identity the receiver accepted the request")
	}
	if code, body := call("GET", "/mtls-config", nil); code != 200 || !strings.Contains(body, `"enabled":false`) {
		t.Errorf("GET mtls-config before: %d %s", code, body)
	}

	if code, body := call("PUT", "/mtls", map[string]any{"identity": client.IdentityPEM()}); code != 204 {
		t.Fatalf("PUT mtls: %d %s", code, body)
	}
	a = firstAttempt(t, c, app.Id, send(3))
	if a.Status != models.MESSAGESTATUS_SUCCESS {
		t.Fatalf("with the identity: %v %q", a.Status, a.Response)
	}
	if got := rc.got(); len(got) != 1 || got[0] != "hookline-client" {
		t.Errorf("the receiver saw client certificates %v", got)
	}
	code, body := call("GET", "/mtls", nil)
	var info struct {
		Subject  string    `json:"subject"`
		NotAfter time.Time `json:"notAfter"`
	}
	_ = json.Unmarshal([]byte(body), &info)
	if code != 200 || !strings.Contains(info.Subject, "CN=hookline-client") || !info.NotAfter.Equal(client.Cert.NotAfter.UTC()) || strings.Contains(body, "PRIVATE") {
		t.Errorf("GET mtls: %d %s", code, body)
	}
	var sealed []byte
	if err := env.SQL.QueryRow(ctx, `SELECT mtls_sealed FROM endpoint_security WHERE endpoint_id = $1`, ep.Id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || strings.Contains(string(sealed), "PRIVATE KEY") || strings.Contains(string(sealed), "BEGIN") {
		t.Errorf("the identity is not sealed at rest (%d bytes)", len(sealed))
	}

	if code, body := call("DELETE", "/mtls", nil); code != 204 {
		t.Fatalf("DELETE mtls: %d %s", code, body)
	}
	a = firstAttempt(t, c, app.Id, send(4))
	if a.Status == models.MESSAGESTATUS_SUCCESS {
		t.Errorf("after DELETE mtls the receiver still accepted the request")
	}
	if code, _ := call("GET", "/mtls", nil); code != 404 {
		t.Errorf("GET mtls after DELETE: %d, want 404", code)
	}
	// Back to the system pool.
	if code, body := call("PUT", "/ca", map[string]any{"cert": nil}); code != 204 {
		t.Fatalf("PUT ca null: %d %s", code, body)
	}
	if code, body := call("GET", "/ca", nil); code != 200 || body != `{"cert":null}` {
		t.Errorf("GET ca after null: %d %s", code, body)
	}
}

// TestMTLS_BadInput: a key without its certificate, garbage, a key that
// does not match the certificate, an expired identity and an expired or
// non-certificate CA are 422s naming the field; nothing is stored.
func TestMTLS_BadInput(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Test CA", CA: true})
	good := testcerts.New(t, &ca, testcerts.Options{CommonName: "client", Client: true})
	other := testcerts.New(t, &ca, testcerts.Options{CommonName: "other", Client: true})
	expired := testcerts.New(t, &ca, testcerts.Options{CommonName: "old", Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	expiredCA := testcerts.New(t, nil, testcerts.Options{CommonName: "Old CA", CA: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint/" + ep.Id
	for _, tc := range []struct {
		name, path, body, field, says string
	}{
		{"KeyOnly", "/mtls", jsonString("identity", string(good.KeyPEM)), "identity", "certificate"},
		{"Garbage", "/mtls", jsonString("identity", "not a pem"), "identity", "PEM"},
		{"Mismatch", "/mtls", jsonString("identity", string(other.KeyPEM)+string(good.CertPEM)), "identity", "match"},
		{"Expired", "/mtls", jsonString("identity", expired.IdentityPEM()), "identity", "expired"},
		{"Missing", "/mtls", `{}`, "identity", "required"},
		{"ExpiredCA", "/ca", jsonString("cert", string(expiredCA.CertPEM)), "cert", "expired"},
		{"KeyAsCA", "/ca", jsonString("cert", string(good.KeyPEM)), "cert", "PEM certificates only"},
		{"GarbageCA", "/ca", jsonString("cert", "nope"), "cert", "PEM certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := testenv.Call(t, env.URL, "PUT", base+tc.path, env.APIKey, tc.body)
			gotCode, loc := testenv.DecodeError(t, body)
			if code != 422 || strings.Join(loc, ".") != "body."+tc.field || !strings.Contains(body, tc.says) {
				t.Errorf("%d %s (code %s loc %v); want 422 at body.%s saying %q", code, body, gotCode, loc, tc.field, tc.says)
			}
		})
	}
	var n int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM endpoint_security`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows stored after bad input: %d %v", n, err)
	}
}

func jsonString(field, v string) string {
	b, _ := json.Marshal(map[string]string{field: v})
	return string(b)
}
