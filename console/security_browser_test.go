package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/testenv"
)

// TestConsole_EndpointSecurity: from an application's page the tenant
// opens an endpoint's connection security, sets a client certificate and
// a server CA, and sees them; the store holds them.
func TestConsole_EndpointSecurity(t *testing.T) {
	env := testenv.New(t, testenv.Options{Console: true})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: "Acme Corp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "https://127.0.0.1:9/secure"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Console CA", CA: true})
	client := testcerts.New(t, &ca, testcerts.Options{CommonName: "console-client", Client: true})

	b := browsers.New(t)
	p := b.Tab("console-security")
	p.Do("open the console link", chromedp.Navigate(consoleLink(t, env, env.TenantID)), chromedp.WaitVisible(sel(`main[data-page]`)))
	p.Do("open the application", chromedp.Evaluate[chromedp.Void](`location.hash = '#/apps/`+app.Id+`'`),
		chromedp.WaitVisible(sel(`#app-endpoints [data-security=`+bt.CSS(ep.Id)+`]`)))
	p.Do("open the endpoint's security", bt.Click(sel(`[data-security=`+bt.CSS(ep.Id)+`]`)),
		chromedp.WaitVisible(sel(`#security-dialog #mtls-form`)))
	p.Do("set the client certificate", bt.Paste(sel("#security-dialog #mtls-identity"), client.IdentityPEM()), bt.Click(sel("#security-dialog #mtls-save")))
	if state := bt.Until[string](p, "see the certificate", `document.getElementById('mtls-state')?.dataset.enabled === '1' && document.getElementById('mtls-state').textContent`); !strings.Contains(state, "CN=console-client") {
		t.Errorf("mTLS state = %q", state)
	}
	p.Do("set the CA", bt.Paste(sel("#security-dialog #ca-cert"), string(ca.CertPEM)), bt.Click(sel("#security-dialog #ca-save")))
	bt.Until[bool](p, "see the custom CA", `document.getElementById('ca-state')?.dataset.custom === '1'`)
	p.Shot("endpoint-security")
	info, err := env.Store.FindEndpointSecurity(ctx, env.TenantID, app.Id, ep.Id)
	if err != nil || info.ClientIdentity == nil || !strings.Contains(info.ClientIdentity.Subject, "console-client") || info.ServerCA == nil {
		t.Errorf("stored security = %+v, %v", info, err)
	}
	b.CheckNoErrors()
}
