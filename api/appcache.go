package api

import (
	"context"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// appCacheTTL bounds how long message creation may keep using an
// application that another process deleted or renamed: messages accepted
// in that window for a deleted app simply have no live endpoint to go to.
const appCacheTTL = 5 * time.Second

// appCache remembers id/uid → application for the message-create hot
// path, so a message costs one database round trip (its insert), not two.
// Other routes read the store directly. Safe for concurrent use.
type appCache struct {
	mu      sync.Mutex
	entries map[appCacheKey]appCacheEntry // guarded by mu
	max     int
}

type appCacheKey struct{ tenant, ref string }

type appCacheEntry struct {
	app     tenants.Application
	expires time.Time
}

func newAppCache(max int) *appCache {
	return &appCache{entries: map[appCacheKey]appCacheEntry{}, max: max}
}

// find returns the application, from the cache when fresh.
func (c *appCache) find(ctx context.Context, store *tenants.Store, tenantID, ref string) (tenants.Application, error) {
	k := appCacheKey{tenantID, ref}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.app, nil
	}
	a, err := store.FindApplication(ctx, tenantID, ref)
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			if len(c.entries) < c.max/2 {
				break
			}
		}
	}
	c.entries[k] = appCacheEntry{app: a, expires: now.Add(appCacheTTL)}
	c.mu.Unlock()
	return a, nil
}

// forget drops a tenant's entries after this process changed one of its
// applications.
func (c *appCache) forget(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.tenant == tenantID {
			delete(c.entries, k)
		}
	}
}
