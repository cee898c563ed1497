package operational_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestOperational_CertificateExpiring: an mTLS identity that expires
// within 14 days is announced once (endpoint.certificate_expiring, with
// its subject and expiry); one that expires later is not; a replacement
// that expires soon is announced again.
func TestOperational_CertificateExpiring(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	_, secret := opEndpoint(t, c, ops, operational.EndpointCertificateExpiring)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer", Uid: ptr("cust")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "CA", CA: true, NotAfter: time.Now().Add(365 * 24 * time.Hour)})
	soon := testcerts.New(t, &ca, testcerts.Options{CommonName: "soon", Client: true, NotAfter: time.Now().Add(5 * 24 * time.Hour)})
	later := testcerts.New(t, &ca, testcerts.Options{CommonName: "later", Client: true, NotAfter: time.Now().Add(30 * 24 * time.Hour)})
	setIdentity := func(epID string, cert testcerts.Cert) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"identity": cert.IdentityPEM()})
		if code, body := testenv.Call(t, env.URL, "PUT", "/api/v1/app/"+app.Id+"/endpoint/"+epID+"/mtls", env.APIKey, string(b)); code != 204 {
			t.Fatalf("PUT mtls: %d %s", code, body)
		}
	}
	epSoon, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/a", Uid: ptr("soon")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	epLater, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	setIdentity(epSoon.Id, soon)
	setIdentity(epLater.Id, later)

	n := operational.NewNotifier(env.Store, env.Operational, env.Log, operational.Options{})
	if got, err := n.CheckCertificates(ctx, env.Store, time.Now()); err != nil || got != 1 {
		t.Fatalf("CheckCertificates = %d, %v; want 1", got, err)
	}
	waitFor(t, 10*time.Second, "endpoint.certificate_expiring", func() bool {
		return len(ops.events(t, secret, operational.EndpointCertificateExpiring)) == 1
	})
	var ev struct {
		Type string
		Data operational.CertificateData
	}
	if err := json.Unmarshal(ops.events(t, secret, operational.EndpointCertificateExpiring)[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if d.AppID != app.Id || d.AppUID == nil || *d.AppUID != "cust" || d.EndpointID != epSoon.Id || d.EndpointUID == nil ||
		d.Kind != tenants.CertClientIdentity || d.Subject != soon.Cert.Subject.String() || !d.NotAfter.Equal(soon.Cert.NotAfter.UTC()) {
		t.Errorf("event data = %+v", d)
	}
	// Announced once.
	if got, err := n.CheckCertificates(ctx, env.Store, time.Now()); err != nil || got != 0 {
		t.Errorf("second check = %d, %v; want 0", got, err)
	}
	// A replacement that also expires soon is news.
	sooner := testcerts.New(t, &ca, testcerts.Options{CommonName: "sooner", Client: true, NotAfter: time.Now().Add(3 * 24 * time.Hour)})
	setIdentity(epSoon.Id, sooner)
	if got, err := n.CheckCertificates(ctx, env.Store, time.Now()); err != nil || got != 1 {
		t.Errorf("check after replacing = %d, %v; want 1", got, err)
	}
	// Three weeks on, the other one is due too.
	if got, err := n.CheckCertificates(ctx, env.Store, time.Now().Add(21*24*time.Hour)); err != nil || got != 1 {
		t.Errorf("check three weeks on = %d, %v; want 1", got, err)
	}
}
