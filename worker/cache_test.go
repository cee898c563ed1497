package worker

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
)

// TestEndpointCache_Bounded: 100,000 distinct endpoints pass through the
// endpoint cache at its production size; it holds no more than that size,
// its memory stays bounded, and a changed endpoint (newer revision) is
// reloaded rather than served stale. The loader is a stand-in for the
// database read, so the test measures the cache alone.
func TestEndpointCache_Bounded(t *testing.T) {
	loads := 0
	c := newEndpointCache(func(_ context.Context, tenantID, id string) (tenants.EndpointConfig, error) {
		loads++
		return tenants.EndpointConfig{
			ID: id, TenantID: tenantID, Revision: 1, URL: "http://127.0.0.1:9/" + id,
			Headers:           map[string]string{"X-Tenant": tenantID},
			Secrets:           []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			SecretsValidUntil: time.Now().Add(time.Hour),
		}, nil
	}, endpointCacheSize)
	ctx := context.Background()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100_000
	for i := range n {
		if _, err := c.get(ctx, fmt.Sprintf("org_%d", i%10_000), fmt.Sprintf("ep_%06d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.len(); got != endpointCacheSize {
		t.Errorf("cache holds %d endpoints after %d distinct ones, want its limit %d", got, n, endpointCacheSize)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 256<<20 {
		t.Errorf("heap grew by %d MiB for a cache of %d endpoints", grown>>20, endpointCacheSize)
	}
	// The most recent entries are served from the cache, a newer revision
	// is not.
	loads = 0
	last := fmt.Sprintf("ep_%06d", n-1)
	if _, err := c.get(ctx, "org_x", last, 1); err != nil || loads != 0 {
		t.Errorf("recent endpoint reloaded (%d loads, %v)", loads, err)
	}
	if _, err := c.get(ctx, "org_x", last, 2); err != nil || loads != 1 {
		t.Errorf("a newer revision was served from the cache (%d loads, %v)", loads, err)
	}
}

// TestEndpointCache_Seed: a configuration read along with a new delivery
// is served without a load; a seed older than what the cache holds does not
// replace it, and a delivery of a newer revision still loads.
func TestEndpointCache_Seed(t *testing.T) {
	loads := 0
	c := newEndpointCache(func(_ context.Context, tenantID, id string) (tenants.EndpointConfig, error) {
		loads++
		return tenants.EndpointConfig{ID: id, TenantID: tenantID, Revision: 3, URL: "http://127.0.0.1:9/loaded",
			Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, SecretsValidUntil: time.Now().Add(time.Hour)}, nil
	}, 10)
	ctx := context.Background()
	cfg := func(rev int64, url string) *tenants.EndpointConfig {
		return &tenants.EndpointConfig{ID: "ep_1", TenantID: "org_1", Revision: rev, URL: url,
			Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, SecretsValidUntil: time.Now().Add(time.Hour)}
	}
	c.seed(cfg(2, "http://127.0.0.1:9/seeded"))
	e, err := c.get(ctx, "org_1", "ep_1", 2)
	if err != nil || loads != 0 || e.cfg.URL != "http://127.0.0.1:9/seeded" || e.signer == nil {
		t.Fatalf("seeded endpoint: %d loads, %+v, %v; want the seed, no load", loads, e, err)
	}
	c.seed(cfg(1, "http://127.0.0.1:9/older"))
	if e, _ := c.get(ctx, "org_1", "ep_1", 2); e.cfg.URL != "http://127.0.0.1:9/seeded" || loads != 0 {
		t.Errorf("an older seed replaced a newer entry: %s, %d loads", e.cfg.URL, loads)
	}
	if e, _ := c.get(ctx, "org_1", "ep_1", 3); e.cfg.URL != "http://127.0.0.1:9/loaded" || loads != 1 {
		t.Errorf("a newer revision than the seed's: %s after %d loads, want a load", e.cfg.URL, loads)
	}
	c.seed(&tenants.EndpointConfig{ID: "ep_2", Revision: 1, Secrets: []string{"not a key"}})
	if _, ok := c.lru.Peek("ep_2"); ok {
		t.Error("a configuration whose keys do not decode was kept")
	}
}
