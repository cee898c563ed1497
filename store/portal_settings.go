package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/hookline/hookline/tenants"
)

// portalSettingsRow is a row of tenant_settings.
type portalSettingsRow struct {
	TenantID     string `gorm:"primaryKey"`
	DisplayName  string
	LogoURL      string
	PrimaryColor string
	Theme        string
	FrameOrigins []string `gorm:"serializer:json"`
	UpdatedAt    time.Time
}

func (portalSettingsRow) TableName() string { return "tenant_settings" }

// FindPortalSettings returns the tenant's portal settings; a tenant that
// never set any gets the defaults (and no error, so that a public page
// cannot tell whether a tenant exists).
func (s *Store) FindPortalSettings(ctx context.Context, tenantID string) (tenants.PortalSettings, error) {
	var r portalSettingsRow
	err := s.q(ctx).Where("tenant_id = ?", tenantID).Take(&r).Error
	if err = translate(err); errors.Is(err, tenants.ErrNotFound) {
		return tenants.DefaultPortalSettings(tenantID), nil
	}
	if err != nil {
		return tenants.PortalSettings{}, fmt.Errorf("find portal settings of %s: %w", tenantID, err)
	}
	ps := tenants.PortalSettings(r)
	if ps.FrameOrigins == nil {
		ps.FrameOrigins = []string{}
	}
	return ps, nil
}

// PatchPortalSettings applies p to the tenant's settings and returns the
// result. An unknown tenant is ErrNotFound; an invalid field an invalid
// error naming it (tenants.PortalSettings.Apply).
func (s *Store) PatchPortalSettings(ctx context.Context, tenantID string, p tenants.PortalSettingsPatch) (tenants.PortalSettings, error) {
	var out tenants.PortalSettings
	err := s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.FindTenantByID(ctx, tenantID); err != nil {
			return err
		}
		// Make sure the row exists, then lock it, so that concurrent
		// patches of different fields never undo each other.
		if err := tx.q(ctx).Exec(`INSERT INTO tenant_settings (tenant_id) VALUES (?) ON CONFLICT DO NOTHING`, tenantID).Error; err != nil {
			return fmt.Errorf("create portal settings: %w", translate(err))
		}
		var r portalSettingsRow
		if err := tx.q(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("tenant_id = ?", tenantID).Take(&r).Error; err != nil {
			return fmt.Errorf("lock portal settings: %w", translate(err))
		}
		cur := tenants.PortalSettings(r)
		if err := cur.Apply(p); err != nil {
			return err
		}
		cur.UpdatedAt = tx.Now()
		r = portalSettingsRow(cur)
		if err := tx.q(ctx).Save(&r).Error; err != nil {
			return fmt.Errorf("save portal settings: %w", translate(err))
		}
		out = cur
		return nil
	})
	if err != nil {
		return tenants.PortalSettings{}, err
	}
	if out.FrameOrigins == nil {
		out.FrameOrigins = []string{}
	}
	return out, nil
}
