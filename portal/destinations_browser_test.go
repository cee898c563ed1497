package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// batchReceiver is a FIFO endpoint: it records the message ids of each
// batch it accepts, in order, and refuses everything (500) while failing.
type batchReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	batches [][]string // accepted, in order; guarded by mu
	fail    bool       // guarded by mu
}

func newBatchReceiver(t *testing.T) *batchReceiver {
	r := &batchReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var events []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &events); err != nil || len(events) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"queue full"}`))
			return
		}
		ids := make([]string, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		r.batches = append(r.batches, ids)
		_, _ = w.Write([]byte(`{"accepted":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *batchReceiver) setFailing(fail bool) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

// waitIDs waits until n messages were accepted and returns their ids in
// the order they came (whatever the batches).
func (r *batchReceiver) waitIDs(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(bt.StepTimeout)
	for {
		r.mu.Lock()
		got := slices.Concat(r.batches...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the FIFO receiver accepted %d messages, want %d: %v", len(got), n, got)
		}
		time.Sleep(20 * time.Millisecond) // polling the receiver's log
	}
}

// TestPortal_BrowserDestinations: a customer adds a FIFO endpoint through
// the portal's form (a URL the API refuses is shown at its field first),
// sees the batches real deliveries made in its attempt log, sees it stop
// after a batch used up its retries and sends it again with Force retry,
// skips a failing batch and resumes, pauses and resumes it; adds a
// polling endpoint for one event type and finds its consumer URL on the
// server's public address with an example that carries no credential until
// the polling token is revealed; then Copy gives a command that reads the
// messages as it is; rotating (ending the old token at once) shows the new
// token, and the old one is refused; previews its messages, and sees the
// preview say it is paused once it is.
// Both show in the list with their status, beside a RabbitMQ destination
// made through the API, which shows read-only and without its URI. Every page holds its layout
// on a desktop and a phone.
func TestPortal_BrowserDestinations(t *testing.T) {
	st := newStack(t)
	env := st.env
	ctx := context.Background()
	rcv := newBatchReceiver(t)
	b := browsers.New(t)
	p := b.Tab("portal-destinations")
	link := st.link(t)
	p.Do("open the magic link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	p.Do("open the destinations", bt.Click(chromedp.CSS(`a[data-tab="destinations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="destinations"] #dest-list .empty`)))

	// A FIFO endpoint through the form; the API's refusals land at their
	// fields.
	p.Do("open the form", bt.Click(chromedp.CSS("#add-destination")), chromedp.WaitVisible(chromedp.CSS("#dest-form #dest-url-input")))
	setValue(p, "dest-url-input", "ftp://example.com/batches")
	p.Do("save a refused URL", bt.Click(chromedp.CSS("#dest-save")))
	if msg := bt.Until[string](p, "see the API's error", `(document.querySelector('#dest-form .field.invalid[data-field="config"] .error') || {}).textContent || ''`); msg == "" {
		t.Error("no error at the URL field")
	}
	setValue(p, "dest-url-input", rcv.srv.URL+"/batches")
	setValue(p, "dest-batch-size", "1001")
	p.Do("save a batch too big", bt.Click(chromedp.CSS("#dest-save")))
	bt.Until[bool](p, "see the batch size error", `((document.querySelector('#dest-form .field.invalid[data-field="batchSize"] .error') || {}).textContent || '').includes('1 to 1000')`)
	p.Shot("form-errors")
	bt.CheckLayout(p, "#dest-form")
	setValue(p, "dest-batch-size", "2")
	p.Do("create it", bt.Click(chromedp.CSS("#dest-save")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="destination"] #dest-attempts`)))
	fifoID := bt.Eval[string](p, "read its id", `document.querySelector('main').dataset.destinationId`)
	d, err := env.Store.FindDestination(ctx, env.TenantID, st.appID, fifoID)
	if err != nil {
		t.Fatalf("the destination made through the form: %v", err)
	}
	if d.Type != "fifoEndpoint" || d.URL != rcv.srv.URL+"/batches" || d.BatchSize != 2 || d.MaxWaitSecs != 0 || d.Disabled || len(d.EventTypes) != 0 {
		t.Errorf("stored destination = %+v", d)
	}

	// Real deliveries: three messages go as a batch of two and one of one.
	send := func(eventType string) string {
		t.Helper()
		m, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: eventType, Payload: map[string]any{"n": 1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m.Id
	}
	m1, m2, m3 := send("user.created"), send("user.created"), send("user.created")
	if all := rcv.waitIDs(t, 3); !slices.Equal(all, []string{m1, m2, m3}) {
		t.Fatalf("the receiver accepted %v, want %v in order", all, []string{m1, m2, m3})
	}
	// rows waits for at least n attempts, the newest ending with message
	// newest, and returns them as "first..last status text".
	rows := func(newest string, n int) []string {
		t.Helper()
		return bt.Until[[]string](p, "see the attempts", `(() => {
			const rows = [...document.querySelectorAll('#dest-attempts .sink-attempt-row')];
			return rows.length >= `+itoa(n)+` && rows[0].dataset.last === `+bt.JS(newest)+` && rows.map((r) => r.dataset.first + '..' + r.dataset.last + ' ' + r.querySelector('[data-status]').dataset.status + ' ' + r.innerText.replace(/\s+/g, ' '));
		})()`)
	}
	got := rows(m3, 2)
	// Newest first: the batches are [m1 m2] and [m3] (or [m1] and [m2 m3],
	// or one message each, as the sender found them stored).
	if !strings.Contains(got[0], ".."+m3+" 0 ") || !strings.Contains(got[0], "200") || !strings.HasPrefix(got[len(got)-1], m1+"..") {
		t.Errorf("attempt rows = %q", got)
	}
	p.Do("open an attempt", bt.Click(chromedp.CSS(`#dest-attempts .sink-attempt-row`)), chromedp.WaitVisible(chromedp.CSS("#dest-attempt-response pre")))
	if resp := bt.Eval[string](p, "read the answer", `document.getElementById('dest-attempt-response').innerText`); !strings.Contains(resp, "accepted") {
		t.Errorf("the attempt's response = %q", resp)
	}
	p.Do("close it", bt.Click(chromedp.CSS("#dest-attempt-close")), chromedp.WaitNotPresent(chromedp.CSS("#dest-attempt-dialog")))

	// The receiver fails: the batch is retried, then the destination
	// stops; once the receiver is back, Force retry sends it.
	rcv.setFailing(true)
	m4 := send("user.created")
	p.Do("see it stop", chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="disabled"]`)), chromedp.WaitVisible(chromedp.CSS(`#dest-note .callout.error`)))
	if got := rows(m4, 5); !strings.HasPrefix(got[0], m4+".."+m4+" 2 ") || !strings.Contains(got[0], "500") {
		t.Errorf("after the failures the newest attempt = %q", got[0])
	}
	p.Shot("stopped")
	rcv.setFailing(false)
	p.Do("force a retry", bt.Click(chromedp.CSS("#dest-force-retry")), chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="enabled"]`)))
	if all := rcv.waitIDs(t, 4); !slices.Equal(all, []string{m1, m2, m3, m4}) {
		t.Errorf("after Force retry the receiver got %v", all)
	}

	// Skip: a failing batch is skipped, the destination resumed, and the
	// next message goes; the skipped one never does.
	rcv.setFailing(true)
	m5 := send("user.created")
	p.Do("see it stop again", chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="disabled"] [data-status="disabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dest-note .callout.error`)))
	rcv.setFailing(false)
	p.Do("skip the batch", bt.Click(chromedp.CSS("#dest-skip")), bt.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitNotPresent(chromedp.CSS("#confirm-dialog")))
	bt.Until[bool](p, "the skip done", `[...document.querySelectorAll('.toast')].some((t) => t.textContent === 'Batch skipped')`)
	p.Do("resume", bt.Click(chromedp.CSS("#dest-toggle")), chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="enabled"]`)))
	m6 := send("user.created")
	if all := rcv.waitIDs(t, 5); !slices.Equal(all, []string{m1, m2, m3, m4, m6}) {
		t.Errorf("after the skip the receiver got %v (skipped %s)", all, m5)
	}

	// Pause and resume, checked in the store and through the API.
	p.Do("pause", bt.Click(chromedp.CSS("#dest-toggle")), chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="disabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dest-note .callout.info`)))
	if d, _ := env.Store.FindDestination(ctx, env.TenantID, st.appID, fifoID); !d.Disabled {
		t.Error("the paused destination is not disabled in the store")
	}
	if code, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+st.appID+"/destination/"+fifoID, env.APIKey, ""); code != 200 || !strings.Contains(body, `"status":"disabled"`) {
		t.Errorf("the API shows the paused destination as %d %s", code, body)
	}
	p.Do("resume", bt.Click(chromedp.CSS("#dest-toggle")), chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="enabled"]`)))
	if d, _ := env.Store.FindDestination(ctx, env.TenantID, st.appID, fifoID); d.Disabled {
		t.Error("the resumed destination is still disabled in the store")
	}

	// Edit: the batch size and an event type.
	p.Do("edit", bt.Click(chromedp.CSS("#dest-edit")), chromedp.WaitVisible(chromedp.CSS("#dest-form #dest-batch-size")))
	if v := bt.Eval[string](p, "read the form", `document.getElementById('dest-url-input').value + ' ' + document.getElementById('dest-batch-size').value + ' ' + document.querySelector('input[name="type"]:checked').value`); v != rcv.srv.URL+"/batches 2 fifoEndpoint" {
		t.Errorf("the edit form shows %q", v)
	}
	setValue(p, "dest-batch-size", "3")
	p.Do("save the edit", bt.Click(chromedp.CSS(`#dest-form input[name="eventTypes"][value="user.created"]`)), bt.Click(chromedp.CSS("#dest-save")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="destination"] #dest-batch`)))
	if d, _ := env.Store.FindDestination(ctx, env.TenantID, st.appID, fifoID); d.BatchSize != 3 || strings.Join(d.EventTypes, ",") != "user.created" || d.URL != rcv.srv.URL+"/batches" {
		t.Errorf("after the edit the destination is %+v", d)
	}

	// A RabbitMQ destination made through the API shows read-only, without
	// its broker's URI (which holds credentials).
	rabbit, err := env.Store.CreateDestination(ctx, env.TenantID, st.appID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: "amqp://guest:sekrit@127.0.0.1:5672/", RoutingKey: "acme.events", BatchSize: 1, Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Do("open the RabbitMQ destination", chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations/`+rabbit.ID+`'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-destination-id=`+bt.CSS(rabbit.ID)+`] #dest-attempts`)))
	if shown := bt.Eval[string](p, "read the page", `document.querySelector('main').innerText`); !strings.Contains(shown, "RabbitMQ") || !strings.Contains(shown, "acme.events") ||
		strings.Contains(shown, "sekrit") || strings.Contains(shown, "amqp://") {
		t.Errorf("the RabbitMQ page shows %q", shown)
	}
	if n := bt.Eval[int](p, "look for Edit", `document.querySelectorAll('#dest-edit').length`); n != 0 {
		t.Error("a RabbitMQ destination offers Edit")
	}

	// A polling endpoint for invoice.paid.
	p.Do("back to the list", chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations'`),
		chromedp.WaitVisible(chromedp.CSS(`.sink-row[data-destination-id=`+bt.CSS(fifoID)+`]`)), bt.Click(chromedp.CSS("#add-destination")),
		chromedp.WaitVisible(chromedp.CSS(`#dest-form input[name="type"][value="pollingEndpoint"]`)))
	p.Do("pick polling and invoice.paid", bt.Click(chromedp.CSS(`#dest-form input[name="type"][value="pollingEndpoint"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#dest-url-input")),
		bt.Click(chromedp.CSS(`#dest-form input[name="eventTypes"][value="invoice.paid"]`)),
		bt.Click(chromedp.CSS("#dest-save")), chromedp.WaitVisible(chromedp.CSS(`main[data-page="destination"] #poller #poll-url`)))
	pollID := bt.Eval[string](p, "read its id", `document.querySelector('main').dataset.destinationId`)
	if d, err := env.Store.FindDestination(ctx, env.TenantID, st.appID, pollID); err != nil || d.Type != "pollingEndpoint" || strings.Join(d.EventTypes, ",") != "invoice.paid" {
		t.Errorf("stored polling destination = %+v, %v", d, err)
	}
	setValue(p, "poll-consumer", "billing-sync")
	consumerURL := bt.Eval[string](p, "read the consumer URL", `document.getElementById('poll-url').textContent`)
	if want := "http://hookline.test/api/v1/app/" + st.appID + "/poller/" + pollID + "/consumer/billing-sync"; consumerURL != want {
		t.Errorf("consumer URL = %q, want %q (the server's public address)", consumerURL, want)
	}
	example := bt.Eval[string](p, "read the example", `document.getElementById('poll-example').textContent`)
	if !strings.Contains(example, "Authorization: Bearer <your token>") || !strings.Contains(example, consumerURL) {
		t.Errorf("example = %q", example)
	}
	token := link[strings.Index(link, "#key=")+len("#key="):]
	if shown := bt.Eval[string](p, "read the page", `document.body.innerText`); strings.Contains(shown, token) || strings.Contains(shown, env.APIKey) {
		t.Error("the page shows a credential")
	}

	// Reveal the polling token: the example then carries it, and Copy
	// gives a command that works as it is (run here from Go).
	paid, other := send("invoice.paid"), send("user.created")
	catchClipboard(p)
	p.Do("reveal the token", bt.Click(chromedp.CSS("#poll-token-reveal")), chromedp.WaitVisible(chromedp.CSS(`#poll-token-value[data-revealed="1"]`)))
	tok := bt.Eval[string](p, "read the token", `document.getElementById('poll-token-value').textContent`)
	if !strings.HasPrefix(tok, "hlpt_") {
		t.Fatalf("the revealed polling token is %q", tok)
	}
	cmd := copyExample(p)
	if !strings.Contains(cmd, "Authorization: Bearer "+tok) || !strings.Contains(cmd, consumerURL) {
		t.Errorf("the copied example = %q", cmd)
	}
	if shown := bt.Eval[string](p, "read the page", `document.body.innerText`); strings.Contains(shown, token) || strings.Contains(shown, env.APIKey) {
		t.Error("the page shows the portal link's or the API's credential")
	}
	// A poll shows a message once every transaction before it has ended
	// (so that none is skipped): on a busy database that can take a few
	// polls, as a consumer makes them.
	var polled []string
	deadline := time.Now().Add(bt.StepTimeout)
	for !slices.Contains(polled, paid) {
		code, body := testenv.RunCurlExample(t, env, "http://hookline.test", cmd)
		var page struct{ Data []struct{ ID string } }
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
			t.Fatalf("running the copied example: %d %s", code, body)
		}
		for _, m := range page.Data {
			polled = append(polled, m.ID)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copied example never returned %s: %v", paid, polled)
		}
		time.Sleep(50 * time.Millisecond) // a consumer's pause between polls
	}
	if !slices.Equal(polled, []string{paid}) {
		t.Errorf("the consumer read %v, want only %s (invoice.paid)", polled, paid)
	}
	// The token reads this endpoint only; the portal link may not read
	// the polling token of another application's endpoint.
	if code, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+st.appID+"/destination/"+pollID, tok, ""); code != 403 {
		t.Errorf("the polling token reading the destination: %d %s; want 403", code, body)
	}
	otherApp, err := st.sdk.Application.Create(ctx, models.ApplicationIn{Name: "Other Corp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherSink, err := env.Store.CreateDestination(ctx, env.TenantID, otherApp.Id, tenants.DestinationInput{Type: tenants.DestinationPolling, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := testenv.Call(t, env.URL, "GET", "/api/v1/auth/app/"+otherApp.Id+"/poller/"+otherSink.ID+"/token", token, ""); code == 200 || strings.Contains(body, "hlpt_") {
		t.Errorf("the portal link read another application's polling token: %d %s", code, body)
	}

	// Rotate, ending the old token at once: the page shows the new one,
	// the old command is refused and the new one works.
	p.Do("rotate the token", bt.Click(chromedp.CSS("#poll-token-rotate")), chromedp.WaitVisible(chromedp.CSS("#confirm-dialog #poll-token-end-now")))
	p.Shot("rotate-confirm")
	bt.CheckLayout(p, "#confirm-dialog")
	p.Do("end the old one now", bt.Click(chromedp.CSS("#poll-token-end-now")), bt.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitNotPresent(chromedp.CSS("#confirm-dialog")))
	tok2 := bt.Until[string](p, "see the new token", `(() => { const v = document.getElementById('poll-token-value'); return v.dataset.revealed === '1' && v.textContent !== `+bt.JS(tok)+` && v.textContent; })()`)
	cmd2 := copyExample(p)
	if !strings.HasPrefix(tok2, "hlpt_") || !strings.Contains(cmd2, "Authorization: Bearer "+tok2) {
		t.Errorf("after the rotation the token is %q and the copied example %q", tok2, cmd2)
	}
	if code, body := testenv.RunCurlExample(t, env, "http://hookline.test", cmd); code != 401 {
		t.Errorf("the old token after the rotation: %d %s; want 401", code, body)
	}
	if code, body := testenv.RunCurlExample(t, env, "http://hookline.test", cmd2); code != 200 {
		t.Errorf("the new token: %d %s; want 200", code, body)
	}
	prev := bt.Until[string](p, "preview until the message shows", `(() => {
		const p = document.getElementById('poll-preview'), b = document.getElementById('poll-preview-btn');
		if (p.querySelector('pre') && p.innerText.includes(`+bt.JS(paid)+`)) return p.innerText;
		if (!b.disabled && Date.now() - (window.lastPreview || 0) > 300) { window.lastPreview = Date.now(); b.click(); }
		return false;
	})()`)
	if strings.Contains(prev, other) {
		t.Errorf("preview = %q", prev)
	}
	p.Shot("polling")

	// Paused: a poll is refused with 409 destination_disabled, and the
	// preview says why rather than showing an error.
	p.Do("pause the poller", bt.Click(chromedp.CSS("#dest-toggle")), chromedp.WaitVisible(chromedp.CSS(`#dest-state[data-state="disabled"]`)))
	if code, body := testenv.RunCurlExample(t, env, "http://hookline.test", cmd2); code != 409 || !strings.Contains(body, `"destination_disabled"`) {
		t.Errorf("polling the paused endpoint: %d %s; want 409 destination_disabled", code, body)
	}
	p.Do("preview while paused", bt.Click(chromedp.CSS("#poll-preview-btn")), chromedp.WaitVisible(chromedp.CSS(`#poll-preview [data-paused="1"]`)))
	if prev := bt.Eval[string](p, "read the preview", `document.getElementById('poll-preview').innerText`); !strings.Contains(prev, "Paused — resume it to read messages") {
		t.Errorf("the paused preview = %q", prev)
	}
	p.Shot("paused-preview")
	bt.CheckLayout(p, "#poller")

	// Both in the list, with their type, event types and status.
	p.Do("the list", chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations'`),
		chromedp.WaitVisible(chromedp.CSS(`.sink-row[data-destination-id=`+bt.CSS(pollID)+`]`)))
	rowText := func(id string) string {
		return bt.Eval[string](p, "read a row", `(() => { const r = document.querySelector('.sink-row[data-destination-id=`+bt.CSS(id)+`]'); return r.querySelector('[data-status]').dataset.status + ' ' + r.innerText.replace(/\s+/g, ' '); })()`)
	}
	if r := rowText(fifoID); !strings.HasPrefix(r, "enabled ") || !strings.Contains(r, "FIFO endpoint") || !strings.Contains(r, "Batches of 3") || !strings.Contains(r, "user.created") {
		t.Errorf("FIFO row = %q", r)
	}
	if r := rowText(pollID); !strings.HasPrefix(r, "disabled ") || !strings.Contains(r, "Polling endpoint") || !strings.Contains(r, "invoice.paid") || !strings.Contains(r, "Paused") {
		t.Errorf("polling row = %q", r)
	}
	if r := rowText(rabbit.ID); !strings.HasPrefix(r, "disabled ") || !strings.Contains(r, "RabbitMQ") || !strings.Contains(r, "acme.events") || strings.Contains(r, "sekrit") {
		t.Errorf("RabbitMQ row = %q", r)
	}
	p.Shot("list")

	// Every destination page at a desktop's and a phone's size.
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{
		{"1400x900", chromedp.EmulateViewport(1400, 900)},
		{"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
	} {
		p.Do("size "+vp.name, vp.size)
		for _, pg := range []struct{ hash, page, box string }{
			{"/destinations", "destinations", "#dest-list"},
			{"/destinations/new", "destination-form", "#dest-form"},
			{"/destinations/" + fifoID + "/edit", "destination-form", "#dest-form"},
			{"/destinations/" + fifoID, "destination", "#dest-attempts"},
			{"/destinations/" + pollID, "destination", "#poller"},
			{"/destinations/" + rabbit.ID, "destination", "#dest-details"},
		} {
			p.Do(vp.name+" "+pg.hash, chromedp.Evaluate[chromedp.Void](`location.hash = '#`+pg.hash+`'`),
				chromedp.WaitVisible(chromedp.CSS(`main[data-page=`+bt.CSS(pg.page)+`] `+pg.box)),
				chromedp.WaitNotPresent(chromedp.CSS(`main .loading`)))
			if pg.box == "#poller" {
				// With the token revealed, the longest the example gets.
				p.Do(vp.name+" reveal", bt.Click(chromedp.CSS("#poll-token-reveal")),
					chromedp.WaitVisible(chromedp.CSS(`#poll-example[data-token="real"]`)))
				bt.CheckLayout(p, "#poll-token")
			}
			p.CheckLayout(pg.hash + " at " + vp.name)
			bt.CheckLayout(p, pg.box)
		}
		p.Shot("fifo-" + vp.name)
	}
	b.CheckNoErrors()
}

// catchClipboard makes the page's clipboard keep what is copied in
// window.copied, for copyExample to read.
func catchClipboard(p *bt.Page) {
	bt.Eval[bool](p, "catch the clipboard", `(() => {
		Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: async (t) => { window.copied = t; } } });
		return true;
	})()`)
}

// copyExample clicks the poller card's Copy example and returns what it
// copied.
func copyExample(p *bt.Page) string {
	bt.Eval[bool](p, "clear the clipboard", `(() => { window.copied = ''; return true; })()`)
	p.Do("copy the example", bt.Click(chromedp.CSS("#poll-copy")))
	return bt.Until[string](p, "read what was copied", `window.copied || false`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestPortal_DestinationsViewOnly: a portal link with only ViewBase shows
// the destinations, their attempts and consumer URL, but no button that
// changes them, and neither the FIFO endpoint's secret nor the polling
// endpoint's token (its example keeps a placeholder and says why; the API
// refuses the token to the link too); the form says why.
func TestPortal_DestinationsViewOnly(t *testing.T) {
	st := newStack(t)
	env := st.env
	ctx := context.Background()
	fifo, err := env.Store.CreateDestination(ctx, env.TenantID, st.appID, tenants.DestinationInput{Type: tenants.DestinationFIFO,
		URL: "http://127.0.0.1:9/fifo", BatchSize: 5, Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	poll, err := env.Store.CreateDestination(ctx, env.TenantID, st.appID, tenants.DestinationInput{Type: tenants.DestinationPolling, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	b := browsers.New(t)
	p := b.Tab("portal-destinations-view-only")
	link := st.linkWith(t, models.AppPortalAccessIn{Capabilities: []models.AppPortalCapability{models.APPPORTALCAPABILITY_VIEW_BASE}})
	p.Do("open the magic link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)),
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations'`),
		chromedp.WaitVisible(chromedp.CSS(`.sink-row[data-destination-id=`+bt.CSS(fifo.ID)+`]`)))
	if n := bt.Eval[int](p, "look for Add", `document.querySelectorAll('#add-destination').length`); n != 0 {
		t.Error("a view-only link offers Add destination")
	}
	p.Do("open it", bt.Click(chromedp.CSS(`.sink-row[data-destination-id=`+bt.CSS(fifo.ID)+`]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="destination"] #dest-attempts .empty`)))
	if n := bt.Eval[int](p, "look for buttons", `document.querySelectorAll('#dest-edit, #dest-toggle, #dest-delete, #dest-skip, #dest-force-retry, #secret-reveal').length`); n != 0 {
		t.Errorf("a view-only link shows %d buttons that change the destination or read its secret", n)
	}

	// The polling endpoint: no token, the example keeps its placeholder and
	// says why; the API refuses the token to this link too.
	p.Do("open the polling endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations/`+poll.ID+`'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-destination-id=`+bt.CSS(poll.ID)+`] #poller #poll-example`)))
	if n := bt.Eval[int](p, "look for the token", `document.querySelectorAll('#poll-token, #poll-token-reveal, #poll-token-rotate').length`); n != 0 {
		t.Errorf("a link without secrets shows %d polling token elements", n)
	}
	if ex := bt.Eval[string](p, "read the example", `document.getElementById('poll-example').textContent`); !strings.Contains(ex, "Authorization: Bearer <your token>") {
		t.Errorf("example = %q", ex)
	}
	if hint := bt.Eval[string](p, "read the hint", `document.getElementById('poll-token-hint').innerText`); !strings.Contains(hint, "may not show that token") {
		t.Errorf("the token hint = %q", hint)
	}
	if shown := bt.Eval[string](p, "read the page", `document.body.innerText`); strings.Contains(shown, "hlpt_") {
		t.Error("a link without secrets shows a polling token")
	}
	key := link[strings.Index(link, "#key=")+len("#key="):]
	tokenPath := "/api/v1/auth/app/" + st.appID + "/poller/" + poll.ID + "/token"
	if code, body := testenv.Call(t, env.URL, "GET", tokenPath, key, ""); code != 403 || strings.Contains(body, "hlpt_") {
		t.Errorf("GET the polling token with a view-only link: %d %s; want 403", code, body)
	}
	if code, body := testenv.Call(t, env.URL, "POST", tokenPath+"/rotate", key, `{"oldTokenExpiry":0}`); code != 403 {
		t.Errorf("rotate the polling token with a view-only link: %d %s; want 403", code, body)
	}
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{
		{"1400x900", chromedp.EmulateViewport(1400, 900)},
		{"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
	} {
		p.Do("size "+vp.name, vp.size, chromedp.WaitVisible(chromedp.CSS("#poller")))
		p.CheckLayout("view-only polling endpoint at " + vp.name)
		bt.CheckLayout(p, "#poller")
		p.Shot("polling-" + vp.name)
	}
	p.Do("desktop", chromedp.EmulateViewport(1400, 900))

	p.Do("open the form anyway", chromedp.Evaluate[chromedp.Void](`location.hash = '#/destinations/new'`),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page="destination-form"] .callout.warn`)))
	p.Shot("form")
	b.CheckNoErrors()
}
