package main

import (
	"context"
	"sync"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/invalidate"
)

// wireInvalidation has the API tell every other process, over Redis
// pub/sub, when a tenant's keys or status change, so their credential
// caches drop it within a second instead of its TTL.
func (a *App) wireInvalidation(adeps *api.Deps) {
	a.bus = invalidate.New(a.redis, a.cfg.Queue, a.log.With("component", "invalidate"))
	adeps.Invalidated = func(ctx context.Context, tenantID string) {
		if err := a.bus.Publish(ctx, invalidate.Event{Kind: invalidate.KindTenant, TenantID: tenantID}); err != nil {
			a.log.Warn("cannot tell other processes; their caches expire on their own", "tenant_id", tenantID, "err", err)
		}
	}
}

// runInvalidation applies other processes' invalidations to this one's
// credential cache until ctx ends. KindAll (after a reconnect) needs
// nothing: what was missed meanwhile expires with the cache's TTL.
func (a *App) runInvalidation(ctx context.Context, wg *sync.WaitGroup) {
	if a.bus == nil || a.auth == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.bus.Subscribe(ctx, func(e invalidate.Event) {
			if e.TenantID != "" {
				a.auth.Forget(e.TenantID)
			}
		})
	}()
}
