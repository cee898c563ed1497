package api

import (
	"testing"
	"time"
)

// TestRouteCapabilities keeps routeCapabilities in step with the route
// table: a renamed route would otherwise silently lose its limit.
func TestRouteCapabilities(t *testing.T) {
	s := NewServer(Deps{}, Options{})
	registered := map[string]route{}
	for _, r := range s.routes {
		registered[r.method+" "+r.path] = r
	}
	for name := range routeCapabilities {
		r, ok := registered[name]
		if !ok {
			t.Errorf("routeCapabilities names %s, which is not registered", name)
			continue
		}
		if r.scope != scopeApp {
			t.Errorf("routeCapabilities names %s, which app tokens cannot reach anyway", name)
		}
	}
}

// TestAppToken_Claims signs and parses app tokens with an injected clock.
func TestAppToken_Claims(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)
	clock := func() time.Time { return now }
	tk := NewTokens("secret-for-tests-0123456789abcdefghij", clock)
	raw, spec, err := tk.AppToken(AppToken{TenantID: "org_1", AppID: "app_1", SessionID: "s", ReadOnly: true,
		Capabilities: CapCreateAttempts}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.ParseAppToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != spec.ID || got.TenantID != "org_1" || got.AppID != "app_1" || got.SessionID != "s" || !got.ReadOnly ||
		got.Capabilities != CapViewBase|CapCreateAttempts || !got.IssuedAt.Equal(now.Truncate(time.Microsecond)) ||
		!got.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("parsed = %+v, signed %+v", got, spec)
	}
	// Past its expiry (and the leeway) it is refused.
	now = now.Add(time.Hour + clockLeeway + time.Second)
	if _, err := tk.ParseAppToken(raw); err == nil {
		t.Fatal("an expired token parsed")
	}
	// Unknown capability names in a token make it invalid.
	if _, err := ParseCapabilities([]string{"ViewBase", "Admin"}); err == nil {
		t.Fatal("an unknown capability parsed")
	}
	if c, _ := ParseCapabilities(nil); c != AllCapabilities {
		t.Fatalf("no capabilities = %v, want all", c.Names())
	}
}
