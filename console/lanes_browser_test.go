package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/testenv"
)

// setValue replaces an input's value as typing would (input event).
func setValue(p *bt.Page, id, v string) {
	p.B.T.Helper()
	bt.Eval[chromedp.Void](p, "set "+id, `(e => { e.value = `+bt.JS(v)+`; e.dispatchEvent(new Event('input', {bubbles: true})); })(document.getElementById(`+bt.JS(id)+`))`)
}

// TestConsole_BrowserLanes: the console sets an endpoint's lane cap in
// the add form and the edit dialog (a value out of range is refused next
// to the field), and its throttled view lists the tenant's throttled
// endpoints — one held by its cap of 1 behind a receiver that hangs, one
// that congestion (503s) brought down to one attempt at a time — with
// their figures as the lanes hold them, laid out without clipped or
// overlapping text on a desktop and a phone, and never another tenant's.
func TestConsole_BrowserLanes(t *testing.T) {
	env := testenv.New(t, testenv.Options{Worker: true, Console: true})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: "Acme Corporation International Holdings"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := hangingReceiver(t, 0)
	congested := hangingReceiver(t, 5)
	epCong, err := sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: congested.URL + "/webhooks/acme/congested-receiver-with-a-long-path", Description: ptr("Congested")}, nil)
	if err != nil {
		t.Fatal(err)
	}

	b := browsers.New(t)
	p := b.Tab("console-lanes")
	p.Do("sign in with a link", chromedp.Navigate(consoleLink(t, env, env.TenantID)), chromedp.WaitVisible(sel(`main[data-page="overview"] #chart-hour`)))

	// Add an endpoint with a cap of 2 in the application's form.
	p.Do("open the application", chromedp.Evaluate[chromedp.Void](`location.hash = '#/apps/`+app.Id+`'`),
		chromedp.WaitVisible(sel(`#app-endpoints .dest-row[data-endpoint-id=`+bt.CSS(epCong.Id)+`]`)))
	setValue(p, "cep-url", slow.URL+"/slow")
	setValue(p, "cep-max", "2")
	p.Do("add the endpoint", bt.Click(sel("#cep-submit")), chromedp.WaitVisible(sel(`#app-endpoints [data-cap="2"]`)))
	eps, err := sdk.Endpoint.List(ctx, app.Id, nil)
	if err != nil || len(eps.Data) != 2 {
		t.Fatalf("endpoints after the form: %+v %v", eps, err)
	}
	epSlow := eps.Data[0].Id
	if epSlow == epCong.Id {
		epSlow = eps.Data[1].Id
	}
	if e, err := env.Store.FindEndpoint(ctx, env.TenantID, app.Id, epSlow); err != nil || e.MaxConcurrency == nil || *e.MaxConcurrency != 2 || e.URL != slow.URL+"/slow" {
		t.Fatalf("the endpoint added in the console: %+v %v", e, err)
	}
	bt.CheckLayout(p, "#endpoint-form")

	// Edit it: 1001 is refused next to the field, 2.5 too; 1 is saved.
	p.Do("edit", bt.Click(sel(`button[data-edit-endpoint=`+bt.CSS(epSlow)+`]`)), chromedp.WaitVisible(sel("#eep-max")))
	if v := bt.Eval[string](p, "read the cap", `document.getElementById('eep-max').value`); v != "2" {
		t.Errorf("the edit dialog shows cap %q, want 2", v)
	}
	setValue(p, "eep-max", "1001")
	p.Do("save 1001", bt.Click(sel("#eep-submit")), chromedp.WaitVisible(sel(`#endpoint-edit-form .field.invalid[data-field="maxConcurrency"] .error`)))
	if msg := bt.Eval[string](p, "read the error", `document.querySelector('#endpoint-edit-form [data-field="maxConcurrency"] .error').textContent`); !strings.Contains(msg, "between 1 and 1000") {
		t.Errorf("the error next to the field says %q", msg)
	}
	p.Shot("edit-refused")
	bt.CheckLayout(p, "#endpoint-edit-form")
	setValue(p, "eep-max", "2.5")
	p.Do("save 2.5", bt.Click(sel("#eep-submit")))
	bt.Until[bool](p, "see the whole-number error", `document.querySelector('#endpoint-edit-form [data-field="maxConcurrency"] .error').textContent.includes('whole number')`)
	if e, _ := env.Store.FindEndpoint(ctx, env.TenantID, app.Id, epSlow); e.MaxConcurrency == nil || *e.MaxConcurrency != 2 {
		t.Errorf("a refused edit changed the cap to %v", e.MaxConcurrency)
	}
	setValue(p, "eep-max", "1")
	p.Do("save 1", bt.Click(sel("#eep-submit")), chromedp.WaitNotPresent(sel("#endpoint-edit-dialog")),
		chromedp.WaitVisible(sel(`#app-endpoints .dest-row[data-endpoint-id=`+bt.CSS(epSlow)+`] [data-cap="1"]`)))
	if e, _ := env.Store.FindEndpoint(ctx, env.TenantID, app.Id, epSlow); e.MaxConcurrency == nil || *e.MaxConcurrency != 1 {
		t.Fatalf("after the edit the store has cap %v, want 1", e.MaxConcurrency)
	}
	p.Shot("app-endpoints")

	// Fill both lanes; tenant B fills one of its own.
	throttle(t, sdk, app.Id, 8)
	tenantB, keyB, _ := env.NewTenant("Tenant B")
	sdkB := env.SDK(keyB)
	appB, err := sdkB.Application.Create(ctx, models.ApplicationIn{Name: "Beta"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	epB, err := sdkB.Endpoint.Create(ctx, appB.Id, models.EndpointIn{Url: hangingReceiver(t, 0).URL + "/beta"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, env, "PATCH", "/api/v1/app/"+appB.Id+"/endpoint/"+epB.Id, keyB, `{"maxConcurrency":1}`); code != 200 {
		t.Fatalf("B's cap: %d %s", code, body)
	}
	throttle(t, sdkB, appB.Id, 3)
	lanes := waitThrottled(t, env, env.TenantID, map[string]bool{epSlow: false, epCong.Id: true})
	waitThrottled(t, env, tenantB, map[string]bool{epB.Id: false})

	// The view lists both, as the lanes hold them.
	p.Do("open the throttled view", bt.Click(sel(`a[data-tab="throttled"]`)),
		chromedp.WaitVisible(sel(`#throttled-table .lane-row[data-endpoint-id=`+bt.CSS(epSlow)+`]`)),
		chromedp.WaitVisible(sel(`#throttled-table .lane-row[data-endpoint-id=`+bt.CSS(epCong.Id)+`]`)))
	figures := func(ep string) string {
		return bt.Eval[string](p, "read "+ep, `(() => { const r = document.querySelector('.lane-row[data-endpoint-id=`+bt.CSS(ep)+`]');
			return ['limit', 'cap', 'in-flight'].map(f => r.querySelector('[data-figure="' + f + '"]').textContent).join('/'); })()`)
	}
	if got := figures(epSlow); got != "1/1/1" {
		t.Errorf("the capped endpoint shows limit/cap/in flight %s, want 1/1/1", got)
	}
	if got := figures(epCong.Id); got != "1/64/1" {
		t.Errorf("the congested endpoint shows limit/cap/in flight %s, want 1/64/1", got)
	}
	row := bt.Eval[string](p, "read the congested row", `document.querySelector('.lane-row[data-endpoint-id=`+bt.CSS(epCong.Id)+`]').innerText`)
	for _, want := range []string{epCong.Id, epCong.Url, "Acme Corporation International Holdings", "default"} {
		if !strings.Contains(row, want) {
			t.Errorf("the congested row %q lacks %q", row, want)
		}
	}
	since := bt.Eval[string](p, "read the time", `document.querySelector('.lane-row[data-endpoint-id=`+bt.CSS(epCong.Id)+`] time').getAttribute('datetime')`)
	if ts, err := time.Parse(time.RFC3339Nano, since); err != nil || !ts.Equal(*lanes[epCong.Id].AtOneSince) {
		t.Errorf("held at 1 since %q, the lane says %v (%v)", since, lanes[epCong.Id].AtOneSince, err)
	}
	if n := bt.Eval[string](p, "count", `document.getElementById('throttled').dataset.count`); n != "2" {
		t.Errorf("%s rows, want 2", n)
	}
	text := bt.Eval[string](p, "read the page", `document.body.innerText + ' ' + [...document.querySelectorAll('[data-endpoint-id]')].map(e => e.dataset.endpointId).join(' ')`)
	for _, id := range []string{epB.Id, appB.Id, tenantB, "/beta"} {
		if strings.Contains(text, id) {
			t.Errorf("tenant A's throttled view shows tenant B's %q", id)
		}
	}
	bt.CheckLayout(p, "#throttled-table")
	// Eight sections fit the desktop's tab bar: none scrolled out of view.
	if got := bt.Eval[string](p, "measure the tabs", `(t => t.scrollWidth + ' in ' + t.clientWidth)(document.querySelector('.tabs-inner'))`); func() bool {
		var sw, cw int
		_, err := fmt.Sscanf(got, "%d in %d", &sw, &cw)
		return err != nil || sw > cw
	}() {
		t.Errorf("the tab bar at 1280 px needs %s px: a section is out of view", got)
	}
	p.Shot("throttled")

	// On a phone, one card per lane, nothing clipped, nothing wider than
	// the screen.
	p.Do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Reload(),
		chromedp.WaitVisible(sel(`#throttled-table .lane-row[data-endpoint-id=`+bt.CSS(epCong.Id)+`]`)))
	bt.CheckLayout(p, "#throttled")
	if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the throttled view is %d px wide", w)
	}
	p.Shot("throttled-phone")
	p.Do("desktop width", chromedp.EmulateViewport(1280, 900))
	b.CheckNoErrors()
}
