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
