package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/hookline/hookline/internal/browsertest"
)

// TestShared: two tests' tabs of one shared Chromium are as apart as two
// browsers: a cookie and local storage set in one are not seen in the
// other; each tab's window has the size a browser of its own has (the
// allocator's 1280x900); the page is visible (it gets animation frames,
// which Shot and Until need) and focused (Tab moves the focus, as the
// code editors' tests need).
func TestShared(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="p">page</p><input id="a"><input id="b">`))
	}))
	defer srv.Close()
	var shared bt.Shared
	defer shared.Close()
	var pages []*bt.Page
	for _, name := range []string{"one", "two"} {
		t.Run(name, func(t *testing.T) {
			p := shared.New(t).Tab("shared-" + name)
			p.Do("open", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#p")))
			got := bt.Eval[string](p, "read the state", `document.cookie + '|' + (localStorage.getItem('k') || '') + '|' + outerWidth + 'x' + outerHeight + '|' + document.visibilityState + '|' + document.hasFocus()`)
			if want := "||1280x900|visible|true"; got != want {
				t.Errorf("a new tab has cookie|storage|window size|visibility|focus %q, want %q", got, want)
			}
			bt.Eval[chromedp.Void](p, "set state", `document.cookie = 'k=v; path=/'; localStorage.setItem('k', 'v')`)
			p.Do("tab from one field to the next", chromedp.Focus(chromedp.CSS("#a")), chromedp.KeyEvent(kb.Tab))
			bt.Until[bool](p, "the focus on the next field", `document.activeElement.id === 'b'`)
			bt.Until[bool](p, "an animation frame", `new Promise(r => requestAnimationFrame(() => r(true)))`)
			pages = append(pages, p)
		})
	}
	if len(pages) != 2 {
		t.Fatalf("%d tabs opened, want 2", len(pages))
	}
}
