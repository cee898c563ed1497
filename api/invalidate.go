package api

import "context"

// forgetEverywhere drops a tenant's cached credentials and status in this
// process at once, and tells the other processes (Deps.Invalidated) to do
// the same, so a revoked key or suspended tenant is refused everywhere
// without waiting for the cache's TTL.
func (s *Server) forgetEverywhere(ctx context.Context, tenantID string) {
	s.auth.Forget(tenantID)
	if s.invalidated != nil {
		s.invalidated(context.WithoutCancel(ctx), tenantID)
	}
}

// ForgetTenant drops a tenant's cached credentials and status in this
// process and tells the other processes to do the same (Deps.Invalidated).
// Code outside the API that revokes a tenant's credentials (the console)
// calls it, so every revocation path invalidates the same way.
func (s *Server) ForgetTenant(ctx context.Context, tenantID string) {
	s.forgetEverywhere(ctx, tenantID)
}

// appChangedEverywhere drops a tenant's cached applications in this
// process and tells the other processes (Deps.AppInvalidated) that appID
// changed, so message creation everywhere stops using a deleted or
// renamed application without waiting for appCacheTTL.
func (s *Server) appChangedEverywhere(ctx context.Context, tenantID, appID string) {
	s.apps.forget(tenantID)
	if s.appInvalidated != nil {
		s.appInvalidated(context.WithoutCancel(ctx), tenantID, appID)
	}
}

// ForgetApplications drops this process's cached applications of a
// tenant (every tenant's when tenantID is empty), after another process
// said one changed. It tells no one.
func (s *Server) ForgetApplications(tenantID string) {
	if tenantID == "" {
		s.apps.purge()
		return
	}
	s.apps.forget(tenantID)
}

// destinationSavedEverywhere tells the workers (Deps.DestinationSaved)
// that a destination of appID was created, changed, enabled or retried:
// a FIFO or RabbitMQ one may now have work where none was. A worker told
// checks once (one cheap statement), so it is told of every kind.
func (s *Server) destinationSavedEverywhere(ctx context.Context, tenantID, appID string) {
	if s.destinationSaved != nil {
		s.destinationSaved(context.WithoutCancel(ctx), tenantID, appID)
	}
}
