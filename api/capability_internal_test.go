package api

import "testing"

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
