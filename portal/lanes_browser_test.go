package portal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

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

// TestPortal_BrowserMaxConcurrency: a customer sets "Max concurrent
// deliveries" on their endpoint in the portal: 0 is refused next to the
// field (the API's 422), 2.5 too; 5 is saved (the API and the endpoint's
// page show it, and a PUT from the Svix SDK keeps it); blank resets it to
// the default. The form with its error is laid out without clipped or
// overlapping text, on a desktop and a phone.
func TestPortal_BrowserMaxConcurrency(t *testing.T) {
	st := newStack(t)
	env := st.env
	ctx := context.Background()
	b := browsers.New(t)
	p := b.Tab("portal-lanes")
	p.Do("open the magic link", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	edit := func() {
		t.Helper()
		p.Do("open the edit form", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+st.existing+`/edit'`),
			chromedp.WaitVisible(chromedp.CSS("#ep-max-concurrency")))
	}
	stored := func() string {
		t.Helper()
		e, err := env.Store.FindEndpoint(ctx, env.TenantID, st.appID, st.existing)
		if err != nil {
			t.Fatal(err)
		}
		if e.MaxConcurrency == nil {
			return "default"
		}
		b, _ := json.Marshal(*e.MaxConcurrency)
		return string(b)
	}
	errorText := `(document.querySelector('#endpoint-form .field.invalid[data-field="maxConcurrency"] .error') || {}).textContent || ''`

	edit()
	if v := bt.Eval[string](p, "read the field", `document.getElementById('ep-max-concurrency').value + '|' + document.getElementById('ep-max-concurrency').placeholder`); v != "|Default (64)" {
		t.Errorf("a new cap field shows %q", v)
	}
	setValue(p, "ep-max-concurrency", "0")
	p.Do("save 0", bt.Click(chromedp.CSS("#ep-save")))
	if msg := bt.Until[string](p, "see the API's error", errorText); !strings.Contains(msg, "between 1 and 1000") {
		t.Errorf("the error next to the field says %q", msg)
	}
	if f := bt.Eval[string](p, "focus", `document.activeElement.id`); f != "ep-max-concurrency" {
		t.Errorf("after the error the focus is on %q, want the field", f)
	}
	p.Shot("refused")
	bt.CheckLayout(p, "#endpoint-form")
	setValue(p, "ep-max-concurrency", "2.5")
	p.Do("save 2.5", bt.Click(chromedp.CSS("#ep-save")))
	bt.Until[bool](p, "see the whole-number error", `(`+errorText+`).includes('whole number')`)
	if got := stored(); got != "default" {
		t.Errorf("refused values changed the cap to %s", got)
	}

	setValue(p, "ep-max-concurrency", "5")
	p.Do("save 5", bt.Click(chromedp.CSS("#ep-save")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-max-concurrency`)))
	if got := bt.Eval[string](p, "read the setup", `document.getElementById('endpoint-max-concurrency').textContent`); !strings.Contains(got, "At most 5") {
		t.Errorf("the endpoint's page says %q", got)
	}
	if got := stored(); got != "5" {
		t.Fatalf("stored cap %s, want 5", got)
	}
	code, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+st.appID+"/endpoint/"+st.existing, env.APIKey, "")
	if code != 200 || !strings.Contains(body, `"maxConcurrency":5`) {
		t.Errorf("the API shows %d %s", code, body)
	}
	// The tenant's own code, through the Svix SDK, renames the endpoint:
	// the customer's cap stays.
	ep, err := st.sdk.Endpoint.Get(ctx, st.appID, st.existing)
	if err != nil {
		t.Fatal(err)
	}
	upd := toUpdate(ep)
	upd.Description = ptr("Renamed by the SDK")
	if _, err := st.sdk.Endpoint.Update(ctx, st.appID, st.existing, upd); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != "5" {
		t.Errorf("after an SDK PUT the cap is %s, want 5", got)
	}

	// Blank resets it to the default.
	edit()
	if v := bt.Eval[string](p, "read the field", `document.getElementById('ep-max-concurrency').value`); v != "5" {
		t.Errorf("the form shows cap %q, want 5", v)
	}
	p.Do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	bt.CheckLayout(p, "#endpoint-form")
	if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the form is %d px wide", w)
	}
	p.Shot("form-phone")
	p.Do("desktop width", chromedp.EmulateViewport(1280, 900))
	setValue(p, "ep-max-concurrency", "")
	p.Do("save blank", bt.Click(chromedp.CSS("#ep-save")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-max-concurrency`)))
	if got := bt.Eval[string](p, "read the setup", `document.getElementById('endpoint-max-concurrency').textContent`); !strings.Contains(got, "Default") {
		t.Errorf("after clearing, the endpoint's page says %q", got)
	}
	if got := stored(); got != "default" {
		t.Errorf("after clearing the cap is %s, want the default", got)
	}
	p.Shot("endpoint")
	b.CheckNoErrors()
}

// toUpdate is the PUT body a Svix SDK user builds from what they read.
func toUpdate(ep *models.EndpointOut) models.EndpointUpdate {
	return models.EndpointUpdate{Url: ep.Url, Description: &ep.Description, Disabled: ep.Disabled, FilterTypes: ep.FilterTypes,
		Channels: ep.Channels, Metadata: &ep.Metadata, ThrottleRate: ep.ThrottleRate, Uid: ep.Uid}
}
