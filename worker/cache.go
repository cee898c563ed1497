package worker

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hookline/hookline/tenants"
)

// endpointEntry is a cached endpoint configuration with its decoded
// signing keys.
type endpointEntry struct {
	cfg    tenants.EndpointConfig
	signer *Signer
}

// endpointCache keeps endpoints' sending configuration so an attempt does
// not read and decrypt it every time. An entry is valid while its revision
// matches the one read with the delivery (every change to an endpoint or
// its secrets bumps it) and no previous secret has expired since. Safe for
// concurrent use.
type endpointCache struct {
	store *tenants.Store
	max   int
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*endpointEntry // guarded by mu
}

func newEndpointCache(store *tenants.Store, max int) *endpointCache {
	return &endpointCache{store: store, max: max, now: time.Now, entries: map[string]*endpointEntry{}}
}

// get returns the configuration of endpointID at revision (or newer).
func (c *endpointCache) get(ctx context.Context, tenantID, endpointID string, revision int64) (*endpointEntry, error) {
	c.mu.Lock()
	e := c.entries[endpointID]
	c.mu.Unlock()
	if e != nil && e.cfg.Revision >= revision && c.now().Before(e.cfg.SecretsValidUntil) {
		return e, nil
	}
	v, err, _ := c.group.Do(endpointID, func() (any, error) {
		cfg, err := c.store.LoadEndpointConfig(ctx, tenantID, endpointID)
		if err != nil {
			return nil, err
		}
		signer, err := NewSigner(cfg.Secrets)
		if err != nil {
			return nil, err
		}
		e := &endpointEntry{cfg: cfg, signer: signer}
		c.mu.Lock()
		if len(c.entries) >= c.max {
			for k := range c.entries { // evict an arbitrary entry; misses are cheap
				delete(c.entries, k)
				break
			}
		}
		c.entries[endpointID] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*endpointEntry), nil
}
