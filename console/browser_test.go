package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/billing/billingtest"
	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// receiver is a webhook endpoint on an httptest server that records the
// bodies it gets and answers 200.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string // guarded by mu
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor waits until the receiver has had n requests and returns the
// bodies.
func (r *receiver) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(bt.StepTimeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]string(nil), r.bodies...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond) // polling the receiver's log
	}
	t.Fatalf("the receiver got fewer than %d requests", n)
	return nil
}

func ptr[T any](v T) *T { return &v }

// stack is the whole Hookline (API, worker, portal, console, billing on
// the free plan) with tenant A's data made through the official SDK.
type stack struct {
	env   *testenv.Env
	svc   *billing.Service
	sdk   *svix.Svix
	appA  string
	epA   string // to rcvA, invoice.paid only
	epOff string // disabled
	msgA  string // eventId evt-a1, tag vip
	rcvA  *receiver
}

func newStack(t *testing.T) *stack {
	t.Helper()
	proxy := &billingtest.Proxy{}
	env := testenv.New(t, testenv.Options{Worker: true, Console: true, Quota: proxy, Billing: proxy})
	// The free plan, so that the usage page has a cap to show; Stripe is
	// stripe-mock, whose fixture invoices the usage page lists.
	svc, err := billing.New(context.Background(), env.Store, env.Log, billing.Options{DefaultPlan: "free",
		Stripe: &billing.StripeConfig{SecretKey: "sk_test_123", APIURL: billingtest.StartStripeMock(t), PriceID: "price_123"}})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Set(svc)
	svc.TenantCreated(context.Background(), env.TenantID)
	st := &stack{env: env, svc: svc, sdk: env.SDK(env.APIKey), rcvA: newReceiver(t)}
	ctx := context.Background()
	for _, et := range []models.EventTypeIn{
		{Name: "invoice.paid", Description: "An invoice was paid.", Schemas: &map[string]any{
			"1": map[string]any{"type": "object", "examples": []any{map[string]any{"invoice": "in_1"}}}}},
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
	st.appA = app.Id
	ep, err := st.sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: st.rcvA.srv.URL + "/a", Description: ptr("Acme billing"), FilterTypes: []string{"invoice.paid"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.epA = ep.Id
	// A closed loopback port: nothing is ever delivered there.
	off, err := st.sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:9/closed", Description: ptr("Old receiver"), Disabled: ptr(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.epOff = off.Id
	msg, err := st.sdk.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", EventId: ptr("evt-a1"), Tags: []string{"vip"},
		Payload: map[string]any{"invoice": "in_42", "amount": 1999}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.msgA = msg.Id
	st.rcvA.waitFor(t, 1)
	return st
}

// post sends a JSON request to the stack and decodes the answer.
func post(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// status is the HTTP status of an SDK error (0 when none).
func status(err error) int {
	var se interface{ Status() int }
	if errors.As(err, &se) {
		return se.Status()
	}
	return 0
}

// consoleLink mints a one-time console link through the operator API,
// pointed at the test server.
func consoleLink(t *testing.T, env *testenv.Env, tenantID string) string {
	t.Helper()
	var out struct{ URL string }
	if code := post(t, env.URL+"/admin/v1/tenants/"+tenantID+"/console-link", testenv.AdminToken, &out); code != http.StatusCreated {
		t.Fatalf("console-link: %d", code)
	}
	rest, ok := strings.CutPrefix(out.URL, "http://hookline.test/console/#link=")
	if !ok {
		t.Fatalf("console link %q", out.URL)
	}
	return env.URL + "/console/#link=" + rest
}

func sel(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestConsole_Browser signs in with an API key and goes through every page
// with the data made through the API: overview, applications (create one
// with an endpoint and see a message delivered, rename, open its portal),
// event types, messages, API keys (a revoked key gets 401), usage and
// branding (seen in the customer portal); then at phone width; then signs
// out (the session token gets 401). Tenant B signs in with a console link
// and sees none of A's ids.
func TestConsole_Browser(t *testing.T) {
	st := newStack(t)
	env := st.env
	ctx := context.Background()
	b := browsers.New(t)
	p := b.Tab("console")

	// Sign in with a key; a wrong one is refused first.
	p.Do("open the console", chromedp.Navigate(env.URL+"/console/"), chromedp.WaitVisible(sel("#signin-key")))
	if f := bt.Eval[string](p, "focus", `document.activeElement.id`); f != "signin-key" {
		t.Errorf("focus is on %q, want the key field", f)
	}
	p.Shot("signin")
	p.Do("sign in with a wrong key", chromedp.SendKeys(sel("#signin-key"), "sk_wrong"+kb.Enter), chromedp.WaitVisible(sel("#signin-error")))
	p.Do("sign in", chromedp.Evaluate[chromedp.Void](`document.getElementById('signin-key').value = ''`),
		chromedp.SendKeys(sel("#signin-key"), env.APIKey+kb.Enter),
		chromedp.WaitVisible(sel(`main[data-page="overview"] #chart-hour`)))
	if got := bt.Eval[string](p, "read the tenant", `document.getElementById('tenant-id').textContent`); !strings.Contains(got, env.TenantID) {
		t.Errorf("console header = %q", got)
	}
	if n := bt.Eval[int](p, "cookies", `document.cookie.length`); n != 0 {
		t.Errorf("the console set cookies: %d bytes", n)
	}
	session := bt.Eval[string](p, "read the session", `sessionStorage.getItem('hookline.console.session') || ''`)
	if !strings.HasPrefix(session, tenants.ConsoleSessionPrefix) {
		t.Fatalf("session token = %q", session)
	}
	if _, err := env.SDK(session).Application.Get(ctx, st.appA); err != nil {
		t.Fatalf("the console session does not work on the API: %v", err)
	}

	// Overview: the delivered message's attempt, the disabled endpoint.
	attempts := bt.Until[string](p, "see the attempts", `(() => { const t = document.querySelector('#chart-hour [data-figure="deliveries"]').textContent; return t !== '0' && t; })()`)
	if attempts != "1" {
		t.Errorf("attempts in the last hour = %s, want 1", attempts)
	}
	if rate := bt.Eval[string](p, "read the rate", `document.querySelector('#chart-hour [data-figure="success-rate"]').textContent`); rate != "100 %" {
		t.Errorf("success rate = %q", rate)
	}
	// The chart has a time axis, and its rate line breaks over buckets
	// without attempts: drawn here from buckets with a gap between two
	// busy ones, the line is two pieces, none crossing the gap.
	if got := bt.Eval[int](p, "count the axis labels", `document.querySelectorAll('#chart-hour .chart-axis time').length`); got != 5 {
		t.Errorf("the hour chart's time axis has %d labels, want 5", got)
	}
	rateShape := bt.Eval[string](p, "draw a chart with a gap", `import('/console/assets/pages/chart.js').then(({ barChart }) => {
		const at = (m) => new Date(Date.UTC(2026, 0, 1, 10, m)).toISOString();
		const box = barChart([
			{ start: at(0), succeeded: 5, failed: 0 }, { start: at(1), succeeded: 1, failed: 1 },
			{ start: at(2), succeeded: 0, failed: 0 }, { start: at(3), succeeded: 0, failed: 0 },
			{ start: at(4), succeeded: 0, failed: 2 }, { start: at(5), succeeded: 3, failed: 1 }, { start: at(6), succeeded: 4, failed: 0 },
		], { label: 'test' });
		const lines = [...box.querySelectorAll('polyline.rate')].map((l) => l.getAttribute('points').split(' ').length);
		return lines.join('+') + '|' + box.querySelectorAll('.chart-axis time').length;
	})`)
	if rateShape != "2+3|5" {
		t.Errorf("rate line pieces (points each) | axis labels = %q, want 2+3|5", rateShape)
	}
	p.Do("see the disabled endpoint", chromedp.WaitVisible(sel(`#troubled [data-endpoint-id=`+bt.CSS(st.epOff)+`]`)))
	if q := bt.Eval[string](p, "queue", `document.getElementById('queue-depth').textContent`); q != "0" {
		t.Errorf("queue depth = %q, want 0 (everything delivered)", q)
	}
	p.Shot("overview")

	// Applications: the list, search, create one with an endpoint.
	p.Do("open applications", bt.Click(sel(`a[data-tab="apps"]`)),
		chromedp.WaitVisible(sel(`#app-list .app-row[data-app-id=`+bt.CSS(st.appA)+`]`)))
	// The columns have headings, each over its column.
	if got := bt.Eval[string](p, "read the column headings", `(() => {
		const head = [...document.querySelectorAll('#app-list-head > span')], row = [...document.querySelector('#app-list .app-row').children];
		return head.map((c, i) => c.textContent + '@' + (Math.abs(c.getBoundingClientRect().left - row[i].getBoundingClientRect().left) < 1)).join('|');
	})()`); got != "Name and id@true|UID@true|Created@true|@true" {
		t.Errorf("application list headings (text@aligned) = %q", got)
	}
	p.Do("search", chromedp.SendKeys(sel("#app-search"), "zzz"), chromedp.WaitVisible(sel(`main[data-page="apps"] .empty`)))
	p.Do("search again", chromedp.Evaluate[chromedp.Void](`(e => { e.value = ''; e.dispatchEvent(new Event('input')); })(document.getElementById('app-search'))`),
		chromedp.SendKeys(sel("#app-search"), "acm"), chromedp.WaitVisible(sel(`.app-row[data-app-id=`+bt.CSS(st.appA)+`]`)))
	p.Shot("apps")
	p.Do("create an application", bt.Click(sel("#app-new")), chromedp.WaitVisible(sel("#app-name-input")),
		chromedp.SendKeys(sel("#app-name-input"), "Globex"), chromedp.SendKeys(sel("#app-uid-input"), "globex"),
		bt.Click(sel("#app-create-submit")), chromedp.WaitVisible(sel(`main[data-page="app"] #cep-url`)))
	appB := bt.Eval[string](p, "read the app id", `document.querySelector('main').dataset.appId`)
	if a, err := env.Store.FindApplication(ctx, env.TenantID, appB); err != nil || a.Name != "Globex" || a.UID == nil || *a.UID != "globex" {
		t.Fatalf("the application made in the console: %+v %v", a, err)
	}
	rcvB := newReceiver(t)
	p.Do("add an endpoint", chromedp.SendKeys(sel("#cep-url"), rcvB.srv.URL+"/globex"), chromedp.SendKeys(sel("#cep-description"), "Globex receiver"),
		bt.Click(sel("#cep-submit")), chromedp.WaitVisible(sel(`#app-endpoints .dest-row`)))
	eps, err := env.Store.FindEndpoints(ctx, env.TenantID, appB, tenants.ListParams{})
	if err != nil || len(eps.Items) != 1 || eps.Items[0].URL != rcvB.srv.URL+"/globex" || eps.Items[0].Description != "Globex receiver" {
		t.Fatalf("the endpoint made in the console: %+v %v", eps.Items, err)
	}
	msgB, err := st.sdk.Message.Create(ctx, appB, models.MessageIn{EventType: "user.created", Payload: map[string]any{"user": "u_7"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := rcvB.waitFor(t, 1); !strings.Contains(got[0], "u_7") {
		t.Errorf("delivered to the console's endpoint: %s", got[0])
	}
	p.Do("see the message delivered", chromedp.WaitVisible(sel(`.cmsg-row[data-msg-id=`+bt.CSS(msgB.Id)+`] [data-state="succeeded"]`)))
	// Back at the top: the page grew past the window, and a button under
	// the sticky header takes no click.
	p.Do("rename", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`), bt.Click(sel("#app-rename")), chromedp.WaitVisible(sel("#rename-input")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('rename-input').value = ''`),
		chromedp.SendKeys(sel("#rename-input"), "Globex Inc"+kb.Enter),
		chromedp.WaitNotPresent(sel("#rename-dialog")))
	bt.Until[bool](p, "see the new name", `document.getElementById('app-title').textContent === 'Globex Inc'`)
	if a, _ := env.Store.FindApplication(ctx, env.TenantID, appB); a.Name != "Globex Inc" {
		t.Errorf("after rename the store has %q", a.Name)
	}
	p.Shot("app")
	p.Do("mint a portal link", bt.Click(sel("#app-portal")), chromedp.WaitVisible(sel("#portal-dialog #portal-link")))
	portalLink := bt.Eval[string](p, "read the link", `document.getElementById('portal-link').href`)
	if !strings.HasPrefix(portalLink, env.URL+"/portal/#key=") {
		t.Fatalf("portal link = %q", portalLink)
	}
	p.Shot("portal-link")
	p.Do("close", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(sel("#portal-dialog")))

	// Event types: the catalog; a schema is checked as it is typed.
	p.Do("open event types", bt.Click(sel(`a[data-tab="event-types"]`)),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="invoice.paid"]`)))
	p.Do("new event type", bt.Click(sel("#et-new")), chromedp.WaitVisible(sel("#et-schema")),
		chromedp.SendKeys(sel("#et-name"), "order.shipped"), chromedp.SendKeys(sel("#et-description"), "An order left the warehouse."))
	bt.Eval[chromedp.Void](p, "type a bad schema", `(e => { e.value = '{"type": "objekt"'; e.dispatchEvent(new Event('input')); })(document.getElementById('et-schema'))`)
	if got := bt.Eval[string](p, "read the problems", `document.getElementById('et-schema-problems').innerText + '|' + document.getElementById('et-save').disabled`); !strings.Contains(got, "Not valid JSON") || !strings.HasSuffix(got, "|true") {
		t.Errorf("a bad schema shows %q", got)
	}
	bt.Eval[chromedp.Void](p, "type a wrong type", `(e => { e.value = '{"type": "objekt"}'; e.dispatchEvent(new Event('input')); })(document.getElementById('et-schema'))`)
	if got := bt.Eval[string](p, "read the problems", `document.getElementById('et-schema-problems').innerText`); !strings.Contains(got, "unknown type") {
		t.Errorf("a wrong type shows %q", got)
	}
	bt.Eval[chromedp.Void](p, "type a good schema", `(e => { e.value = JSON.stringify({type: 'object', properties: {order: {type: 'string'}}, examples: [{order: 'ord_9'}]}); e.dispatchEvent(new Event('input')); })(document.getElementById('et-schema'))`)
	p.Do("see the example", chromedp.WaitVisible(sel("#et-example pre.json")))
	p.Shot("event-type-editor")
	p.Do("save", bt.Click(sel("#et-save")), chromedp.WaitVisible(sel(`#et-list [data-event-type="order.shipped"]`)))
	et, err := env.Store.FindEventType(ctx, env.TenantID, "order.shipped")
	if err != nil || et.Description != "An order left the warehouse." || !strings.Contains(string(et.Schemas), "ord_9") {
		t.Fatalf("stored event type: %+v %v", et, err)
	}
	p.Do("archive it", bt.Click(sel(`button[data-archive="order.shipped"]`)),
		chromedp.WaitVisible(sel(`#et-list [data-event-type="order.shipped"][data-archived="1"]`)))
	if et, _ := env.Store.FindEventType(ctx, env.TenantID, "order.shipped"); !et.Archived {
		t.Error("the event type is not archived")
	}
	p.Shot("event-types")

	// Messages across applications: both apps' messages, search, detail.
	p.Do("open messages", bt.Click(sel(`a[data-tab="messages"]`)),
		chromedp.WaitVisible(sel(`#msg-results .cmsg-row[data-msg-id=`+bt.CSS(st.msgA)+`]`)),
		chromedp.WaitVisible(sel(`#msg-results .cmsg-row[data-msg-id=`+bt.CSS(msgB.Id)+`]`)))
	p.Shot("messages")
	p.Do("search by eventId", chromedp.SendKeys(sel("#msg-search"), "evt-a1"+kb.Enter),
		chromedp.WaitNotPresent(sel(`#msg-results .cmsg-row[data-msg-id=`+bt.CSS(msgB.Id)+`]`)),
		chromedp.WaitVisible(sel(`#msg-results .cmsg-row[data-msg-id=`+bt.CSS(st.msgA)+`]`)))
	p.Do("filter by tag and failed", chromedp.Navigate(env.URL+"/console/#/messages?tag=vip&status=failed"),
		chromedp.WaitVisible(sel(`#msg-results .empty`)))
	p.Do("filter by tag", chromedp.Navigate(env.URL+"/console/#/messages?tag=vip"),
		chromedp.WaitVisible(sel(`#msg-results .cmsg-row[data-msg-id=`+bt.CSS(st.msgA)+`]`)))
	if n := bt.Eval[int](p, "count", `document.querySelectorAll('#msg-results .cmsg-row').length`); n != 1 {
		t.Errorf("tag vip: %d rows, want 1", n)
	}
	p.Do("open the message", bt.Click(sel(`.cmsg-row[data-msg-id=`+bt.CSS(st.msgA)+`]`)),
		chromedp.WaitVisible(sel(`#destinations .dest-row[data-endpoint-id=`+bt.CSS(st.epA)+`] [data-status="0"]`)),
		chromedp.WaitVisible(sel(`#message-attempts .attempt-row`)))
	if got := bt.Eval[string](p, "read the payload", `document.getElementById('message-payload').innerText`); !strings.Contains(got, `"in_42"`) {
		t.Errorf("payload shown = %q", got)
	}
	p.Do("open the attempt", bt.Click(sel(`#message-attempts .attempt-row`)), chromedp.WaitVisible(sel("#attempt-dialog #attempt-request-headers")))
	if got := bt.Eval[string](p, "read the attempt", `document.getElementById('attempt-dialog').innerText`); !strings.Contains(got, `"ok": true`) {
		t.Errorf("the attempt does not show the response: %q", got)
	}
	p.Shot("attempt")
	p.Do("close it", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(sel("#attempt-dialog")))
	p.Do("resend", bt.Click(sel(`button[data-resend-endpoint=`+bt.CSS(st.epA)+`]`)),
		chromedp.WaitVisible(sel(`#message-attempts .attempt-row[data-trigger="manual"]`)))
	if got := st.rcvA.waitFor(t, 2); !strings.Contains(got[1], "in_42") {
		t.Errorf("resent body = %s", got[1])
	}
	p.Shot("message")

	// API keys: the stack's key is listed; a new one is shown once, works,
	// and gets 401 once revoked.
	p.Do("open keys", bt.Click(sel(`a[data-tab="keys"]`)), chromedp.WaitVisible(sel(`#key-list .key-row`)))
	p.Do("create a key", bt.Click(sel("#key-new")), chromedp.WaitVisible(sel("#key-name")),
		chromedp.SendKeys(sel("#key-name"), "ci runner"+kb.Enter), chromedp.WaitVisible(sel("#new-key-value")))
	key := bt.Eval[string](p, "read the key", `document.getElementById('new-key-value').textContent`)
	if !strings.HasPrefix(key, tenants.APIKeyPrefix) {
		t.Fatalf("new key = %q", key)
	}
	p.Shot("key-created")
	if _, err := env.SDK(key).Application.List(ctx, nil); err != nil {
		t.Fatalf("the new key does not work: %v", err)
	}
	keys, err := env.Store.FindAPIKeys(ctx, env.TenantID)
	if err != nil || len(keys) != 2 || keys[1].Name != "ci runner" {
		t.Fatalf("stored keys: %+v %v", keys, err)
	}
	p.Do("close", bt.Click(sel("#key-done")), chromedp.WaitNotPresent(sel("#key-dialog")),
		bt.Click(sel(`button[data-revoke=`+bt.CSS(keys[1].ID)+`]`)), bt.Click(sel("#confirm-ok")),
		chromedp.WaitVisible(sel(`.key-row[data-key-id=`+bt.CSS(keys[1].ID)+`][data-revoked="1"]`)))
	if _, err := env.SDK(key).Application.List(ctx, nil); status(err) != http.StatusUnauthorized {
		t.Errorf("a revoked key: %v, want 401", err)
	}
	p.Shot("keys")

	// Usage: the page shows what the usage API says.
	p.Do("open usage", bt.Click(sel(`a[data-tab="usage"]`)), chromedp.WaitVisible(sel("#usage-period #usage-deliveries")))
	var usage struct {
		Period struct {
			Plan       string
			Deliveries int64
		}
	}
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/api/v1/usage", nil)
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		_ = json.NewDecoder(resp.Body).Decode(&usage)
		resp.Body.Close()
	}
	if got := bt.Eval[string](p, "read usage", `document.getElementById('usage-plan').textContent + '|' + document.getElementById('usage-deliveries').textContent`); usage.Period.Plan != "free" || got != "free|"+itoa(usage.Period.Deliveries) {
		t.Errorf("usage page %q, API %+v", got, usage.Period)
	}
	invoices, err := st.svc.Invoices(ctx, env.TenantID, 12)
	if err != nil || len(invoices) == 0 {
		t.Fatalf("stripe-mock's invoices: %v %v", invoices, err)
	}
	p.Do("see the invoices", chromedp.WaitVisible(sel(`#invoice-list [data-invoice-id=`+bt.CSS(invoices[0].ID)+`]`)))
	p.Shot("usage")

	// Branding, with its live preview, then seen in the customer portal.
	p.Do("open branding", bt.Click(sel(`a[data-tab="branding"]`)), chromedp.WaitVisible(sel("#brand-display-name")),
		chromedp.SendKeys(sel("#brand-display-name"), "Acme Webhooks"),
		chromedp.SendKeys(sel("#brand-color"), "#0e7c66"),
		chromedp.SetValue(sel("#brand-theme"), "dark"))
	bt.Eval[chromedp.Void](p, "change the theme", `document.getElementById('brand-theme').dispatchEvent(new Event('change'))`)
	if got := bt.Eval[string](p, "read the preview", `document.getElementById('preview-name').textContent + '|' + document.getElementById('brand-preview').style.getPropertyValue('--brand') + '|' + document.getElementById('brand-preview').dataset.theme`); got != "Acme Webhooks|#0e7c66|dark" {
		t.Errorf("preview = %q", got)
	}
	p.Shot("branding")
	p.Do("save", bt.Click(sel("#brand-save")), chromedp.WaitVisible(sel("#brand-form[data-saved]")))
	ps, err := env.Store.FindPortalSettings(ctx, env.TenantID)
	if err != nil || ps.DisplayName != "Acme Webhooks" || ps.PrimaryColor != "#0e7c66" || ps.Theme != "dark" {
		t.Fatalf("stored settings: %+v %v", ps, err)
	}
	p.Do("open the customer portal", chromedp.Navigate(portalLink), chromedp.WaitVisible(sel(`main[data-page="endpoints"] .ep-row`)))
	if got := bt.Eval[string](p, "read the portal's brand", `document.getElementById('brand-name').textContent + '|' + document.documentElement.dataset.theme + '|' + getComputedStyle(document.documentElement).getPropertyValue('--brand').trim() + '|' + document.getElementById('app-name').textContent`); got != "Acme Webhooks|dark|#0e7c66|Webhooks for Globex Inc" {
		t.Errorf("the portal shows %q", got)
	}
	p.Shot("portal-branded")

	// Back in the console (the tab keeps its session), at phone width.
	p.Do("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Navigate(env.URL+"/console/#/overview"), chromedp.WaitVisible(sel(`main[data-page="overview"] #chart-day`)))
	for _, pg := range []string{"overview", "apps", "messages", "keys", "event-types", "usage", "branding", "throttled"} {
		p.Do("phone "+pg, chromedp.Evaluate[chromedp.Void](`location.hash = '#/`+pg+`'`),
			chromedp.WaitVisible(sel(`main[data-page=`+bt.CSS(pg)+`] .card`)))
		if w := bt.Eval[int](p, "measure", `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("at 375 px the %s page is %d px wide", pg, w)
		}
		if pg == "overview" || pg == "messages" {
			p.Shot("mobile-" + pg)
		}
	}
	// A message whose first try found nothing listening: its attempt has
	// no response, and its delivery waits for the retry 5 s later. The
	// list and the message's page name that state alike.
	failApp, err := st.sdk.Application.Create(ctx, models.ApplicationIn{Name: "Refusing Co"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.sdk.Endpoint.Create(ctx, failApp.Id, models.EndpointIn{Url: "http://127.0.0.1:9/refused", Description: ptr("Nothing listens here")}, nil); err != nil {
		t.Fatal(err)
	}
	failMsg, err := st.sdk.Message.Create(ctx, failApp.Id, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"invoice": "in_refused"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := st.sdk.MessageAttempt.ListByMsg(ctx, failApp.Id, failMsg.Id, nil)
		if err == nil && len(out.Data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt of the refused message within 20 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Do("open the refused message", chromedp.Evaluate[chromedp.Void](`location.hash = '#/messages/`+failApp.Id+`/`+failMsg.Id+`'`),
		chromedp.WaitVisible(sel(`#destinations .dest-row [data-status="1"]`)),
		chromedp.WaitVisible(sel(`.attempt-row`)))
	pageState := bt.Eval[string](p, "read its state", `document.querySelector('#destinations .dest-row [data-status="1"]').textContent`)
	p.Do("list it", chromedp.Evaluate[chromedp.Void](`location.hash = '#/messages'`),
		chromedp.WaitVisible(sel(`.cmsg-row[data-msg-id=`+bt.CSS(failMsg.Id)+`] [data-state]`)))
	listState := bt.Eval[string](p, "read its state in the list", `document.querySelector('.cmsg-row[data-msg-id=`+bt.CSS(failMsg.Id)+`] [data-state]').textContent`)
	if pageState != listState || (pageState != "Scheduled" && pageState != "Pending") {
		t.Errorf("the refused message reads %q on its page and %q in the list, want one state", pageState, listState)
	}

	// Every page at a desktop's and a phone's size: nothing overlaps,
	// no short text (dates, badges, labels) is cut, nothing scrolls
	// sideways.
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{
		{"1400x900", chromedp.EmulateViewport(1400, 900)},
		{"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
	} {
		p.Do("size "+vp.name, vp.size)
		for _, pg := range []struct{ hash, page string }{
			{"overview", "overview"}, {"apps", "apps"}, {"apps/" + st.appA, "app"}, {"messages", "messages"},
			{"messages/" + st.appA + "/" + st.msgA, "message"}, {"messages/" + failApp.Id + "/" + failMsg.Id, "message"},
			{"keys", "keys"}, {"event-types", "event-types"},
			{"usage", "usage"}, {"branding", "branding"},
		} {
			p.Do(vp.name+" "+pg.hash, chromedp.Evaluate[chromedp.Void](`location.hash = '#/`+pg.hash+`'`),
				chromedp.WaitVisible(sel(`main[data-page=`+bt.CSS(pg.page)+`] .card`)),
				chromedp.WaitNotPresent(sel(`main .loading`)))
			p.CheckLayout(pg.page + " at " + vp.name)
		}
	}
	p.Do("desktop width", chromedp.EmulateViewport(1280, 900))

	// Sign out: the session token stops working.
	p.Do("sign out", bt.Click(sel("#sign-out")), chromedp.WaitVisible(sel(`#signin-form[data-signed-out="1"]`)))
	if _, err := env.SDK(session).Application.Get(ctx, st.appA); status(err) != http.StatusUnauthorized {
		t.Errorf("after sign-out the session token: %v, want 401", err)
	}
	if v := bt.Eval[string](p, "storage", `sessionStorage.getItem('hookline.console.session') || ''`); v != "" {
		t.Errorf("the token stays in sessionStorage after sign-out")
	}

	// Tenant B, through a one-time console link, sees nothing of A's.
	tenantB, _, _ := env.NewTenant("Tenant B")
	link := consoleLink(t, env, tenantB)
	p.Do("open B's console link", chromedp.Navigate(link), chromedp.WaitVisible(sel(`main[data-page="overview"] #chart-hour`)))
	if u := bt.Eval[string](p, "address", `location.href`); strings.Contains(u, "link=") {
		t.Errorf("the link stays in the address bar: %s", u)
	}
	if got := bt.Eval[string](p, "read the tenant", `document.getElementById('tenant-id').textContent`); !strings.Contains(got, tenantB) {
		t.Errorf("B's console header = %q", got)
	}
	forbidden := []string{env.TenantID, st.appA, appB, st.epA, st.epOff, st.msgA, msgB.Id, "Acme", "Globex", keys[0].Prefix}
	for _, pg := range []string{"overview", "apps", "messages", "keys", "event-types", "branding", "throttled"} {
		p.Do("B's "+pg, chromedp.Evaluate[chromedp.Void](`location.hash = '#/`+pg+`'`),
			chromedp.WaitVisible(sel(`main[data-page=`+bt.CSS(pg)+`] .card`)),
			chromedp.WaitNotPresent(sel(`main .loading`)))
		text := bt.Eval[string](p, "read", `document.body.innerText + ' ' + [...document.querySelectorAll('[data-app-id],[data-msg-id],[data-endpoint-id],[data-key-id]')].map(e => JSON.stringify(e.dataset)).join(' ')`)
		for _, id := range forbidden {
			if strings.Contains(text, id) {
				t.Errorf("tenant B's %s page shows A's %q", pg, id)
			}
		}
		if pg == "apps" {
			p.Shot("tenant-b-apps")
		}
	}
	// B's console cannot reach A's data by id either.
	bSession := bt.Eval[string](p, "read B's session", `sessionStorage.getItem('hookline.console.session') || ''`)
	if _, err := env.SDK(bSession).Application.Get(ctx, st.appA); status(err) != http.StatusNotFound {
		t.Errorf("B's session reading A's app: %v, want 404", err)
	}
	// The link worked once.
	p.Do("reuse the link", chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`), chromedp.Navigate(env.URL+"/"),
		chromedp.Navigate(link), chromedp.WaitVisible(sel("#signin-error")))
	if got := bt.Eval[string](p, "read", `document.getElementById('signin-error').textContent`); !strings.Contains(got, "not valid any more") {
		t.Errorf("a used link shows %q", got)
	}
	p.Shot("link-used")
	b.CheckNoErrors()
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
