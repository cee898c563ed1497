package portal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

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
	deadline := time.After(bt.StepTimeout)
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
	// Retries in ms (FastRetries): a message must fail for good while the
	// receiver is down, within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
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

// exercise walks the portal through everything a customer does: see the
// endpoints, add one through the form, reveal and rotate its secret, find
// a message in the logs, open an attempt, resend, read the catalog and
// send a test event. p starts on the endpoint list. It returns the
// endpoint it added and its receiver.
func exercise(t *testing.T, st *stack, p *bt.Page) (string, *receiver) {
	ctx := context.Background()
	env := st.env
	rcv := newReceiver(t)

	// The endpoint list shows the endpoint created through the API.
	p.Do("see the endpoint list", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+bt.CSS(st.existing)+`]`)))
	if got := bt.Eval[string](p, "read the row", `document.querySelector('.ep-row').innerText`); !strings.Contains(got, "127.0.0.1:9/legacy") || !strings.Contains(got, "Active") {
		t.Errorf("endpoint row = %q", got)
	}
	if got := bt.Eval[string](p, "read the app name", `document.getElementById('app-name').textContent`); got != "Webhooks for Acme Corp" {
		t.Errorf("app name = %q", got)
	}
	p.Shot("endpoints")

	// Add an endpoint through the form; Enter submits it.
	target := rcv.srv.URL + "/webhooks"
	p.Do("open the form", bt.Click(chromedp.CSS("#add-endpoint")), chromedp.WaitVisible(chromedp.CSS(`#endpoint-form input[name="eventTypes"][value="invoice.paid"]`)))
	if focused := bt.Eval[string](p, "focus", `document.activeElement.id`); focused != "ep-url" {
		t.Errorf("focus on the new form is on %q, want the URL field", focused)
	}
	p.Do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#ep-url"), target),
		bt.Click(chromedp.CSS(`#endpoint-form input[name="eventTypes"][value="invoice.paid"]`)),
		chromedp.SendKeys(chromedp.CSS("#ep-rate"), "25"),
		bt.Click(chromedp.CSS("#add-header")),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers .header-row:last-child input[name="header-name"]`), "X-Portal-Test"),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers .header-row:last-child input[name="header-value"]`), "yes"),
		chromedp.SendKeys(chromedp.CSS("#ep-description"), "Billing service"))
	p.Shot("endpoint-form")
	p.Do("submit with Enter", chromedp.SendKeys(chromedp.CSS("#ep-description"), kb.Enter))
	p.Do("see the new endpoint", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-url`)))
	epID := bt.Eval[string](p, "read the endpoint id", `document.querySelector('main').dataset.endpointId`)
	if got := bt.Eval[string](p, "read the URL", `document.getElementById('endpoint-url').textContent`); got != target {
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
	if got := bt.Eval[string](p, "read the hidden secret", `document.getElementById('secret-value').textContent`); strings.Contains(got, "whsec_") && !strings.Contains(got, "•") {
		t.Fatalf("the secret is shown before Reveal: %q", got)
	}
	p.Do("reveal the secret", bt.Click(chromedp.CSS("#secret-reveal")))
	shown := bt.Until[string](p, "see the secret", `document.getElementById('secret-value').dataset.revealed === '1' && document.getElementById('secret-value').textContent`)
	stored, err := env.Store.EndpointSecret(ctx, env.TenantID, st.appID, epID)
	if err != nil || shown != stored {
		t.Fatalf("revealed secret %q, stored %q (%v)", shown, stored, err)
	}
	bt.Until[bool](p, "load the stats", `!!document.getElementById('endpoint-stats')`)
	p.Shot("endpoint-detail")

	// Rotate, after a confirmation that explains the grace period.
	p.Do("ask to rotate", bt.Click(chromedp.CSS("#secret-rotate")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog #confirm-ok")))
	if text := bt.Eval[string](p, "read the confirmation", `document.getElementById('confirm-dialog').innerText`); !strings.Contains(text, "24 hours") {
		t.Errorf("the rotation dialog does not explain the grace period: %q", text)
	}
	p.Shot("rotate-confirm")
	p.Do("confirm", bt.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitNotPresent(chromedp.CSS("#confirm-dialog")))
	rotated := bt.Until[string](p, "see the new secret", `(() => { const t = document.getElementById('secret-value').textContent; return t.startsWith('whsec_') && t !== `+bt.JS(shown)+` && t; })()`)
	if now, err := env.Store.EndpointSecret(ctx, env.TenantID, st.appID, epID); err != nil || now != rotated {
		t.Fatalf("after rotation the page shows %q, the store has %q (%v)", rotated, now, err)
	}

	// A message sent through the API is delivered, signed with the new
	// secret (and the old one, during the grace period)...
	msg, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "invoice.paid", EventId: ptr("evt-" + p.Name),
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
	p.Do("open the logs", bt.Click(chromedp.CSS(`a[data-tab="logs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="logs"] .msg-row[data-msg-id=`+bt.CSS(msg.Id)+`]`)))
	p.Shot("logs")
	// Searching by eventId finds it too.
	p.Do("search by eventId", chromedp.SendKeys(chromedp.CSS("#logs-search"), "evt-"+p.Name+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`ul[aria-label="Search result"] .msg-row[data-msg-id=`+bt.CSS(msg.Id)+`]`)))

	// Its page lists the attempt; the detail shows the request and response.
	p.Do("open the message", bt.Click(chromedp.CSS(`.msg-row[data-msg-id=`+bt.CSS(msg.Id)+`]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="message"] #message-attempts .attempt-row`)),
		chromedp.WaitVisible(chromedp.CSS(`#destinations .dest-row[data-endpoint-id=`+bt.CSS(epID)+`] [data-status="0"]`)))
	p.Shot("message")
	p.Do("open the attempt", bt.Click(chromedp.CSS(`#message-attempts .attempt-row`)),
		chromedp.WaitVisible(chromedp.CSS("#attempt-dialog #attempt-request-headers")))
	detail := bt.Eval[string](p, "read the attempt", `document.getElementById('attempt-dialog').innerText`)
	for _, want := range []string{"svix-id", msg.Id, "svix-signature", "x-portal-test", `"invoice": "in_42"`, `"received": true`, "200"} {
		if !strings.Contains(strings.ToLower(detail), strings.ToLower(want)) {
			t.Errorf("the attempt detail lacks %q:\n%s", want, detail)
		}
	}
	p.Shot("attempt")
	p.Do("close it with Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS("#attempt-dialog")))

	// Resend: the manual attempt appears on its own.
	p.Do("resend", bt.Click(chromedp.CSS(`button[data-resend-endpoint=`+bt.CSS(epID)+`]`)),
		chromedp.WaitVisible(chromedp.CSS(`#message-attempts .attempt-row[data-trigger="manual"]`)))
	if n := bt.Eval[int](p, "count attempts", `document.querySelectorAll('#message-attempts .attempt-row').length`); n != 2 {
		t.Errorf("attempts after resend: %d rows, want 2", n)
	}
	rcv.waitFor(t, 2)

	// The catalog shows the event types with their example.
	p.Do("open the catalog", bt.Click(chromedp.CSS(`a[data-tab="catalog"]`)),
		bt.Click(chromedp.CSS(`#catalog li[data-event-type="invoice.paid"] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#catalog li[data-event-type="invoice.paid"] pre.json`)))
	if text := bt.Eval[string](p, "read the catalog", `document.getElementById('catalog').innerText`); !strings.Contains(text, "An invoice was paid in full.") || !strings.Contains(text, `"in_123"`) {
		t.Errorf("catalog = %q", text)
	}
	p.Shot("catalog")

	// Testing: send the example to the new endpoint and watch the attempt.
	p.Do("open testing", bt.Click(chromedp.CSS(`a[data-tab="testing"]`)), chromedp.WaitVisible(chromedp.CSS("#test-send")))
	bt.Eval[chromedp.Void](p, "pick the endpoint and type", `(() => {
		const e = document.getElementById('test-endpoint'); e.value = `+bt.JS(epID)+`; e.dispatchEvent(new Event('change'));
		const t = document.getElementById('test-event-type'); t.value = 'invoice.paid'; t.dispatchEvent(new Event('change'));
	})()`)
	p.Do("send the example", bt.Click(chromedp.CSS("#test-send")),
		chromedp.WaitVisible(chromedp.CSS(`#test-outcome [data-status="0"]`)))
	got = rcv.waitFor(t, 3)
	if !strings.Contains(string(got[2].body), `"in_123"`) {
		t.Errorf("the example delivered = %s", got[2].body)
	}
	p.Shot("testing")
	return epID, rcv
}

// TestPortal_Browser opens a magic link in headless Chromium and goes
// through every page; then the same at phone width.
func TestPortal_Browser(t *testing.T) {
	st := newStack(t)
	b := browsers.New(t)
	p := b.Tab("portal")
	p.Do("open the magic link", chromedp.Navigate(st.link(t)))
	p.Do("wait for the portal", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if u := bt.Eval[string](p, "read the address", `location.href`); strings.Contains(u, "key=") {
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
	p.Do("open the endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+epID+`'`),
		chromedp.WaitVisible(chromedp.CSS("#recover-form #recover-submit")))
	p.Do("recover", bt.Click(chromedp.CSS("#recover-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#recover-results .attempt-row[data-trigger="manual"][data-msg-id=`+bt.CSS(failed.Id)+`]`)))
	if got := rcv.waitFor(t, before+1); !strings.Contains(string(got[before].body), "in_500") {
		t.Errorf("recovered delivery = %s", got[before].body)
	}
	p.Shot("recover")

	// Edit: the form comes filled in; the changes (and only they) are saved.
	p.Do("edit", bt.Click(chromedp.CSS("#endpoint-edit")),
		chromedp.WaitVisible(chromedp.CSS(`#endpoint-form #ep-description`)))
	if v := bt.Eval[string](p, "read the form", `document.getElementById('ep-url').value + '|' + document.getElementById('ep-description').value + '|' + document.querySelector('#ep-headers [name="header-value"]').value`); v != endpointURL(st, epID)+"|Billing service|yes" {
		t.Errorf("the edit form shows %q", v)
	}
	p.Do("change the description and a header",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ep-description').value = ''; document.querySelector('#ep-headers [name="header-value"]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#ep-headers [name="header-value"]`), "no"),
		chromedp.SendKeys(chromedp.CSS("#ep-description"), "Billing service (EU)"),
		bt.Click(chromedp.CSS("#ep-save")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #endpoint-toggle`)))
	ep, err := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID)
	hdr, herr := st.env.Store.EndpointHeaders(ctx, st.env.TenantID, st.appID, epID)
	if err != nil || herr != nil || ep.Description != "Billing service (EU)" || strings.Join(ep.EventTypes, ",") != "invoice.paid" || hdr["X-Portal-Test"] != "no" {
		t.Errorf("after the edit: %+v %v, headers %v %v", ep, err, hdr, herr)
	}

	// Disable (after a confirmation), enable, and delete the other endpoint.
	p.Do("disable", bt.Click(chromedp.CSS("#endpoint-toggle")), bt.Click(chromedp.CSS("#confirm-ok")),
		chromedp.WaitVisible(chromedp.CSS(`#endpoint-state[data-state="disabled"]`)))
	if ep, _ := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID); !ep.Disabled {
		t.Error("the endpoint is not disabled")
	}
	p.Do("enable", bt.Click(chromedp.CSS("#endpoint-toggle")), chromedp.WaitVisible(chromedp.CSS(`#endpoint-state[data-state="active"]`)))
	if ep, _ := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, epID); ep.Disabled {
		t.Error("the endpoint is not enabled again")
	}
	p.Do("delete the other endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+st.existing+`'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-endpoint-id=`+bt.CSS(st.existing)+`] #endpoint-delete`)),
		bt.Click(chromedp.CSS("#endpoint-delete")), bt.Click(chromedp.CSS("#confirm-ok")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+bt.CSS(epID)+`]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.ep-row[data-endpoint-id=`+bt.CSS(st.existing)+`]`)))
	if _, err := st.env.Store.FindEndpoint(ctx, st.env.TenantID, st.appID, st.existing); err == nil {
		t.Error("the deleted endpoint is still there")
	}

	// At 375 px nothing overflows sideways, and the list is readable.
	p.Do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row[data-endpoint-id=`+bt.CSS(epID)+`]`)))
	if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the page is %d px wide", w)
	}
	p.Shot("mobile-endpoints")
	p.Do("phone logs", bt.Click(chromedp.CSS(`a[data-tab="logs"]`)), chromedp.WaitVisible(chromedp.CSS(".msg-row")))
	if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the logs are %d px wide", w)
	}
	p.Shot("mobile-logs")

	// Every page at a desktop's and a phone's size: nothing overlaps, no
	// short text (dates, badges, labels) is cut, nothing scrolls sideways.
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{
		{"1400x900", chromedp.EmulateViewport(1400, 900)},
		{"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
	} {
		p.Do("size "+vp.name, vp.size)
		for _, pg := range []struct{ hash, page string }{
			{"/endpoints", "endpoints"}, {"/endpoints/" + epID, "endpoint"}, {"/logs", "logs"},
			{"/catalog", "catalog"}, {"/testing", "testing"},
		} {
			p.Do(vp.name+" "+pg.hash, chromedp.Evaluate[chromedp.Void](`location.hash = '#`+pg.hash+`'`),
				chromedp.WaitVisible(chromedp.CSS(`main[data-page=`+bt.CSS(pg.page)+`] .card`)),
				chromedp.WaitNotPresent(chromedp.CSS(`main .loading`)))
			p.CheckLayout(pg.page + " at " + vp.name)
		}
	}
	b.CheckNoErrors()
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
	deadline := time.Now().Add(bt.StepTimeout)
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
	b := browsers.New(t)
	p := b.Tab("session")

	link := st.link(t)
	p.Do("open the magic link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	p.Do("sign out", bt.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS(`main[data-screen="info"]`)))
	if text := bt.Eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "You have signed out") {
		t.Errorf("after signing out the portal shows %q", text)
	}
	key := strings.SplitN(link, "#key=", 2)[1]
	if _, err := st.env.SDK(key).Application.Get(context.Background(), st.appID); err == nil {
		t.Error("the link still works after signing out")
	}

	p.Do("open a new link", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if err := st.sdk.Authentication.ExpireAll(context.Background(), st.appID, models.ApplicationTokenExpireIn{}, nil); err != nil {
		t.Fatal(err)
	}
	p.Do("go to the logs", bt.Click(chromedp.CSS(`a[data-tab="logs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-screen="error"]`)))
	if text := bt.Eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "Your session has ended") {
		t.Errorf("after expire-all the portal shows %q", text)
	}
	p.Shot("session-ended")

	// The token's tenant is not the tenant in the path.
	other, _, _ := st.env.NewTenant("Other")
	key = strings.SplitN(st.link(t), "#key=", 2)[1]
	p.Do("open under another tenant", chromedp.Navigate(st.env.URL+"/portal/o/"+other+"/#key="+key),
		chromedp.WaitVisible(chromedp.CSS(`main[data-screen="error"]`)))
	if text := bt.Eval[string](p, "read", `document.body.innerText`); !strings.Contains(text, "does not belong here") {
		t.Errorf("under another tenant the portal shows %q", text)
	}
	// A read-only link shows everything and offers no change.
	p.Do("open a read-only link", chromedp.Navigate(st.linkWith(t, models.AppPortalAccessIn{ReadOnly: ptr(true)})),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"] .ep-row`)))
	if got := bt.Eval[string](p, "look for actions", `[!!document.getElementById('add-endpoint'), document.querySelector('.topbar .badge')?.textContent].join('|')`); got != "false|Read-only" {
		t.Errorf("read-only portal: add button and badge = %q", got)
	}
	p.Do("open the endpoint", bt.Click(chromedp.CSS(".ep-row")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoint"] #secret-reveal`)))
	if got := bt.Eval[string](p, "look for actions", `['#endpoint-edit', '#endpoint-toggle', '#endpoint-delete', '#secret-rotate', '#recover-form'].filter(s => document.querySelector(s)).join(',')`); got != "" {
		t.Errorf("read-only portal offers %s", got)
	}
	p.Shot("read-only")

	// A link without a token explains itself.
	p.Do("open without a token", chromedp.Navigate(st.env.URL+"/portal/"),
		chromedp.WaitVisible(chromedp.CSS(`#boot.failed`)))
	b.CheckNoErrors()
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
func frameTarget(t *testing.T, p *bt.Page, portalURL string) context.Context {
	t.Helper()
	deadline := time.Now().Add(bt.StepTimeout)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(p.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, portalURL+"/portal/o/") {
				ctx, cancel := chromedp.NewContext(p.Ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return ctx
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the browser's target list
	}
	p.Failed("find the portal's iframe", fmt.Errorf("no iframe target on %s/portal/o/", portalURL))
	return nil
}

// TestPortal_Iframe embeds the portal in a page of another site (the
// tenant's dashboard), with the tenant's branding and framing policy, and
// goes through the same flow there; a site not on the list cannot frame it.
func TestPortal_Iframe(t *testing.T) {
	st := newStack(t)
	b := browsers.New(t)
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

	top := b.Tab("iframe")
	top.Do("open the tenant's dashboard", chromedp.Navigate(allowed+"/"), chromedp.WaitVisible(chromedp.CSS("#portal")))
	// Screenshots show the whole dashboard, the portal inside.
	frame := &bt.Page{B: b, Ctx: frameTarget(t, top, st.env.URL), Name: "iframe", ShotCtx: top.Ctx}
	b.Watch(frame.Ctx)
	frame.Do("wait for the portal", chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	if got := bt.Eval[string](frame, "read the brand", `document.getElementById('brand-name').textContent + '|' + document.documentElement.dataset.theme + '|' + getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()`); got != "Acme Webhooks|dark|#0e7c66" {
		t.Errorf("branding in the iframe = %q", got)
	}
	if n := bt.Eval[int](frame, "cookies", `document.cookie.length`); n != 0 {
		t.Errorf("the portal set cookies: %d bytes", n)
	}
	exercise(t, st, frame)
	b.CheckNoErrors() // before a refusal, which the browser logs

	// A site that is not on the tenant's list gets a refusal: the browser
	// puts its error page in the frame instead of the tenant's page.
	evilPort := hostPage(t, st.link(t))
	foreign := b.Tab("iframe-refused")
	foreign.Do("open a foreign site", chromedp.Navigate("http://evil.test:"+evilPort+"/"), chromedp.WaitVisible(chromedp.CSS("#portal")))
	refused := &bt.Page{B: b, Ctx: frameTarget(t, foreign, st.env.URL), Name: "iframe-refused", ShotCtx: foreign.Ctx}
	outcome := bt.Until[string](refused, "see the frame settle",
		`location.protocol === 'chrome-error:' ? 'refused' : (document.querySelector('main[data-page]') ? 'rendered' : '')`)
	if outcome != "refused" {
		t.Errorf("a site outside the tenant's list framed the portal: %s", outcome)
	}
	foreign.Shot("dashboard")
}

// TestPortal_StatusAndRetryAll: the message list shows each message's
// status per endpoint; "Failed" keeps the messages that failed for good;
// once the receiver is back, "Retry all failed" resends them with
// progress, and the statuses turn to succeeded.
func TestPortal_StatusAndRetryAll(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	good, bad := newReceiver(t), newReceiver(t)
	bad.setFailing(true)
	if _, err := st.sdk.Endpoint.Create(ctx, st.appID, models.EndpointIn{Url: good.srv.URL + "/ok", Description: ptr("Always up")}, nil); err != nil {
		t.Fatal(err)
	}
	epBad, err := st.sdk.Endpoint.Create(ctx, st.appID, models.EndpointIn{Url: bad.srv.URL + "/flaky", Description: ptr("Flaky"), FilterTypes: []string{"invoice.paid"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	both, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"invoice": "in_both"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// order.created goes to the endpoint without a filter only.
	one, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "order.created", Payload: map[string]any{"order": "o_1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good.waitFor(t, 2)
	waitFailed(t, st, epBad.Id, both.Id)

	b := browsers.New(t)
	p := b.Tab("status")
	p.Do("open the logs", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)),
		bt.Click(chromedp.CSS(`a[data-tab="logs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.msg-row[data-msg-id=`+bt.CSS(both.Id)+`] .states [data-state="failed"]`)))
	states := func(msgID string) string {
		return bt.Eval[string](p, "read the states", `[...document.querySelectorAll('.msg-row[data-msg-id=`+bt.CSS(msgID)+`] .states [data-state]')].map(e => e.dataset.state + ':' + e.textContent).sort().join(',')`)
	}
	if got := states(both.Id); got != "failed:Flaky: Failed,succeeded:Always up: Succeeded" {
		t.Errorf("the message to two endpoints shows %q", got)
	}
	if got := states(one.Id); got != "succeeded:Succeeded" {
		t.Errorf("the message to one endpoint shows %q", got)
	}
	p.Shot("status-column")

	p.Do("keep the failed", bt.Click(chromedp.CSS("#logs-failed")),
		chromedp.WaitVisible(chromedp.CSS(`#logs-failed[aria-pressed="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.msg-row[data-msg-id=`+bt.CSS(both.Id)+`]`)))
	if n := bt.Eval[int](p, "count", `document.querySelectorAll('.msg-row').length`); n != 1 {
		t.Errorf("failed filter: %d rows, want 1", n)
	}
	p.Shot("failed-filter")

	bad.setFailing(false)
	before := bad.count()
	p.Do("retry all failed", bt.Click(chromedp.CSS("#retry-failed")), chromedp.WaitVisible(chromedp.CSS("#retry-dialog #retry-since")))
	if f := bt.Eval[string](p, "focus", `document.activeElement.id`); f != "retry-since" {
		t.Errorf("focus in the retry dialog is on %q", f)
	}
	p.Shot("retry-dialog")
	p.Do("start", bt.Click(chromedp.CSS("#retry-start")), chromedp.WaitVisible(chromedp.CSS(`#retry-status[data-done="1"]`)))
	if got := bt.Eval[string](p, "read the outcome", `document.getElementById('retry-status').textContent + '|' + document.getElementById('retry-bar').value`); got != "Done: no failed message left since then.|3" { // three enabled endpoints
		t.Errorf("retry outcome %q", got)
	}
	if got := bad.waitFor(t, before+1); !strings.Contains(string(got[before].body), "in_both") {
		t.Errorf("retried delivery = %s", got[before].body)
	}
	p.Shot("retry-done")
	p.Do("close", bt.Click(chromedp.CSS("#retry-close")), chromedp.WaitNotPresent(chromedp.CSS("#retry-dialog")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="logs"] .empty`)))
	if got := bt.Eval[string](p, "read", `document.querySelector('main .empty').innerText`); !strings.Contains(got, "No failed messages") {
		t.Errorf("after the retry the failed list shows %q", got)
	}
	p.Do("show all", bt.Click(chromedp.CSS("#logs-failed")),
		chromedp.WaitVisible(chromedp.CSS(`.msg-row[data-msg-id=`+bt.CSS(both.Id)+`]`)))
	if got := states(both.Id); strings.Contains(got, "failed") || strings.Count(got, "succeeded:") != 2 {
		t.Errorf("after the retry the message shows %q", got)
	}
	// At phone width the status column wraps under the row.
	p.Do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.WaitVisible(chromedp.CSS(".msg-row .states")))
	if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the logs are %d px wide", w)
	}
	p.Shot("mobile-status")
	b.CheckNoErrors()
}
