package main

import (
	"context"
	"sync"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/invalidate"
)

// wireInvalidation has the API tell every other process, over Redis
// pub/sub, when a tenant's keys or status change or one of its
// applications changes, so their caches drop it within a second instead
// of their TTL; and when a pushing destination is created or changed, so
// that workers which found none look for work again at once.
func (a *App) wireInvalidation(adeps *api.Deps) {
	a.bus = invalidate.New(a.redis, a.cfg.Queue, a.log.With("component", "invalidate"))
	adeps.Invalidated = func(ctx context.Context, tenantID string) {
		a.publish(ctx, invalidate.Event{Kind: invalidate.KindTenant, TenantID: tenantID})
	}
	adeps.AppInvalidated = func(ctx context.Context, tenantID, appID string) {
		a.publish(ctx, invalidate.Event{Kind: invalidate.KindApplication, TenantID: tenantID, ID: appID})
	}
	adeps.DestinationSaved = func(ctx context.Context, tenantID, appID string) {
		if a.worker != nil {
			a.worker.WakeSenders() // at once, and even when Redis does not pass the event on
		}
		a.publish(ctx, invalidate.Event{Kind: invalidate.KindDestination, TenantID: tenantID, ID: appID})
	}
}

// publishPortalRevoked is the portal's Deps.Revoked: an application's
// portal tokens were revoked through this process.
func (a *App) publishPortalRevoked(ctx context.Context, tenantID, appID string) {
	a.publish(ctx, invalidate.Event{Kind: invalidate.KindPortalToken, TenantID: tenantID, ID: appID})
}

// publish sends e to the other processes; failing that, their caches
// expire on their own.
func (a *App) publish(ctx context.Context, e invalidate.Event) {
	if a.bus == nil {
		return
	}
	if err := a.bus.Publish(ctx, e); err != nil {
		a.log.Warn("cannot tell other processes; their caches expire on their own",
			"kind", string(e.Kind), "tenant_id", e.TenantID, "err", err)
	}
}

// runInvalidation applies other processes' invalidations to this one's
// caches until ctx ends: credentials and tenant status (KindTenant,
// KindAPIKey), portal-token revocations (KindPortalToken) and
// applications (KindApplication); and wakes this process's senders on
// KindDestination. On KindAll (after a reconnect) the portal and
// application caches, cheap to refill, are dropped whole and the senders
// woken; credentials missed meanwhile expire with their cache's TTL.
// The publisher hears its own events too, which is how a destination
// saved in `hookline all` wakes the senders beside it.
func (a *App) runInvalidation(ctx context.Context, wg *sync.WaitGroup) {
	if a.bus == nil || (a.auth == nil && a.worker == nil) {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.bus.Subscribe(ctx, a.applyInvalidation)
	}()
}

// applyInvalidation drops what e says changed from this process's caches.
func (a *App) applyInvalidation(e invalidate.Event) {
	switch e.Kind {
	case invalidate.KindTenant, invalidate.KindAPIKey:
		if a.auth != nil && e.TenantID != "" {
			a.auth.Forget(e.TenantID)
		}
	case invalidate.KindPortalToken:
		if a.portal != nil && e.TenantID != "" {
			a.portal.ForgetRevocations(e.TenantID, e.ID)
		}
	case invalidate.KindApplication:
		if a.server != nil && e.TenantID != "" {
			a.server.ForgetApplications(e.TenantID)
		}
	case invalidate.KindDestination:
		if a.worker != nil {
			a.worker.WakeSenders()
		}
	case invalidate.KindAll:
		if a.worker != nil {
			a.worker.WakeSenders()
		}
		if a.portal != nil {
			a.portal.ForgetRevocations("", "")
		}
		if a.server != nil {
			a.server.ForgetApplications("")
		}
	}
}
