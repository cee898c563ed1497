package console_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestConsole_Destinations: the tenant sees an application's FIFO and
// polling destinations (made through the API) on its page with their type,
// target and status; inspects the FIFO one and finds the batch a real
// delivery made, with its first and last message; inspects the polling one
// and finds the consumer URL on the server's public address and an example
// without a credential until it reveals the polling token, when the copied
// example reads the messages as it is; pauses and resumes the FIFO one (the store and the
// API agree). The page and the dialogs hold their layout on a desktop and
// a phone.
func TestConsole_Destinations(t *testing.T) {
	env := testenv.New(t, testenv.Options{Console: true, Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	if _, err := sdk.EventType.Create(ctx, models.EventTypeIn{Name: "invoice.paid", Description: "An invoice was paid."}, nil); err != nil {
		t.Fatal(err)
	}
	app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: "Acme Corp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	create := func(body string) string {
		t.Helper()
		code, out := testenv.Call(t, env.URL, "POST", "/api/v1/app/"+app.Id+"/destination", env.APIKey, body)
		var d struct{ ID string }
		if err := json.Unmarshal([]byte(out), &d); code != 201 || err != nil {
			t.Fatalf("create destination: %d %s", code, out)
		}
		return d.ID
	}
	fifo := create(`{"type":"fifoEndpoint","config":{"url":"` + rcv.srv.URL + `/fifo"},"batchSize":10}`)
	poll := create(`{"type":"pollingEndpoint","eventTypes":["invoice.paid"]}`)
	m1, err := sdk.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"n": 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := rcv.waitFor(t, 1); !strings.Contains(got[0], m1.Id) || !strings.HasPrefix(got[0], "[") {
		t.Fatalf("the FIFO receiver got %s", got[0])
	}

	b := browsers.New(t)
	p := b.Tab("console-destinations")
	p.Do("open the console link", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(consoleLink(t, env, env.TenantID)),
		chromedp.WaitVisible(sel(`main[data-page]`)))
	p.Do("open the application", chromedp.Evaluate[chromedp.Void](`location.hash = '#/apps/`+app.Id+`'`),
		chromedp.WaitVisible(sel(`#app-destinations .csink-row[data-destination-id=`+bt.CSS(poll)+`]`)))
	row := func(id string) string {
		return bt.Eval[string](p, "read a row", `(() => { const r = document.querySelector('.csink-row[data-destination-id=`+bt.CSS(id)+`]'); return r.querySelector('[data-status]').dataset.status + ' ' + r.innerText.replace(/\s+/g, ' '); })()`)
	}
	if r := row(fifo); !strings.HasPrefix(r, "enabled ") || !strings.Contains(r, "FIFO endpoint") || !strings.Contains(r, rcv.srv.URL+"/fifo") || !strings.Contains(r, "Batches of 10") || !strings.Contains(r, "Active") {
		t.Errorf("FIFO row = %q", r)
	}
	if r := row(poll); !strings.Contains(r, "Polling endpoint") || !strings.Contains(r, "invoice.paid") {
		t.Errorf("polling row = %q", r)
	}

	// The FIFO destination's attempts: the batch the receiver accepted.
	p.Do("inspect the FIFO destination", bt.Click(sel(`[data-inspect-destination=`+bt.CSS(fifo)+`]`)),
		chromedp.WaitVisible(sel(`#dest-dialog #dest-attempts .sink-attempt-row`)))
	at := bt.Eval[string](p, "read the attempt", `(() => { const r = document.querySelector('#dest-dialog .sink-attempt-row'); return r.dataset.first + ' ' + r.dataset.last + ' ' + r.innerText.replace(/\s+/g, ' '); })()`)
	if !strings.HasPrefix(at, m1.Id+" "+m1.Id+" ") || !strings.Contains(at, "Succeeded") || !strings.Contains(at, "200") {
		t.Errorf("attempt row = %q", at)
	}
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{{"1400x900", chromedp.EmulateViewport(1400, 900)}, {"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)}} {
		p.Do("size "+vp.name, vp.size)
		bt.CheckLayout(p, "#dest-dialog .dialog-body") // the dialog scrolls; its body holds everything
		p.Shot("fifo-" + vp.name)
	}
	p.Do("desktop", chromedp.EmulateViewport(1400, 900), bt.Click(sel("#dest-dialog-close")), chromedp.WaitNotPresent(sel("#dest-dialog")))

	// The polling destination: its consumer URL and an example.
	p.Do("inspect the polling destination", bt.Click(sel(`[data-inspect-destination=`+bt.CSS(poll)+`]`)),
		chromedp.WaitVisible(sel(`#dest-dialog #poll-url`)))
	if u := bt.Eval[string](p, "read the URL", `document.getElementById('poll-url').textContent`); u != "http://hookline.test/api/v1/app/"+app.Id+"/poller/"+poll+"/consumer/my-consumer" {
		t.Errorf("consumer URL = %q", u)
	}
	if ex := bt.Eval[string](p, "read the example", `document.getElementById('poll-example').textContent`); !strings.Contains(ex, "Authorization: Bearer <polling token>") {
		t.Errorf("example = %q", ex)
	}
	session := bt.Eval[string](p, "read the session", `sessionStorage.getItem('hookline.console.session')`)
	if shown := bt.Eval[string](p, "read the dialog", `document.getElementById('dest-dialog').innerText`); strings.Contains(shown, env.APIKey) || strings.Contains(shown, session) {
		t.Error("the dialog shows a credential")
	}
	// Reveal the polling token: the copied example works as it is.
	bt.Eval[bool](p, "catch the clipboard", `(() => {
		Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: async (t) => { window.copied = t; } } });
		return true;
	})()`)
	p.Do("reveal the token", bt.Click(sel("#dest-dialog #poll-token-reveal")), chromedp.WaitVisible(sel(`#poll-example[data-token="real"]`)))
	tok := bt.Eval[string](p, "read the token", `document.getElementById('poll-token-value').textContent`)
	p.Do("copy the example", bt.Click(sel("#dest-dialog #poll-copy")))
	cmd := bt.Until[string](p, "read what was copied", `window.copied || false`)
	if !strings.HasPrefix(tok, "hlpt_") || !strings.Contains(cmd, "Authorization: Bearer "+tok) {
		t.Fatalf("token %q, copied example %q", tok, cmd)
	}
	if code, body := testenv.RunCurlExample(t, env, "http://hookline.test", cmd); code != 200 || !strings.Contains(body, m1.Id) {
		t.Errorf("running the copied example: %d %s; want 200 with %s", code, body, m1.Id)
	}
	// Rotate, keeping the old token for its grace: both work meanwhile,
	// and the dialog shows the new one.
	p.Do("rotate", bt.Click(sel("#dest-dialog #poll-token-rotate")), chromedp.WaitVisible(sel("#confirm-dialog #poll-token-end-now")),
		bt.Click(sel("#confirm-ok")), chromedp.WaitNotPresent(sel("#confirm-dialog")))
	tok2 := bt.Until[string](p, "see the new token", `(() => { const v = document.getElementById('poll-token-value'); return v.textContent !== `+bt.JS(tok)+` && v.textContent; })()`)
	ex2 := bt.Eval[string](p, "read the example", `document.getElementById('poll-example').textContent`)
	if !strings.HasPrefix(tok2, "hlpt_") || !strings.Contains(ex2, "Authorization: Bearer "+tok2) {
		t.Errorf("after the rotation: token %q, example %q", tok2, ex2)
	}
	for _, c := range []string{cmd, ex2} {
		if code, body := testenv.RunCurlExample(t, env, "http://hookline.test", c); code != 200 {
			t.Errorf("within the old token's grace, %q: %d %s", c, code, body)
		}
	}
	p.Do("preview", bt.Click(sel("#dest-dialog #poll-preview-btn")), chromedp.WaitVisible(sel("#poll-preview pre")))
	if prev := bt.Eval[string](p, "read the preview", `document.getElementById('poll-preview').innerText`); !strings.Contains(prev, m1.Id) {
		t.Errorf("preview = %q", prev)
	}
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{{"1400x900", chromedp.EmulateViewport(1400, 900)}, {"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)}} {
		p.Do("size "+vp.name, vp.size)
		bt.CheckLayout(p, "#dest-dialog .dialog-body") // the dialog scrolls; its body holds everything
		bt.CheckLayout(p, "#dest-dialog #poll-token")
		p.Shot("polling-" + vp.name)
	}
	p.Do("desktop", chromedp.EmulateViewport(1400, 900), bt.Click(sel("#dest-dialog-close")), chromedp.WaitNotPresent(sel("#dest-dialog")))

	// Pause and resume.
	p.Do("pause", bt.Click(sel(`[data-toggle-destination=`+bt.CSS(fifo)+`]`)),
		chromedp.WaitVisible(sel(`.csink-row[data-destination-id=`+bt.CSS(fifo)+`] [data-status="disabled"]`)))
	if d, _ := env.Store.FindDestination(ctx, env.TenantID, app.Id, fifo); !d.Disabled {
		t.Error("the paused destination is not disabled in the store")
	}
	if code, body := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+app.Id+"/destination/"+fifo, env.APIKey, ""); code != 200 || !strings.Contains(body, `"status":"disabled"`) {
		t.Errorf("the API shows the paused destination as %d %s", code, body)
	}
	p.Shot("paused")
	p.Do("resume", bt.Click(sel(`[data-toggle-destination=`+bt.CSS(fifo)+`]`)),
		chromedp.WaitVisible(sel(`.csink-row[data-destination-id=`+bt.CSS(fifo)+`] [data-status="enabled"]`)))
	if d, _ := env.Store.FindDestination(ctx, env.TenantID, app.Id, fifo); d.Disabled {
		t.Error("the resumed destination is still disabled")
	}

	// The application's page at both sizes.
	for _, vp := range []struct {
		name string
		size chromedp.Action[chromedp.Void]
	}{{"1400x900", chromedp.EmulateViewport(1400, 900)}, {"390x844", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)}} {
		p.Do("size "+vp.name, vp.size, chromedp.WaitNotPresent(sel(`main .loading`)))
		p.CheckLayout("app at " + vp.name)
		bt.CheckLayout(p, "#app-destinations")
		p.Shot("app-" + vp.name)
	}
	b.CheckNoErrors()
}
