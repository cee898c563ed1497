package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// tenantRow is a row of tenants.
type tenantRow struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	Status           string
	TokensValidAfter *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (tenantRow) TableName() string { return "tenants" }

// CreateTenant stores a new active tenant and returns it.
func (s *Store) CreateTenant(ctx context.Context, name string) (tenants.Tenant, error) {
	if name == "" {
		return tenants.Tenant{}, tenants.Invalid("name", "name is required")
	}
	now := s.Now()
	r := tenantRow{ID: tenants.NewID(tenants.PrefixTenant, now), Name: name, Status: tenants.TenantActive, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(&r).Error; err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", translate(err))
	}
	return tenants.Tenant(r), nil
}

// FindTenantByID returns the tenant or ErrNotFound.
func (s *Store) FindTenantByID(ctx context.Context, id string) (tenants.Tenant, error) {
	var r tenantRow
	if err := s.q(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return tenants.Tenant{}, fmt.Errorf("find tenant %s: %w", id, translate(err))
	}
	return tenants.Tenant(r), nil
}

// FindTenants returns a page of tenants, oldest first.
func (s *Store) FindTenants(ctx context.Context, p tenants.ListParams) (tenants.Page[tenants.Tenant], error) {
	pg, err := paginate(s.q(ctx).Model(&tenantRow{}), "id", p, func(r *tenantRow) string { return r.ID })
	if err != nil {
		return tenants.Page[tenants.Tenant]{}, fmt.Errorf("find tenants: %w", err)
	}
	return convertPage(pg, func(r tenantRow) tenants.Tenant { return tenants.Tenant(r) }), nil
}

// FindTenantByName returns the oldest tenant with that name, or ErrNotFound.
func (s *Store) FindTenantByName(ctx context.Context, name string) (tenants.Tenant, error) {
	var r tenantRow
	if err := s.q(ctx).Where("name = ?", name).Order("id").Take(&r).Error; err != nil {
		return tenants.Tenant{}, fmt.Errorf("find tenant named %q: %w", name, translate(err))
	}
	return tenants.Tenant(r), nil
}

// SetTenantStatus suspends or resumes a tenant.
func (s *Store) SetTenantStatus(ctx context.Context, id, status string) (tenants.Tenant, error) {
	if status != tenants.TenantActive && status != tenants.TenantSuspended {
		return tenants.Tenant{}, tenants.Invalid("status", "must be active or suspended")
	}
	res := s.q(ctx).Model(&tenantRow{}).Where("id = ?", id).Updates(map[string]any{"status": status, "updated_at": s.Now()})
	if res.Error != nil {
		return tenants.Tenant{}, fmt.Errorf("set tenant %s status: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return tenants.Tenant{}, fmt.Errorf("set tenant %s status: %w", id, tenants.ErrNotFound)
	}
	return s.FindTenantByID(ctx, id)
}

// RevokeTenantTokens makes every tenant JWT of the tenant issued before at
// invalid (at zero means now; see tenants.RevocationInstant). Moving the
// time back un-revokes nothing that has expired, but does accept tokens
// issued after the new time again. ErrNotFound when the tenant does not
// exist.
func (s *Store) RevokeTenantTokens(ctx context.Context, id string, at time.Time) (tenants.Tenant, error) {
	if at.IsZero() {
		at = s.Now()
	}
	at = tenants.RevocationInstant(at)
	res := s.q(ctx).Model(&tenantRow{}).Where("id = ?", id).Updates(map[string]any{"tokens_valid_after": at.UTC(), "updated_at": s.Now()})
	if res.Error != nil {
		return tenants.Tenant{}, fmt.Errorf("revoke tenant %s tokens: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return tenants.Tenant{}, fmt.Errorf("revoke tenant %s tokens: %w", id, tenants.ErrNotFound)
	}
	return s.FindTenantByID(ctx, id)
}
