package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// shopSpec is an OpenAPI 3.1 document in YAML with two webhooks: one whose
// schema is a $ref into components, one inline; both with an example.
const shopSpec = `openapi: 3.1.0
info:
  title: Shop events
  version: "1"
webhooks:
  order.placed:
    post:
      summary: An order was placed.
      requestBody:
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/Order'
            example:
              order: ord_1
              total: 1200
  order.refunded:
    post:
      description: An order was refunded.
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                order: {type: string}
              required: [order]
            example: {order: ord_2}
components:
  schemas:
    Order:
      type: object
      properties:
        order: {type: string}
        total: {type: integer}
`

// TestConsole_ImportOpenAPI drives the event-types page's "Import from
// OpenAPI" dialog from the keyboard: an empty field and a Swagger 2.0
// document (the API's 422) show their errors; a YAML document typed into
// the field previews its two webhooks as new event types (and the preview
// changes nothing); Import creates both, with their schemas and examples,
// and the catalog then lists them next to the type that was there.
func TestConsole_ImportOpenAPI(t *testing.T) {
	env := testenv.New(t, testenv.Options{Console: true})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	if _, err := sdk.EventType.Create(ctx, models.EventTypeIn{Name: "user.created", Description: "A user signed up."}, nil); err != nil {
		t.Fatal(err)
	}
	b := browsers.New(t)
	p := b.Tab("console-import")
	p.Do("open the console", chromedp.Navigate(consoleLink(t, env, env.TenantID)),
		chromedp.WaitVisible(sel(`main[data-page="overview"]`)))
	p.Do("open event types", bt.Click(sel(`a[data-tab="event-types"]`)),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="user.created"]`)))

	// Open the dialog with the keyboard: the field has the focus.
	p.Do("open the import dialog", chromedp.Focus(sel("#et-import")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(sel("#eti-dialog #eti-spec")))
	if f := bt.Eval[string](p, "focus", `document.activeElement.id`); f != "eti-spec" {
		t.Errorf("focus is on %q, want the document field", f)
	}
	if l := bt.Eval[string](p, "labels", `[...document.getElementById('eti-spec').labels].map(l => l.textContent).join('|') + '|' + [...document.getElementById('eti-file').labels].map(l => l.textContent).join('|')`); !strings.Contains(l, "OpenAPI document") || !strings.Contains(l, "file") {
		t.Errorf("the fields' labels: %q", l)
	}

	// Nothing pasted yet: said in the dialog, nothing sent.
	p.Do("preview nothing", chromedp.Focus(sel("#eti-preview-btn")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(sel("#eti-error .callout.error")))
	if got := bt.Eval[string](p, "read the error", `document.getElementById('eti-error').innerText`); !strings.Contains(got, "Paste an OpenAPI document") {
		t.Errorf("an empty field shows %q", got)
	}

	// A Swagger 2.0 document: the API's 422, shown next to the field.
	bt.Eval[chromedp.Void](p, "paste a 2.0 document", `(e => { e.value = JSON.stringify({swagger: '2.0', info: {title: 'Old', version: '1'}, paths: {}}); e.dispatchEvent(new Event('input')); })(document.getElementById('eti-spec'))`)
	p.Do("preview the 2.0 document", chromedp.WaitNotPresent(sel("#eti-error:not([hidden])")),
		bt.Click(sel("#eti-preview-btn")), chromedp.WaitVisible(sel("#eti-error .callout.error")))
	if got := bt.Eval[string](p, "read the 422", `document.getElementById('eti-error').innerText + '|' + document.getElementById('eti-error').querySelector('[role=alert]').className + '|' + document.getElementById('eti-spec').getAttribute('aria-invalid')`); !strings.Contains(got, "OpenAPI 3.x") || !strings.HasSuffix(got, "|true") {
		t.Errorf("a 2.0 document shows %q", got)
	}
	p.Shot("import-error")

	// Type the YAML document and preview it: two new types, nothing stored.
	bt.Eval[chromedp.Void](p, "clear", `(e => { e.value = ''; e.dispatchEvent(new Event('input')); })(document.getElementById('eti-spec'))`)
	// Its first line typed key by key, the rest pasted.
	first, rest, _ := strings.Cut(shopSpec, "\n")
	p.Do("type the document", chromedp.SendKeys(sel("#eti-spec"), first+"\n"), bt.Paste(sel("#eti-spec"), rest))
	if got := bt.Eval[string](p, "read the field", `document.getElementById('eti-spec').value`); got != shopSpec {
		t.Fatalf("the field holds %q", got)
	}
	p.Do("preview", bt.Click(sel("#eti-preview-btn")),
		chromedp.WaitVisible(sel(`#eti-preview-list [data-preview-type="order.placed"]`)))
	rows := bt.Eval[string](p, "read the preview", `[...document.querySelectorAll('#eti-preview-list [data-preview-type]')].map(r => r.dataset.previewType + ':' + r.dataset.change).join(',')`)
	if rows != "order.placed:new,order.refunded:new" {
		t.Errorf("preview rows = %q", rows)
	}
	if got := bt.Eval[string](p, "read the preview text", `document.getElementById('eti-preview').innerText`); !strings.Contains(got, "An order was placed.") || !strings.Contains(got, "has an example") {
		t.Errorf("preview text = %q", got)
	}
	if !bt.Eval[bool](p, "error hidden", `document.getElementById('eti-error').hidden`) {
		t.Error("the old error stays after a good preview")
	}
	p.Shot("import-preview")
	for _, n := range []string{"order.placed", "order.refunded"} {
		if _, err := env.Store.FindEventType(ctx, env.TenantID, n); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("after the preview %s: %v, want not found", n, err)
		}
	}

	// Import: the dialog closes and the catalog lists both.
	p.Do("import", bt.Click(sel("#eti-import")), chromedp.WaitNotPresent(sel("#eti-dialog")),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="order.placed"]`)),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="order.refunded"]`)),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="user.created"]`)))
	if got := bt.Eval[string](p, "read the catalog", `document.querySelector('#et-list [data-event-type="order.placed"]').innerText`); !strings.Contains(got, "An order was placed.") || !strings.Contains(got, "has a schema") {
		t.Errorf("the catalog row of order.placed: %q", got)
	}
	p.Shot("import-done")

	// Through the API, as a user would read them.
	placed, err := sdk.EventType.Get(ctx, "order.placed")
	if err != nil {
		t.Fatal(err)
	}
	if placed.Description != "An order was placed." || placed.Schemas == nil {
		t.Fatalf("order.placed: %+v", placed)
	}
	s1, _ := (*placed.Schemas)["1"].(map[string]any)
	props, _ := s1["properties"].(map[string]any)
	if _, ok := props["total"]; !ok || !strings.Contains(jsonText(t, s1["examples"]), `"ord_1"`) {
		t.Errorf("order.placed's schema (the $ref resolved, the example kept): %v", s1)
	}
	refunded, err := env.Store.FindEventType(ctx, env.TenantID, "order.refunded")
	if err != nil || refunded.Description != "An order was refunded." || !strings.Contains(string(refunded.Schemas), "ord_2") || refunded.Archived {
		t.Errorf("stored order.refunded: %+v %v", refunded, err)
	}
	if u, err := env.Store.FindEventType(ctx, env.TenantID, "user.created"); err != nil || u.Archived {
		t.Errorf("user.created after an import without replaceAll: %+v %v", u, err)
	}
	b.CheckNoErrors()
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
