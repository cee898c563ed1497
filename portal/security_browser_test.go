package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/internal/testcerts"
)

// TestPortal_EndpointSecurity: a customer with an ed25519 endpoint sees
// its public key (whpk_) and a verification snippet when revealing it;
// sets a client certificate (an expired one is refused at its field), a
// server CA and an OAuth2 client through the endpoint page, and sees each
// one's state; the secrets they typed are stored and never shown back.
func TestPortal_EndpointSecurity(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	const sk = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	const pk = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	ep, err := st.sdk.Endpoint.Create(ctx, st.appID, models.EndpointIn{Url: "https://127.0.0.1:9/secure", Secret: ptr(sk)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Customer CA", CA: true})
	client := testcerts.New(t, &ca, testcerts.Options{CommonName: "portal-client", Client: true})
	expired := testcerts.New(t, &ca, testcerts.Options{CommonName: "old", Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})

	b := browsers.New(t)
	p := b.Tab("portal-security")
	p.Do("open the magic link", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	p.Do("open the endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+ep.Id+`'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #secret-reveal`)))

	// The ed25519 key reads back as its public key, with a snippet.
	p.Do("reveal the key", bt.Click(chromedp.CSS("#secret-reveal")))
	if got := bt.Until[string](p, "see the key", `document.getElementById('secret-value').dataset.revealed === '1' && document.getElementById('secret-value').textContent`); got != pk {
		t.Errorf("revealed %q, want the public key %q", got, pk)
	}
	snippet := bt.Until[string](p, "see the snippet", `!document.getElementById('secret-snippet').hidden && document.getElementById('verify-snippet').textContent`)
	if !strings.Contains(snippet, strings.TrimPrefix(pk, "whpk_")) || !strings.Contains(snippet, "v1a,") || strings.Contains(snippet, "whsk_") {
		t.Errorf("verification snippet:\n%s", snippet)
	}
	p.Shot("ed25519-key")

	// mTLS: an expired certificate is refused at the field; a valid one is
	// shown by subject.
	bt.Until[bool](p, "load the security card", `!!document.getElementById('mtls-form')`)
	p.Do("paste an expired identity", bt.Paste(chromedp.CSS("#mtls-identity"), expired.IdentityPEM()), bt.Click(chromedp.CSS("#mtls-save")))
	if msg := bt.Until[string](p, "see the field error", `(() => { const e = document.getElementById('mtls-identity-error'); return e && !e.hidden && e.textContent; })()`); !strings.Contains(msg, "expired") {
		t.Errorf("identity error = %q", msg)
	}
	p.Do("paste a valid identity",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('mtls-identity').value = ''`),
		bt.Paste(chromedp.CSS("#mtls-identity"), client.IdentityPEM()), bt.Click(chromedp.CSS("#mtls-save")))
	state := bt.Until[string](p, "see the certificate", `document.getElementById('mtls-state')?.dataset.enabled === '1' && document.getElementById('mtls-state').textContent`)
	if !strings.Contains(state, "CN=portal-client") || strings.Contains(state, "PRIVATE") {
		t.Errorf("mTLS state = %q", state)
	}

	// The server CA.
	p.Do("paste the CA", bt.Paste(chromedp.CSS("#ca-cert"), string(ca.CertPEM)), bt.Click(chromedp.CSS("#ca-save")))
	bt.Until[bool](p, "see the custom CA", `document.getElementById('ca-state')?.dataset.custom === '1'`)

	// OAuth2.
	p.Do("fill the OAuth2 form",
		bt.Paste(chromedp.CSS("#oauth-client-id"), "portal-client"),
		bt.Paste(chromedp.CSS("#oauth-client-secret"), "typed-secret"),
		bt.Paste(chromedp.CSS("#oauth-token-url"), "https://93.184.216.34/oauth/token"),
		bt.Paste(chromedp.CSS("#oauth-scopes"), "webhooks read"),
		bt.Click(chromedp.CSS("#oauth-save")))
	oauth := bt.Until[string](p, "see OAuth2 on", `document.getElementById('oauth-state')?.dataset.enabled === '1' && document.getElementById('oauth-state').textContent`)
	if !strings.Contains(oauth, "portal-client") || !strings.Contains(oauth, "93.184.216.34") {
		t.Errorf("OAuth2 state = %q", oauth)
	}
	p.Shot("endpoint-security")
	shown := bt.Eval[string](p, "read the page and its fields", `document.body.innerText + [...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\n')`)
	if strings.Contains(shown, "typed-secret") || strings.Contains(shown, "PRIVATE KEY") {
		t.Error("a secret the customer typed is shown back on the page")
	}

	info, err := st.env.Store.FindEndpointSecurity(ctx, st.env.TenantID, st.appID, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ClientIdentity == nil || !strings.Contains(info.ClientIdentity.Subject, "portal-client") || info.ServerCA == nil ||
		info.OAuth == nil || info.OAuth.ClientID != "portal-client" || strings.Join(info.OAuth.Scopes, " ") != "webhooks read" {
		t.Errorf("stored security = %+v", info)
	}
	b.CheckNoErrors()
}
