package tenants

import (
	"context"
	"errors"
	"fmt"
)

// systemAppName is the hidden application's name, shown nowhere a
// customer looks.
const systemAppName = "Operational webhooks"

// SystemApplication returns the tenant's hidden application of
// operational-webhook endpoints, or ErrNotFound when the tenant has never
// created an operational endpoint. FindApplication, FindApplications and
// the other application methods never return it, so it is invisible to the
// application list, app tokens and the portal.
func (s *Store) SystemApplication(ctx context.Context, tenantID string) (Application, error) {
	var a Application
	err := s.q(ctx).Model(&Application{}).Where("tenant_id = ? AND deleted_at IS NULL AND system", tenantID).Take(&a).Error
	if err != nil {
		return Application{}, fmt.Errorf("find system application of %s: %w", tenantID, translate(err))
	}
	return a, nil
}

// EnsureSystemApplication returns the tenant's system application,
// creating it on first use. It is safe for concurrent use: two racing
// callers get the same application (a unique index allows one).
func (s *Store) EnsureSystemApplication(ctx context.Context, tenantID string) (Application, error) {
	a, err := s.SystemApplication(ctx, tenantID)
	if !errors.Is(err, ErrNotFound) {
		return a, err
	}
	now := s.Now()
	a = Application{
		ID: NewID(PrefixApplication, now), TenantID: tenantID, Name: systemAppName,
		Metadata: map[string]string{}, System: true, CreatedAt: now, UpdatedAt: now,
	}
	err = s.q(ctx).Create(&a).Error
	if err == nil {
		return a, nil
	}
	if err = translate(err); errors.Is(err, ErrConflict) {
		return s.SystemApplication(ctx, tenantID) // a racing caller made it
	}
	return Application{}, fmt.Errorf("create system application of %s: %w", tenantID, err)
}
