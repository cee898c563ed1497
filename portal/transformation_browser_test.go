package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/svix/svix-webhooks/go/models"

	bt "github.com/hookline/hookline/internal/browsertest"
)

// TestPortal_Transformation: on an endpoint's page a customer writes a
// transformation in the code editor (CodeJar and Prism), tests it on a sample (input,
// output, and a syntax error's message), saves it switched on, and the
// next webhook arrives transformed.
func TestPortal_Transformation(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	rcv := newReceiver(t)
	ep, err := st.sdk.Endpoint.Create(ctx, st.appID, models.EndpointIn{Url: rcv.srv.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := browsers.New(t)
	p := b.Tab("transformation")
	p.Do("open the magic link", chromedp.Navigate(st.link(t)), chromedp.WaitVisible(chromedp.CSS(`main[data-page="endpoints"]`)))
	p.Do("open the endpoint", chromedp.Evaluate[chromedp.Void](`location.hash = '#/endpoints/`+ep.Id+`'`),
		chromedp.WaitVisible(chromedp.CSS("#transformation #tf-code")))
	bt.Until[bool](p, "the default code coloured", `document.querySelectorAll('#transformation .code-input .tok-keyword').length > 0`)
	// Tab indents in the editor; Escape then Tab leaves it (no keyboard trap).
	p.Do("indent the first line",
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.getElementById('tf-code'); e.focus(); const r = document.createRange(); r.setStart(e, 0); r.collapse(true); getSelection().removeAllRanges(); getSelection().addRange(r); })()`),
		chromedp.KeyEvent(kb.Tab))
	// (Once coloured: CodeJar puts the caret back when it colours, which
	// would take the focus back were the next keys faster than a person.)
	bt.Until[bool](p, "the indent", `(e => e.textContent.startsWith('  function handler') && e.lastPainted === e.textContent)(document.getElementById('tf-code'))`)
	p.Do("leave the editor", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent(kb.Tab))
	bt.Until[bool](p, "focus past the editor", `document.activeElement !== document.getElementById('tf-code') && document.getElementById('tf-code').textContent.startsWith('  function handler')`)
	write := func(code string) {
		// A paste, as the browser delivers one: the editor takes the
		// clipboard's text/plain (the DevTools insertText path would type
		// it as rich text, which no user does).
		bt.Eval[chromedp.Void](p, "paste the code", `(() => {
			const e = document.getElementById('tf-code');
			e.focus();
			getSelection().selectAllChildren(e);
			const dt = new DataTransfer();
			dt.setData('text/plain', `+bt.JS(code)+`);
			e.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
		})()`)
		// The editor re-colours what arrived: its coloured copy holds
		// exactly the text, with the keywords marked.
		bt.Until[bool](p, "the code coloured", `(() => { const e = document.getElementById('tf-code'); return e.textContent.trimEnd() === `+bt.JS(code)+` && e.querySelector('.tok-keyword') !== null; })()`)
	}
	// A syntax error is shown with its line.
	write("function handler(webhook) {\n  return webhook +* 1;\n}")
	p.Do("test broken code", bt.Click(chromedp.CSS("#tf-test")), chromedp.WaitVisible(chromedp.CSS("#tf-error")))
	if msg := bt.Eval[string](p, "read the error", `document.getElementById('tf-error').innerText`); !strings.Contains(msg, "syntax error") || !strings.Contains(msg, "2:") {
		t.Errorf("the error shown = %q, want the syntax error and its line", msg)
	}
	// Working code: input and output side by side.
	code := "function handler(webhook) {\n  webhook.payload = {invoice: webhook.payload.id, total: webhook.payload.amount / 100};\n  return webhook;\n}"
	write(code)
	p.Do("test it", bt.Click(chromedp.CSS("#tf-test")), chromedp.WaitVisible(chromedp.CSS("#tf-output")))
	out := bt.Eval[string](p, "read the output", `document.getElementById('tf-output').innerText`)
	if !strings.Contains(out, `"invoice": "in_123"`) || !strings.Contains(out, `"total": 42`) || !strings.Contains(out, rcv.srv.URL+"/hook") {
		t.Errorf("the output shown = %q", out)
	}
	p.Shot("transformation-test")
	// Save it switched on; the store has it, and the next webhook is transformed.
	p.Do("switch it on and save", bt.Click(chromedp.CSS("#tf-enabled")), bt.Click(chromedp.CSS("#tf-save")))
	bt.Until[bool](p, "the save to finish", `!document.querySelector('#tf-result .callout, #tf-result .loading')`)
	deadline := 0
	for {
		tf, err := st.env.Store.FindTransformation(ctx, st.env.TenantID, st.appID, ep.Id)
		if err == nil && tf.Enabled && tf.Code != nil && strings.TrimRight(*tf.Code, "\n") == code {
			break
		}
		if deadline++; deadline > 200 {
			t.Fatalf("the stored transformation = %+v, %v", tf, err)
		}
		bt.Eval[chromedp.Void](p, "wait a little", `new Promise((r) => setTimeout(r, 25))`)
	}
	if _, err := st.sdk.Message.Create(ctx, st.appID, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"id": "in_9", "amount": 1000}}, nil); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 1)
	if string(got[0].body) != `{"invoice":"in_9","total":10}` {
		t.Errorf("delivered body = %s", got[0].body)
	}
	// The vendored editor loads and runs under the portal's CSP.
	b.CheckNoErrors()
}
