package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/testenv"
)

// TestConsole_Transformation: signed in to the console, the tenant opens
// an application, clicks Transform on an endpoint, types a handler into
// the code editor, tests it (the output is shown), saves it switched on,
// and the next message sent through the SDK reaches a real receiver
// transformed. The dialog holds its layout on a desktop and a phone, and
// the console's session cannot reach another tenant's transformation.
func TestConsole_Transformation(t *testing.T) {
	env := testenv.New(t, testenv.Options{Console: true, Worker: true})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: "Acme Corp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	ep, err := sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rcv.srv.URL + "/orders"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tenantB, keyB, _ := env.NewTenant("Tenant B")
	sdkB := env.SDK(keyB)
	appB, err := sdkB.Application.Create(ctx, models.ApplicationIn{Name: "Beta"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	epB, err := sdkB.Endpoint.Create(ctx, appB.Id, models.EndpointIn{Url: rcv.srv.URL + "/beta"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	b := browsers.New(t)
	p := b.Tab("console-transformation")
	p.Do("open the console link", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(consoleLink(t, env, env.TenantID)),
		chromedp.WaitVisible(sel(`main[data-page]`)))
	p.Do("open the application", chromedp.Evaluate[chromedp.Void](`location.hash = '#/apps/`+app.Id+`'`),
		chromedp.WaitVisible(sel(`#app-endpoints [data-transform=`+bt.CSS(ep.Id)+`]`)))
	p.Do("open the endpoint's transformation", bt.Click(sel(`[data-transform=`+bt.CSS(ep.Id)+`]`)),
		chromedp.WaitVisible(sel(`#transform-dialog #tf-code`)))
	bt.Until[bool](p, "the default code coloured", `document.querySelectorAll('#transform-dialog #tf-code .tok-keyword').length > 0`)

	// Type a handler, key by key, over the default code.
	code := `function handler(webhook) { webhook.payload = {order: webhook.payload.id, via: "console"}; return webhook; }`
	p.Do("type the handler",
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById('tf-code'); e.focus(); getSelection().selectAllChildren(e); })()`),
		chromedp.KeyEvent(code))
	bt.Until[bool](p, "the typed code coloured", `(() => { const e = document.getElementById('tf-code'); return e.textContent.trimEnd() === `+bt.JS(code)+` && e.lastPainted === e.textContent && e.querySelector('.tok-string') !== null; })()`)
	// Escape in the editor releases Tab without closing the dialog.
	p.Do("leave the editor", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent(kb.Tab))
	bt.Until[bool](p, "the dialog open, focus past the editor", `document.querySelector('#transform-dialog[open]') !== null && document.activeElement !== document.getElementById('tf-code')`)

	p.Do("test it", bt.Click(sel("#transform-dialog #tf-test")), chromedp.WaitVisible(sel("#transform-dialog #tf-output")))
	out := bt.Eval[string](p, "read the output", `document.getElementById('tf-output').innerText`)
	if !strings.Contains(out, `"order": "in_123"`) || !strings.Contains(out, `"via": "console"`) || !strings.Contains(out, rcv.srv.URL+"/orders") {
		t.Errorf("the output shown = %q", out)
	}
	bt.CheckLayout(p, "#transform-dialog")
	p.Shot("dialog-desktop")
	p.Do("phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	bt.Until[bool](p, "the phone layout", `document.documentElement.clientWidth === 390`)
	bt.CheckLayout(p, "#transform-dialog")
	p.Shot("dialog-phone")
	p.Do("desktop size", chromedp.EmulateViewport(1400, 900))

	// Save it switched on; the store has it, and the next message is
	// delivered transformed.
	p.Do("switch it on and save", bt.Click(sel("#transform-dialog #tf-enabled")), bt.Click(sel("#transform-dialog #tf-save")))
	bt.Until[bool](p, "the save to finish", `!document.querySelector('#tf-result .callout, #tf-result .loading') && document.querySelector('.toast') !== null`)
	tf, err := env.Store.FindTransformation(ctx, env.TenantID, app.Id, ep.Id)
	if err != nil || !tf.Enabled || tf.Code == nil || strings.TrimRight(*tf.Code, "\n") != code {
		t.Fatalf("the stored transformation = %+v, %v", tf, err)
	}
	if _, err := sdk.Message.Create(ctx, app.Id, models.MessageIn{EventType: "order.paid", Payload: map[string]any{"id": "ord_7"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := rcv.waitFor(t, 1); got[0] != `{"order":"ord_7","via":"console"}` {
		t.Errorf("delivered body = %s", got[0])
	}

	// The console's session reaches its own transformation, and another
	// tenant's is not found, reading or simulating.
	status := func(method, appID, epID, suffix string) int {
		return bt.Eval[int](p, "call "+method+" "+epID+suffix, `fetch(new URL('../api/v1/app/`+appID+`/endpoint/`+epID+`/transformation`+suffix+`', location.href), {
			method: `+bt.JS(method)+`, headers: { Authorization: 'Bearer ' + sessionStorage.getItem('hookline.console.session'), 'Content-Type': 'application/json' },
			body: `+bt.JS(method)+` === 'GET' ? undefined : JSON.stringify({ code: 'function handler(w) { return w; }', payload: {} }) }).then(r => r.status)`)
	}
	if got := status("GET", app.Id, ep.Id, ""); got != 200 {
		t.Errorf("GET own transformation: %d, want 200", got)
	}
	if got := status("GET", appB.Id, epB.Id, ""); got != 404 {
		t.Errorf("GET tenant B's transformation: %d, want 404", got)
	}
	if got := status("POST", appB.Id, epB.Id, "/simulate"); got != 404 {
		t.Errorf("simulate on tenant B's endpoint: %d, want 404", got)
	}
	if got := status("PATCH", appB.Id, epB.Id, ""); got != 404 {
		t.Errorf("PATCH tenant B's transformation: %d, want 404", got)
	}
	if tfB, err := env.Store.FindTransformation(ctx, tenantB, appB.Id, epB.Id); err != nil || tfB.Code != nil {
		t.Errorf("tenant B's endpoint has a transformation: %+v, %v", tfB, err)
	}
	b.CheckNoErrors()
}
