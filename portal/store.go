package portal

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Store is what the portal reads and writes in PostgreSQL beyond the
// public API it calls (package store implements it): its tokens'
// revocations and the tenant's branding.
type Store interface {
	ExpireAppTokens(ctx context.Context, tenantID, appID string, sessionIDs []string, issuedBefore, effectiveAt time.Time) error
	FindAppTokenRevocations(ctx context.Context, tenantID, appID string) (tenants.AppTokenRevocations, error)
	FindApplication(ctx context.Context, tenantID, ref string) (tenants.Application, error)
	FindPortalSettings(ctx context.Context, tenantID string) (tenants.PortalSettings, error)
	FindTenantByID(ctx context.Context, id string) (tenants.Tenant, error)
	PatchPortalSettings(ctx context.Context, tenantID string, p tenants.PortalSettingsPatch) (tenants.PortalSettings, error)
	RevokeAppToken(ctx context.Context, tenantID, appID, tokenID string, expiresAt time.Time) error
}
