package portal_test

import (
	"os"
	"testing"

	bt "github.com/hookline/hookline/internal/browsertest"
)

// browsers is the one Chromium of this package's browser tests, each in a
// tab and browser context of its own (bt.Shared): starting a browser per
// test cost about a second of CPU each, more under load.
var browsers bt.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	browsers.Close()
	os.Exit(code)
}
