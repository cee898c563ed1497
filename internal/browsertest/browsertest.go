// Package browsertest drives a real headless Chromium (chromedp) for the
// UI tests of the console (and anything else served to browsers): one
// browser per test, every step bounded by a timeout, a screenshot of each
// page under testdata/artifacts/, and the page's JavaScript exceptions,
// console errors and Content Security Policy violations collected so that
// a test can fail on them. Only tests import this package.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser; CI
// installs it (.ci/run).
const ChromiumPath = "/usr/bin/chromium"

// StepTimeout bounds one step: every wait polls the page until its
// condition holds, so a step only takes this long when it is about to fail.
// A step that waits for a delivery through the worker (a recovery, a
// resend) took over 20 s in a full `make test` on two loaded cores, four
// packages with their own Chromium at once, while it takes about one alone.
const StepTimeout = 45 * time.Second

// Artifacts is where screenshots land, relative to the test's package.
var Artifacts = filepath.Join("testdata", "artifacts")

// Browser is a headless Chromium for one test.
type Browser struct {
	T   *testing.T
	Ctx context.Context

	mu     sync.Mutex
	errors []string // guarded by mu
}

// New starts Chromium at 1280x900; it stops when t ends. *.test host
// names resolve to 127.0.0.1.
func New(t *testing.T) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browser tests need Chromium at %s: install the Debian package chromium "+
			"(sudo apt-get install -y chromium; .ci/run does it): %v", ChromiumPath, err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions()...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b := &Browser{T: t, Ctx: ctx}
	b.Watch(ctx)
	return b
}

// allocatorOptions are the Chromium every browser test runs: headless,
// 1280x900, *.test host names resolving to 127.0.0.1.
func allocatorOptions() []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.WindowSize(1280, 900))
}

// Watch records JavaScript exceptions, console errors and security
// (CSP) messages of the target of ctx.
func (b *Browser) Watch(ctx context.Context) {
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
		b.T.Fatalf("listen to the page: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		b.T.Fatalf("enable the page's log: %v", err)
	}
}

// CheckNoErrors fails the test for every error the pages logged.
func (b *Browser) CheckNoErrors() {
	b.T.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.T.Errorf("the page logged an error: %s", e)
	}
}

// Page drives one target; Name prefixes its screenshots.
type Page struct {
	B    *Browser
	Ctx  context.Context
	Name string
	// ShotCtx, when set, is the target screenshots picture instead of Ctx:
	// the tab that holds Ctx's frame, so that the picture shows the frame
	// in its page.
	ShotCtx context.Context
}

// Tab returns the browser's tab as a Page. It first deletes the
// screenshots an earlier run left under the same name, so that the
// artifacts are always this run's.
func (b *Browser) Tab(name string) *Page {
	old, _ := filepath.Glob(filepath.Join(Artifacts, name+"-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return &Page{B: b, Ctx: b.Ctx, Name: name}
}

// Do runs actions within StepTimeout, failing the test with a screenshot
// and the page's text when they do not complete.
func (p *Page) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.B.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.Failed(what, err)
	}
}

// Failed ends the test with a screenshot and the page's text.
func (p *Page) Failed(what string, err error) {
	p.B.T.Helper()
	p.Shot("FAILED-" + strings.ReplaceAll(what, " ", "-"))
	text, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
	p.B.T.Fatalf("%s: %v\npage text:\n%s", what, err, text)
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](p *Page, what, expr string) T {
	p.B.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.Failed(what, err)
	}
	return v
}

// Until waits for a JavaScript expression to be truthy and returns it.
func Until[T any](p *Page, what, expr string) T {
	p.B.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(StepTimeout), chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		p.Failed(what, err)
	}
	return v
}

// Shot saves a full-page screenshot as testdata/artifacts/<name>-<n>.png
// (the visible part when a dialog is open, as the viewer sees it).
func (p *Page) Shot(n string) {
	p.B.T.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout)
	defer cancel()
	dialog, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
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
	sctx := ctx
	if p.ShotCtx != nil {
		var scancel context.CancelFunc
		sctx, scancel = context.WithTimeout(p.ShotCtx, StepTimeout)
		defer scancel()
	}
	png, err := chromedp.Run(sctx, shot)
	if err != nil {
		p.B.T.Errorf("screenshot %s: %v", n, err)
		return
	}
	if err := os.MkdirAll(Artifacts, 0o755); err != nil {
		p.B.T.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(Artifacts, p.Name+"-"+n+".png"), png, 0o644); err != nil {
		p.B.T.Fatal(err)
	}
}

// CSS quotes a value for a CSS attribute selector.
func CSS(v string) string { return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"` }

// JS quotes a value for JavaScript.
func JS(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Click is chromedp.Click that survives a re-render: a page that refreshes
// what it shows (the portal and console poll their lists) can replace the
// element between the query and the click, which chromedp reports as a
// node it cannot find. No mouse event was sent then, so the click is made
// again on the element that replaced it.
func Click[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			v, err := chromedp.Click(sel, opts...)(ctx, t)
			if err == nil || !staleNode(err) || ctx.Err() != nil {
				return v, err
			}
		}
	}
}

// staleNode reports whether err is the DevTools error for a node the page
// has since removed.
func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not find node with given id") || strings.Contains(msg, "No node with given id found") ||
		strings.Contains(msg, "Node is detached from document")
}

// Paste inserts text into the field sel at its caret in one step, as a
// paste does (the page sees the same input event). chromedp.SendKeys types
// key by key, three DevTools messages a character: a whole document takes
// longer than a step may on a loaded machine.
func Paste[S chromedp.Selectable](sel S, text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Focus(sel)(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

// layoutJS lists what a reader would see as broken on the current page:
// the page scrolling sideways, children of a flex or grid container
// (laid out side by side or stacked) overlapping one another, and short
// text (a date, a label, a badge: 40 characters at most) cut by a box that
// hides its overflow. Ids, URLs and longer text cut with an ellipsis are
// by design and not listed, nor are boxes that scroll (a tab bar).
const layoutJS = `(() => {
  const problems = [];
  const de = document.documentElement;
  if (de.scrollWidth > de.clientWidth + 1) problems.push('the page scrolls sideways: ' + de.scrollWidth + ' > ' + de.clientWidth + ' px');
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const scope = document.querySelectorAll('main *, header *, nav *');
  for (const parent of scope) {
    const d = getComputedStyle(parent).display;
    if (d !== 'grid' && d !== 'flex' && d !== 'inline-flex' && d !== 'inline-grid') continue;
    const kids = [...parent.children].filter(visible).filter(k => !['absolute', 'fixed'].includes(getComputedStyle(k).position));
    for (let i = 0; i < kids.length; i++) for (let j = i + 1; j < kids.length; j++) {
      const a = kids[i].getBoundingClientRect(), b = kids[j].getBoundingClientRect();
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) problems.push(name(kids[i]) + ' overlaps ' + name(kids[j]) + ' (' + Math.round(w) + 'x' + Math.round(h) + ' px) in ' + name(parent));
    }
  }
  for (const e of scope) {
    if (!visible(e)) continue;
    const text = e.textContent.trim();
    if (!text || text.length > 40 || text.includes('://') || text.split(/\s+/).some(w => w.length > 20)) continue;
    const ox = getComputedStyle(e).overflowX;
    if (ox !== 'hidden' && ox !== 'clip') continue; // visible spills, auto and scroll scroll: neither cuts
    if (e.scrollWidth > e.clientWidth + 1) problems.push('"' + text + '" is cut in ' + name(e) + ' (' + e.scrollWidth + ' > ' + e.clientWidth + ' px)');
  }
  return [...new Set(problems)];
})()`

// CheckLayout fails the test for every layout problem of the page as it
// is now (see layoutJS): overlapping elements, short text cut, sideways
// scrolling. where names the page and the viewport in the failures.
func (p *Page) CheckLayout(where string) {
	p.B.T.Helper()
	for _, problem := range Eval[[]string](p, "check the layout of "+where, layoutJS) {
		p.B.T.Errorf("%s: %s", where, problem)
	}
}
