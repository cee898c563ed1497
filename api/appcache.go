package api

import (
	"context"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"

	"github.com/hookline/hookline/tenants"
)

// appCacheTTL bounds how long message creation may keep using an
// application that another process deleted or renamed: messages accepted
// in that window for a deleted app simply have no live endpoint to go to.
const appCacheTTL = 5 * time.Second

// appCacheSize bounds the cache: 10,000 (tenant, ref) pairs, about 3 MB.
const appCacheSize = 10_000

// appCache remembers id/uid → application for the message-create hot
// path. An application the cache does not know is resolved inside the
// statement that stores the message (so a message costs one database
// round trip either way) and remembered from its answer; entries hold
// only the application's id and tenant. Other routes read the store
// directly. It is a TTL cache (internal/ttlcache) bounded in size and age;
// being stale costs at most appCacheTTL of messages to an application
// another process changed. Safe for concurrent use.
type appCache struct {
	lru *ttlcache.Cache[appCacheKey, tenants.Application]
}

type appCacheKey struct{ tenant, ref string }

func newAppCache(size int) *appCache {
	return &appCache{lru: ttlcache.New[appCacheKey, tenants.Application](size, appCacheTTL)}
}

// find returns the application's id and tenant, from the cache when
// fresh.
func (c *appCache) find(ctx context.Context, store Store, tenantID, ref string) (tenants.Application, error) {
	k := appCacheKey{tenantID, ref}
	if a, ok := c.lru.Get(k); ok {
		return a, nil
	}
	a, err := store.FindApplication(ctx, tenantID, ref)
	if err != nil {
		return a, err
	}
	c.add(tenantID, ref, a.ID)
	return tenants.Application{ID: a.ID, TenantID: tenantID}, nil
}

// add remembers that ref names application id of tenantID.
func (c *appCache) add(tenantID, ref, id string) {
	c.lru.Add(appCacheKey{tenantID, ref}, tenants.Application{ID: id, TenantID: tenantID})
}

// peek returns the id of the application ref names, when cached.
func (c *appCache) peek(tenantID, ref string) (string, bool) {
	a, ok := c.lru.Get(appCacheKey{tenantID, ref})
	return a.ID, ok
}

// forget drops a tenant's entries after this process changed one of its
// applications (a walk of the keys: application writes are rare).
func (c *appCache) forget(tenantID string) {
	for _, k := range c.lru.Keys() {
		if k.tenant == tenantID {
			c.lru.Remove(k)
		}
	}
}

// purge drops every entry, when changes may have been missed.
func (c *appCache) purge() { c.lru.Purge() }
