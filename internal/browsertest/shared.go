package browsertest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Shared is one Chromium for the browser tests of a test binary, started
// by the first New. Each test gets a tab in a browser context of its own
// (its own cookies, storage and cache, as a browser of its own would
// have) in a window of its own (so the page is visible and gets animation
// frames while other tests' tabs run). Starting Chromium costs about a
// second of CPU, more on a loaded machine; a package of a dozen browser
// tests pays it once. The zero value is ready to use; it is safe for
// concurrent use. Close it after the tests (TestMain).
type Shared struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's first tab; nil until started; guarded by mu
	cancel func()          // stops the browser; guarded by mu
}

// New returns a Browser for t: a new tab in a new browser context of the
// shared Chromium, closed when t ends. It starts Chromium (at 1280x900,
// *.test host names resolving to 127.0.0.1) if it is not running, or no
// longer runs.
func (s *Shared) New(t *testing.T) *Browser {
	t.Helper()
	root, err := s.browser()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab in the shared Chromium: %v", err)
	}
	b := &Browser{T: t, Ctx: ctx}
	b.Watch(ctx)
	return b
}

// browser returns the context of the running browser's first tab,
// starting Chromium when there is none.
func (s *Shared) browser() (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil && s.ctx.Err() == nil {
		return s.ctx, nil
	}
	if s.cancel != nil {
		s.cancel() // a browser that exited: collect it before starting another
	}
	s.ctx, s.cancel = nil, nil
	if _, err := os.Stat(ChromiumPath); err != nil {
		return nil, fmt.Errorf("browser tests need Chromium at %s: install the Debian package chromium "+
			"(sudo apt-get install -y chromium; .ci/run does it): %w", ChromiumPath, err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions()...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() {
		cancel()
		cancelAlloc()
	}
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("start Chromium: %w", err)
	}
	s.ctx, s.cancel = ctx, stop
	return ctx, nil
}

// Close stops the browser, if it runs. Tests that still hold a tab fail.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.ctx, s.cancel = nil, nil
}
