package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/internal/testenv"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
)

// chromiumPath is where Debian's chromium package puts the browser; CI
// installs it (.ci/run).
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one step of a browser test: every wait polls the
// page until its condition holds, so a step only takes this long when it
// is about to fail.
const stepTimeout = 20 * time.Second

// artifacts is where the tests leave a screenshot of each page.
var artifacts = filepath.Join("testdata", "artifacts")

// receiver is an endpoint on an httptest server that records what it gets
// and answers 200.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded // guarded by mu
	fail bool       // answer 500; guarded by mu
	got  chan struct{}
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{req.Header.Clone(), b})
		fail := r.fail
		r.mu.Unlock()
		r.got <- struct{}{}
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"database is down"}`))
			return
		}
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setFailing(fail bool) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// waitFor waits until the receiver has had n requests.
func (r *receiver) waitFor(t *testing.T, n int) []recorded {
	t.Helper()
	deadline := time.After(stepTimeout)
	for r.count() < n {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("the receiver got %d requests, want %d", r.count(), n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// stack is a Hookline with the worker and the portal, a tenant with an
// event catalog and an application with one endpoint.
type stack struct {
	env      *testenv.Env
	sdk      *svix.Svix
	appID    string
	existing string // the endpoint created through the API
}

func newStack(t *testing.T) *stack {
	t.Helper()
	h, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t, testenv.Options{Worker: true, Portal: h})
	st := &stack{env: env, sdk: env.SDK(env.APIKey)}
	ctx := context.Background()
	for _, et := range []models.EventTypeIn{
		{Name: "invoice.paid", Description: "An invoice was paid in full.", Schemas: &map[string]any{
			"1": map[string]any{"type": "object", "examples": []any{map[string]any{"invoice": "in_123", "amount": 4200, "currency": "eur"}}},
		}},
		{Name: "user.created", Description: "A user signed up."},
	} {
		if _, err := st.sdk.EventType.Create(ctx, et, nil); err != nil {
			t.Fatal(err)
		}
	}
	app, err := st.sdk.Application.Create(ctx, models.ApplicationIn{Name: "Acme Corp", Uid: ptr("acme")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.appID = app.Id
	ep, err := st.sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:9/legacy",
		Description: ptr("Legacy receiver"), FilterTypes: []string{"user.created"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.existing = ep.Id
	return st
}

// link returns a magic link pointed at the test server.
func (st *stack) link(t *testing.T) string {
	t.Helper()
	return st.linkWith(t, models.AppPortalAccessIn{})
}

func (st *stack) linkWith(t *testing.T, in models.AppPortalAccessIn) string {
	t.Helper()
	out, err := st.sdk.Authentication.AppPortalAccess(context.Background(), st.appID, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(out.Url, "http://hookline.test/portal/#key=")
	if !ok {
		t.Fatalf("magic link %q", out.Url)
	}
	return st.env.URL + "/portal/#key=" + rest
}

func ptr[T any](v T) *T { return &v }

// browser is a headless Chromium for one test. *.test host names resolve
// to 127.0.0.1, so pages on "other sites" are httptest servers too.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string // JavaScript exceptions and console errors; guarded by mu
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the portal's browser tests need Chromium at %s: install the Debian package chromium "+
			"(sudo apt-get install -y chromium; .ci/run does it): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser, with no timeout
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}
	b.watch(ctx)
	return b
}

// watch records JavaScript exceptions, console errors and Content
// Security Policy violations of a target: the portal must run without any.
func (b *browser) watch(ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Source != cdplog.EntrySourceSecurity {
				return // network errors (a revoked token's 401) are expected
			}
			msg = "security: " + ev.Entry.Text
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.errors = append(b.errors, msg)
		b.mu.Unlock()
	})
	if err != nil {
		b.t.Fatalf("listen to the page: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		b.t.Fatalf("enable the page's log: %v", err)
	}
}

func (b *browser) checkNoErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("the page logged an error: %s", e)
	}
}

// page is one target (the tab, or the portal's iframe) to drive.
type page struct {
	b    *browser
	ctx  context.Context
	name string // prefix of screenshots
	shot func(name string)
}

func (b *browser) tab(name string) *page {
	p := &page{b: b, ctx: b.ctx, name: name}
	p.shot = func(n string) { p.screenshot(b.ctx, n) }
	return p
}

// do runs actions within stepTimeout, failing the test with a screenshot
// of the page when they do not complete.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.failed(what, err)
	}
}

func (p *page) failed(what string, err error) {
	p.b.t.Helper()
	p.shot("FAILED-" + strings.ReplaceAll(what, " ", "-"))
	html, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
	p.b.t.Fatalf("%s: %v\npage text:\n%s", what, err, html)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, what, expr string) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.failed(what, err)
	}
	return v
}

// until waits for a JavaScript expression to be truthy and returns it.
func until[T any](p *page, what, expr string) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(stepTimeout), chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		p.failed(what, err)
	}
	return v
}

// screenshot saves a picture of the target of ctx (the tab, which holds
// the page or the page that frames it) as testdata/artifacts/<name>.png.
func (p *page) screenshot(ctx context.Context, name string) {
	p.b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	pctx, pcancel := context.WithTimeout(p.ctx, stepTimeout)
	defer pcancel()
	// Let the flash of new rows and the toasts end, and start at the top,
	// so the pictures show the steady page. An open dialog is pictured as
	// the viewer sees it: over the visible part of the page.
	dialog, _ := chromedp.Run(pctx, chromedp.Evaluate[bool](`(() => {
		document.querySelectorAll('.row-new').forEach(e => e.classList.remove('row-new'));
		document.querySelectorAll('.toast').forEach(e => e.remove());
		const dialog = !!document.querySelector('dialog[open]');
		if (!dialog) window.scrollTo(0, 0);
		return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(dialog))));
	})()`, chromedp.EvalAwaitPromise))
	shot := chromedp.FullScreenshot(100)
	if dialog {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(sctx, shot)
	if err != nil {
		p.b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		p.b.t.Fatal(err)
	}
	path := filepath.Join(artifacts, p.name+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.b.t.Fatal(err)
	}
}

// css quotes a value for a CSS attribute selector.
func css(v string) string { return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"` }

// js quotes a value for JavaScript.
func js(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// exercise walks the portal through everything a customer does: see the
// endpoints, add one through the form, reveal and rotate its secret, find
// a message in the logs, open an attempt, resend, read the catalog and
// send a test event. p starts on the endpoint list. It returns the
// endpoint it added and its receiver.
func exercise(t *testing.T, st *stack, p *page) (string, *receiver) {
	ctx := context.Background()
	env := st.env
	rcv := newReceiver(t)

	// The endpoint list shows the endpoint created through the API.
	p.do("see the endpoint list", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+css(st.existing)+`]`)))
	if got := eval[string](p, "read the row", `document.querySelector('.ep-row').innerText`); !strings.Contains(got, "127.0.0.1:9/legacy") || !strings.Contains(got, "Active") {
		t.Errorf("endpoint row = %q", got)
	}
	if got := eval[string](p, "read the app name", `document.getElementById('app-name').textContent`); got != "Webhooks for Acme Corp" {
		t.Errorf("app name = %q", got)
	}
	p.shot("endpoints")

	// Add an endpoint through the form; Enter submits it.
	target := rcv.srv.URL + "/webhooks"
	p.do("open the form", chromedp.Click(chromedp.CSS("#add-endpoint")), chromedp.WaitVisible(chromedp.CSS(`#endpoint-form input[name="eventTypes"][value="invoice.paid"]`)))
	if focused := eval[string](p, "focus", `document.activeElement.id`); focused != "ep-url" {
		t.Errorf("focus on the new form is on %q, want the URL field", focused)
	}
	p.do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#ep-url"), target),
		chromedp.Click(chromedp.CSS(`#endpoint-form input[name="eventTypes"][value="invoice.paid"]`)),
		chromedp.SendKeys(chromedp.CSS("#ep-rate"), "25"),
		chromedp.Click(chromedp.CSS("#add-header")),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers .header-row:last-child input[name="header-name"]`), "X-Portal-Test"),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers .header-row:last-child input[name="header-value"]`), "yes"),
		chromedp.SendKeys(chromedp.CSS("#ep-description"), "Billing service"))
	p.shot("endpoint-form")
	p.do("submit with Enter", chromedp.SendKeys(chromedp.CSS("#ep-description"), kb.Enter))
	p.do("see the new endpoint", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-url`)))
	epID := eval[string](p, "read the endpoint id", `document.querySelector('main').dataset.endpointId`)
	if got := eval[string](p, "read the URL", `document.getElementById('endpoint-url').textContent`); got != target {
		t.Errorf("endpoint page shows %q, want %q", got, target)
	}
	ep, err := env.Store.FindEndpoint(ctx, env.TenantID, st.appID, epID)
	if err != nil {
		t.Fatalf("the endpoint made through the form: %v", err)
	}
	if ep.URL != target || ep.Description != "Billing service" || strings.Join(ep.EventTypes, ",") != "invoice.paid" ||
		ep.ThrottleRate == nil || *ep.ThrottleRate != 25 {
		t.Errorf("stored endpoint = %+v", ep)
	}
	if hdr, err := env.Store.EndpointHeaders(ctx, env.TenantID, st.appID, epID); err != nil || hdr["X-Portal-Test"] != "yes" {
		t.Errorf("stored headers = %v, %v", hdr, err)
	}

	// The secret is hidden until revealed, then it is the stored one.
	if got := eval[string](p, "read the hidden secret", `document.getElementById('secret-value').textContent`); strings.Contains(got, "whsec_") && !strings.Contains(got, "•") {
		t.Fatalf("the secret is shown before Reveal: %q", got)
	}
	p.do("reveal the secret", chromedp.Click(chromedp.CSS("#secret-reveal")))
	shown := until[string](p, "see the secret", `document.getElementById('secret-value').dataset.revealed === '1' && document.getElementById('secret-value').textContent`)
	stored, err := env.Store.EndpointSecret(ctx, env.TenantID, st.appID, epID)
	if err != nil || shown != stored {
		t.Fatalf("revealed secret %q, stored %q (%v)", shown, stored, err)
	}
	until[bool](p, "load the stats", `!!document.getElementById('endpoint-stats')`)
	p.shot("endpoint-detail")

	// Rotate, after a confirmation that explains the grace period.
	p.do("ask to rotate", chromedp.Click(chromedp.CSS("#secret-rotate")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog #confirm-ok")))
	if text := eval[string](p, "read the confirmation", `document.getElementById('confirm-dialog').innerText`); !strings.Contains(text, "24 hours") {
		t.Errorf("the rotation dialog does not explain the grace period: %q", text)
	}
	p.shot("rotate-confirm")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitNotPresent(chromedp.CSS("#confirm-dialog")))
	rotated := until[string](p, "see the new secret", `(() => { const t = document.getElementById('secret-value').textContent; return t.startsWith('whsec_') && t !== `+js(shown)+` && t; })()`)
	if now, err := env.Store.EndpointSecret(ctx, env.TenantID, st.appID, epID); err != nil || now != rotated {
		t.Fatalf("after rotation the page shows %q, the store has %q (%v)", rotated, now, err)
	}

	// A message sent through the API is delivered, signed with the new
	// secret (and the old one, during the grace period)...
	msg, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "invoice.paid", EventId: ptr("evt-" + p.name),
		Payload: map[string]any{"invoice": "in_42", "amount": 1999}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 1)
	wh, err := svix.NewWebhook(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got[0].body, got[0].header); err != nil {
		t.Errorf("the delivery does not verify with the rotated secret: %v", err)
	}
	if got[0].header.Get("X-Portal-Test") != "yes" {
		t.Errorf("the custom header was not sent: %v", got[0].header)
	}

	// ... and shows in the logs.
	p.do("open the logs", chromedp.Click(chromedp.CSS(`a[data-tab="logs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="logs"] .msg-row[data-msg-id=`+css(msg.Id)+`]`)))
	p.shot("logs")
	// Searching by eventId finds it too.
	p.do("search by eventId", chromedp.SendKeys(chromedp.CSS("#logs-search"), "evt-"+p.name+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`ul[aria-label="Search result"] .msg-row[data-msg-id=`+css(msg.Id)+`]`)))

	// Its page lists the attempt; the detail shows the request and response.
	p.do("open the message", chromedp.Click(chromedp.CSS(`.msg-row[data-msg-id=`+css(msg.Id)+`]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="message"] #message-attempts .attempt-row`)),
		chromedp.WaitVisible(chromedp.CSS(`#destinations .dest-row[data-endpoint-id=`+css(epID)+`] [data-status="0"]`)))
	p.shot("message")
	p.do("open the attempt", chromedp.Click(chromedp.CSS(`#message-attempts .attempt-row`)),
		chromedp.WaitVisible(chromedp.CSS("#attempt-dialog #attempt-request-headers")))
	detail := eval[string](p, "read the attempt", `document.getElementById('attempt-dialog').innerText`)
	for _, want := range []string{"svix-id", msg.Id, "svix-signature", "x-portal-test", `"invoice": "in_42"`, `"received": true`, "200"} {
		if !strings.Contains(strings.ToLower(detail), strings.ToLower(want)) {
			t.Errorf("the attempt detail lacks %q:\n%s", want, detail)
		}
	}
	p.shot("attempt")
	p.do("close it with Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS("#attempt-dialog")))

	// Resend: the manual attempt appears on its own.
	p.do("resend", chromedp.Click(chromedp.CSS(`button[data-resend-endpoint=`+css(epID)+`]`)),
		chromedp.WaitVisible(chromedp.CSS(`#message-attempts .attempt-row[data-trigger="manual"]`)))
	if n := eval[int](p, "count attempts", `document.querySelectorAll('#message-attempts .attempt-row').length`); n != 2 {
		t.Errorf("attempts after resend: %d rows, want 2", n)
	}
	rcv.waitFor(t, 2)

	// The catalog shows the event types with their example.
	p.do("open the catalog", chromedp.Click(chromedp.CSS(`a[data-tab="catalog"]`)),
		chromedp.Click(chromedp.CSS(`#catalog li[data-event-type="invoice.paid"] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#catalog li[data-event-type="invoice.paid"] pre.json`)))
	if text := eval[string](p, "read the catalog", `document.getElementById('catalog').innerText`); !strings.Contains(text, "An invoice was paid in full.") || !strings.Contains(text, `"in_123"`) {
		t.Errorf("catalog = %q", text)
	}
	p.shot("catalog")

	// Testing: send the example to the new endpoint and watch the attempt.
	p.do("open testing", chromedp.Click(chromedp.CSS(`a[data-tab="testing"]`)), chromedp.WaitVisible(chromedp.CSS("#test-send")))
	eval[chromedp.Void](p, "pick the endpoint and type", `(() => {
		const e = document.getElementById('test-endpoint'); e.value = `+js(epID)+`; e.dispatchEvent(new Event('change'));
		const t = document.getElementById('test-event-type'); t.value = 'invoice.paid'; t.dispatchEvent(new Event('change'));
	})()`)
	p.do("send the example", chromedp.Click(chromedp.CSS("#test-send")),
		chromedp.WaitVisible(chromedp.CSS(`#test-outcome [data-status="0"]`)))
	got = rcv.waitFor(t, 3)
	if !strings.Contains(string(got[2].body), `"in_123"`) {
		t.Errorf("the example delivered = %s", got[2].body)
	}
	p.shot("testing")
	return epID, rcv
}

// TestPortal_Browser opens a magic link in headless Chromium and goes
// through every page; then the same at phone width.
func TestPortal_Browser(t *testing.T) {
	st := newStack(t)
	b := newBrowser(t)
	p := b.tab("portal")
	p.do("open the magic link", chromedp.Navigate(st.link(t)))
	p.do("wait for the portal", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if u := eval[string](p, "read the address", `location.href`); strings.Contains(u, "key=") {
		t.Errorf("the token stays in the address bar: %s", u)
	}
	epID, rcv := exercise(t, st, p)

	// A message fails for good while the receiver is down; once it is
	// back, "recover" sends it again and the page shows the new attempt.
	ctx := context.Background()
	rcv.setFailing(true)
	failed, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"invoice": "in_500"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFailed(t, st, epID, failed.Id)
	rcv.setFailing(false)
	before := rcv.count()
	p.do("open the endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+epID+`'`),
		chromedp.WaitVisible(chromedp.CSS("#recover-form #recover-submit")))
	p.do("recover", chromedp.Click(chromedp.CSS("#recover-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#recover-results .attempt-row[data-trigger="manual"][data-msg-id=`+css(failed.Id)+`]`)))
	if got := rcv.waitFor(t, before+1); !strings.Contains(string(got[before].body), "in_500") {
		t.Errorf("recovered delivery = %s", got[before].body)
	}
	p.shot("recover")

	// Edit: the form comes filled in; the changes (and only they) are saved.
	p.do("edit", chromedp.Click(chromedp.CSS("#endpoint-edit")),
		chromedp.WaitVisible(chromedp.CSS(`#endpoint-form #ep-description`)))
	if v := eval[string](p, "read the form", `document.getElementById('ep-url').value + '|' + document.getElementById('ep-description').value + '|' + document.querySelector('#ep-headers [name="header-value"]').value`); v != endpointURL(st, epID)+"|Billing service|yes" {
		t.Errorf("the edit form shows %q", v)
	}
	p.do("change the description and a header",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ep-description').value = ''; document.querySelector('#ep-headers [name="header-value"]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers [name="header-value"]`), "no"),
		chromedp.SendKeys(chromedp.CSS("#ep-description"), "Billing service (EU)"),
		chromedp.Click(chromedp.CSS("#ep-save")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-toggle`)))
	ep, err := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID)
	hdr, herr := st.env.Store.EndpointHeaders(ctx, st.env.TenantID, st.appID, epID)
	if err != nil || herr != nil || ep.Description != "Billing service (EU)" || strings.Join(ep.EventTypes, ",") != "invoice.paid" || hdr["X-Portal-Test"] != "no" {
		t.Errorf("after the edit: %+v %v, headers %v %v", ep, err, hdr, herr)
	}

	// Disable (after a confirmation), enable, and delete the other endpoint.
	p.do("disable", chromedp.Click(chromedp.CSS("#endpoint-toggle")), chromedp.Click(chromedp.CSS("#confirm-ok")),
		chromedp.WaitVisible(chromedp.CSS(`#endpoint-state[data-state="disabled"]`)))
	if ep, _ := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID); !ep.Disabled {
		t.Error("the endpoint is not disabled")
	}
	p.do("enable", chromedp.Click(chromedp.CSS("#endpoint-toggle")), chromedp.WaitVisible(chromedp.CSS(`#endpoint-state[data-state="active"]`)))
	if ep, _ := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID); ep.Disabled {
		t.Error("the endpoint is not enabled again")
	}
	p.do("delete the other endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+st.existing+`'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-endpoint-id=`+css(st.existing)+`] #endpoint-delete`)),
		chromedp.Click(chromedp.CSS("#endpoint-delete")), chromedp.Click(chromedp.CSS("#confirm-ok")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+css(epID)+`]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.ep-row[data-endpoint-id=`+css(st.existing)+`]`)))
	if _, err := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, st.existing); err == nil {
		t.Error("the deleted endpoint is still there")
	}

	// At 375 px nothing overflows sideways, and the list is readable.
	p.do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+css(epID)+`]`)))
	if w := eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the page is %d px wide", w)
	}
	p.shot("mobile-endpoints")
	p.do("phone logs", chromedp.Click(chromedp.CSS(`a[data-tab="logs"]`)), chromedp.WaitVisible(chromedp.CSS(".msg-row")))
	if w := eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the logs are %d px wide", w)
	}
	p.shot("mobile-logs")
	b.checkNoErrors()
}

// endpointURL reads an endpoint's URL from the store.
func endpointURL(st *stack, epID string) string {
	ep, err := st.env.Store.FindEndpoint(context.Background(), st.env.TenantID, st.appID, epID)
	if err != nil {
		return err.Error()
	}
	return ep.URL
}

// waitFailed waits until a message's delivery to an endpoint has failed
// for good (all retries spent), as the API reports it.
func waitFailed(t *testing.T, st *stack, epID, msgID string) {
	t.Helper()
	fail := models.MESSAGESTATUS_FAIL
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		out, err := st.sdk.MessageAttempt.ListAttemptedMessages(context.Background(), st.appID, epID,
			&svix.MessageAttemptListAttemptedMessagesOptions{Status: &fail})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Data {
			if m.Id == msgID {
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the API for the worker's last retry
	}
	t.Fatalf("message %s never failed for good on %s", msgID, epID)
}

// TestPortal_SessionEnds: signing out revokes the link; a link revoked
// elsewhere stops working in the open portal; a link opened under another
// tenant's address is refused.
func TestPortal_SessionEnds(t *testing.T) {
	st := newStack(t)
	b := newBrowser(t)
	p := b.tab("session")

	link := st.link(t)
	p.do("open the magic link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	p.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS(`main[data-screen="info"]`)))
	if text := eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "You have signed out") {
		t.Errorf("after signing out the portal shows %q", text)
	}
	key := strings.SplitN(link, "#key=", 2)[1]
	if _, err := st.env.SDK(key).Application.Get(context.Background(), st.appID); err == nil {
		t.Error("the link still works after signing out")
	}

	p.do("open a new link", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if err := st.sdk.Authentication.ExpireAll(context.Background(), st.appID, models.ApplicationTokenExpireIn{}, nil); err != nil {
		t.Fatal(err)
	}
	p.do("go to the logs", chromedp.Click(chromedp.CSS(`a[data-tab="logs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-screen="error"]`)))
	if text := eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "Your session has ended") {
		t.Errorf("after expire-all the portal shows %q", text)
	}
	p.shot("session-ended")

	// The token's tenant is not the tenant in the path.
	other, _, _ := st.env.NewTenant("Other")
	key = strings.SplitN(st.link(t), "#key=", 2)[1]
	p.do("open under another tenant", chromedp.Navigate(st.env.URL+"/portal/o/"+other+"/#key="+key),
		chromedp.WaitVisible(chromedp.CSS(`main[data-screen="error"]`)))
	if text := eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "does not belong here") {
		t.Errorf("under another tenant the portal shows %q", text)
	}
	// A read-only link shows everything and offers no change.
	p.do("open a read-only link", chromedp.Navigate(st.linkWith(t, models.AppPortalAccessIn{ReadOnly: ptr(true)})),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row`)))
	if got := eval[string](p, "look for actions", `[!!document.getElementById('add-endpoint'), document.querySelector('.topbar .badge')?.textContent].join('|')`); got != "false|Read-only" {
		t.Errorf("read-only portal: add button and badge = %q", got)
	}
	p.do("open the endpoint", chromedp.Click(chromedp.CSS(".ep-row")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #secret-reveal`)))
	if got := eval[string](p, "look for actions", `['#endpoint-edit', '#endpoint-toggle', '#endpoint-delete', '#secret-rotate', '#recover-form'].filter(s => document.querySelector(s)).join(',')`); got != "" {
		t.Errorf("read-only portal offers %s", got)
	}
	p.shot("read-only")

	// A link without a token explains itself.
	p.do("open without a token", chromedp.Navigate(st.env.URL+"/portal/"),
		chromedp.WaitVisible(chromedp.CSS(`#boot.failed`)))
	b.checkNoErrors()
}

// hostPage serves a page of "another site" that embeds the portal link in
// an iframe, as a tenant's own dashboard does.
func hostPage(t *testing.T, link string) (port string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Acme dashboard</title>
<style>body{margin:0;font:14px system-ui;background:#eef1f5}header{padding:14px 24px;background:#0b1b33;color:#fff;font-weight:600}
iframe{display:block;width:calc(100%% - 48px);height:860px;margin:24px;border:1px solid #cfd6e0;border-radius:12px;background:#fff}</style></head>
<body><header>Acme dashboard · Settings › Webhooks</header>
<iframe id="portal" title="Webhooks" src="%s"></iframe></body></html>`, link)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Port()
}

// frameTarget waits for the iframe target whose URL is on the portal's
// tenant page and returns a context that drives it.
func frameTarget(t *testing.T, p *page, portalURL string) context.Context {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(p.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, portalURL+"/portal/o/") {
				ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return ctx
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the browser's target list
	}
	p.failed("find the portal's iframe", fmt.Errorf("no iframe target on %s/portal/o/", portalURL))
	return nil
}

// TestPortal_Iframe embeds the portal in a page of another site (the
// tenant's dashboard), with the tenant's branding and framing policy, and
// goes through the same flow there; a site not on the list cannot frame it.
func TestPortal_Iframe(t *testing.T) {
	st := newStack(t)
	b := newBrowser(t)
	link := st.link(t)
	port := hostPage(t, link)
	allowed := "http://customer.test:" + port
	_, err := st.env.Store.PatchPortalSettings(context.Background(), st.env.TenantID, tenants.PortalSettingsPatch{
		DisplayName: ptr("Acme Webhooks"), PrimaryColor: ptr("#0e7c66"), Theme: ptr("dark"),
		FrameOrigins: &[]string{allowed},
	})
	if err != nil {
		t.Fatal(err)
	}

	top := b.tab("iframe")
	top.do("open the tenant's dashboard", chromedp.Navigate(allowed+"/"), chromedp.WaitVisible(chromedp.CSS("#portal")))
	frame := &page{b: b, ctx: frameTarget(t, top, st.env.URL), name: "iframe"}
	frame.shot = func(n string) { frame.screenshot(top.ctx, n) } // the whole dashboard, portal inside
	b.watch(frame.ctx)
	frame.do("wait for the portal", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if got := eval[string](frame, "read the brand", `document.getElementById('brand-name').textContent + '|' + document.documentElement.dataset.theme + '|' + getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()`); got != "Acme Webhooks|dark|#0e7c66" {
		t.Errorf("branding in the iframe = %q", got)
	}
	if n := eval[int](frame, "cookies", `document.cookie.length`); n != 0 {
		t.Errorf("the portal set cookies: %d bytes", n)
	}
	exercise(t, st, frame)
	b.checkNoErrors() // before a refusal, which the browser logs

	// A site that is not on the tenant's list gets a refusal: the browser
	// puts its error page in the frame instead of the tenant's page.
	evilPort := hostPage(t, st.link(t))
	foreign := b.tab("iframe-refused")
	foreign.do("open a foreign site", chromedp.Navigate("http://evil.test:"+evilPort+"/"), chromedp.WaitVisible(chromedp.CSS("#portal")))
	refused := &page{b: b, ctx: frameTarget(t, foreign, st.env.URL), name: "iframe-refused", shot: foreign.shot}
	outcome := until[string](refused, "see the frame settle",
		`location.protocol === 'chrome-error:' ? 'refused' : (document.querySelector('main[data-page]') ? 'rendered' : '')`)
	if outcome != "refused" {
		t.Errorf("a site outside the tenant's list framed the portal: %s", outcome)
	}
	foreign.shot("dashboard")
}
