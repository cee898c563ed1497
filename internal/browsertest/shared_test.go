package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/hookline/hookline/internal/browsertest"
)

// TestShared: two tabs of one shared Chromium are as apart as two
// browsers: a cookie and local storage set in one are not seen in the
// other; a tab's window has the size a browser of its own has (the
// allocator's 1280x900); each page is visible (it gets animation frames,
// which Shot and Until need) and stays focused when another tab opens
// (Tab moves the focus, as the code editors' tests need).
func TestShared(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="p">page</p><input id="a"><input id="b">`))
	}))
	defer srv.Close()
	var shared bt.Shared
	defer shared.Close()
	const state = `document.cookie + '|' + (localStorage.getItem('k') || '') + '|' + outerWidth + 'x' + outerHeight + '|' + document.visibilityState + '|' + document.hasFocus()`
	one := shared.New(t).Tab("shared-one")
	one.Do("open", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#p")))
	bt.Eval[chromedp.Void](one, "set state", `document.cookie = 'k=v; path=/'; localStorage.setItem('k', 'v')`)
	two := shared.New(t).Tab("shared-two")
	two.Do("open", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS("#p")))
	if got, want := bt.Eval[string](two, "read the state", state), "||1280x900|visible|true"; got != want {
		t.Errorf("the second tab has cookie|storage|window size|visibility|focus %q, want %q", got, want)
	}
	if got, want := bt.Eval[string](one, "read the state", state), "k=v|v|1280x900|visible|true"; got != want {
		t.Errorf("once the second tab is open, the first has cookie|storage|window size|visibility|focus %q, want %q", got, want)
	}
	for _, p := range []*bt.Page{one, two} {
		p.Do("tab from one field to the next", chromedp.Focus(chromedp.CSS("#a")), chromedp.KeyEvent(kb.Tab))
		bt.Until[bool](p, "the focus on the next field", `document.activeElement.id === 'b'`)
		bt.Until[bool](p, "an animation frame", `new Promise(r => requestAnimationFrame(() => r(true)))`)
	}
}
