package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// applicationRow is a row of applications.
type applicationRow struct {
	ID           string `gorm:"primaryKey"`
	TenantID     string
	UID          *string
	Name         string
	ThrottleRate *int
	Metadata     map[string]string `gorm:"serializer:json"`
	System       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time
}

func (applicationRow) TableName() string { return "applications" }

func toApplication(r applicationRow) tenants.Application { return tenants.Application(r) }

// apps scopes a query to the tenant's live, ordinary applications (never
// the hidden system application).
func (s *Store) apps(ctx context.Context, tenantID string) *gorm.DB {
	return s.q(ctx).Model(&applicationRow{}).Where("tenant_id = ? AND deleted_at IS NULL AND NOT system", tenantID)
}

// FindApplication returns the live application whose id or uid is ref, or
// ErrNotFound.
func (s *Store) FindApplication(ctx context.Context, tenantID, ref string) (tenants.Application, error) {
	var r applicationRow
	q := s.apps(ctx, tenantID)
	if tenants.IsID(tenants.PrefixApplication, ref) {
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("uid = ?", ref)
	}
	if err := q.Take(&r).Error; err != nil {
		return tenants.Application{}, fmt.Errorf("find application %s: %w", ref, translate(err))
	}
	return toApplication(r), nil
}

// FindApplications returns a page of the tenant's applications.
func (s *Store) FindApplications(ctx context.Context, tenantID string, p tenants.ListParams) (tenants.Page[tenants.Application], error) {
	return s.FindApplicationsFiltered(ctx, tenantID, tenants.ApplicationFilter{ListParams: p})
}

// FindApplicationsFiltered returns a page of the tenant's applications that
// pass f.
func (s *Store) FindApplicationsFiltered(ctx context.Context, tenantID string, f tenants.ApplicationFilter) (tenants.Page[tenants.Application], error) {
	q := s.apps(ctx, tenantID)
	if f.ExcludeNoEndpoints {
		q = q.Where("EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL)")
	}
	if f.ExcludeOnlyDisabledEndpoints {
		q = q.Where(`NOT (EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL AND NOT e.disabled))`)
	}
	pg, err := paginate(q, "id", f.ListParams, func(r *applicationRow) string { return r.ID })
	if err != nil {
		return tenants.Page[tenants.Application]{}, fmt.Errorf("find applications: %w", err)
	}
	return convertPage(pg, toApplication), nil
}

// FindApplicationNames returns the names of the tenant's applications
// among ids (deleted ones included, so old messages still name theirs).
func (s *Store) FindApplicationNames(ctx context.Context, tenantID string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ ID, Name string }
	if err := s.q(ctx).Table("applications").Select("id, name").Where("tenant_id = ? AND id IN ?", tenantID, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find application names: %w", translate(err))
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// CreateApplication stores a new application. A taken uid is ErrConflict.
func (s *Store) CreateApplication(ctx context.Context, tenantID string, in tenants.ApplicationInput) (tenants.Application, error) {
	now := s.Now()
	r := applicationRow{
		ID: tenants.NewID(tenants.PrefixApplication, now), TenantID: tenantID, UID: in.UID, Name: in.Name,
		ThrottleRate: in.ThrottleRate, Metadata: tenants.OrEmpty(in.Metadata), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.q(ctx).Create(&r).Error; err != nil {
		return tenants.Application{}, fmt.Errorf("create application: %w", translate(err))
	}
	return toApplication(r), nil
}

// UpsertApplication replaces the application ref, or creates it (with a new
// id) when it does not exist. created reports which happened.
func (s *Store) UpsertApplication(ctx context.Context, tenantID, ref string, in tenants.ApplicationInput) (a tenants.Application, created bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindApplication(ctx, tenantID, ref)
		if errors.Is(err, tenants.ErrNotFound) {
			if in.UID == nil && !tenants.IsID(tenants.PrefixApplication, ref) {
				in.UID = &ref
			}
			a, err = tx.CreateApplication(ctx, tenantID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		cur.Name, cur.UID, cur.ThrottleRate, cur.Metadata = in.Name, in.UID, in.ThrottleRate, tenants.OrEmpty(in.Metadata)
		a, err = tx.saveApplication(ctx, cur)
		return err
	})
	return a, created, err
}

// PatchApplication applies a partial update.
func (s *Store) PatchApplication(ctx context.Context, tenantID, ref string, p tenants.ApplicationPatch) (tenants.Application, error) {
	var a tenants.Application
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindApplication(ctx, tenantID, ref)
		if err != nil {
			return err
		}
		p.Apply(&cur)
		a, err = tx.saveApplication(ctx, cur)
		return err
	})
	return a, err
}

func (s *Store) saveApplication(ctx context.Context, a tenants.Application) (tenants.Application, error) {
	a.UpdatedAt = s.Now()
	r := applicationRow(a)
	err := s.q(ctx).Model(&r).Where("tenant_id = ?", a.TenantID).
		Select("uid", "name", "throttle_rate", "metadata", "updated_at").Updates(&r).Error
	if err != nil {
		return tenants.Application{}, fmt.Errorf("update application %s: %w", a.ID, translate(err))
	}
	return a, nil
}

// DeleteApplication soft-deletes the application and its endpoints; its
// uid becomes free at once. Pending deliveries to its endpoints are
// canceled by the worker when it finds the endpoint gone.
func (s *Store) DeleteApplication(ctx context.Context, tenantID, ref string) error {
	return s.InTx(ctx, func(tx *Store) error {
		a, err := tx.FindApplication(ctx, tenantID, ref)
		if err != nil {
			return err
		}
		now := tx.Now()
		if err := tx.q(ctx).Model(&applicationRow{}).Where("tenant_id = ? AND id = ?", tenantID, a.ID).
			Updates(map[string]any{"deleted_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("delete application %s: %w", a.ID, translate(err))
		}
		if err := tx.q(ctx).Model(&endpointRow{}).Where("tenant_id = ? AND app_id = ? AND deleted_at IS NULL", tenantID, a.ID).
			Updates(map[string]any{"deleted_at": now, "updated_at": now, "revision": gorm.Expr("revision + 1")}).Error; err != nil {
			return fmt.Errorf("delete endpoints of %s: %w", a.ID, translate(err))
		}
		return nil
	})
}

// systemAppName is the hidden application's name, shown nowhere a
// customer looks.
const systemAppName = "Operational webhooks"

// SystemApplication returns the tenant's hidden application of
// operational-webhook endpoints, or ErrNotFound when the tenant has never
// created an operational endpoint. FindApplication, FindApplications and
// the other application methods never return it, so it is invisible to the
// application list, app tokens and the portal.
func (s *Store) SystemApplication(ctx context.Context, tenantID string) (tenants.Application, error) {
	var r applicationRow
	err := s.q(ctx).Model(&applicationRow{}).Where("tenant_id = ? AND deleted_at IS NULL AND system", tenantID).Take(&r).Error
	if err != nil {
		return tenants.Application{}, fmt.Errorf("find system application of %s: %w", tenantID, translate(err))
	}
	return toApplication(r), nil
}

// EnsureSystemApplication returns the tenant's system application,
// creating it on first use. It is safe for concurrent use: two racing
// callers get the same application (a unique index allows one).
func (s *Store) EnsureSystemApplication(ctx context.Context, tenantID string) (tenants.Application, error) {
	a, err := s.SystemApplication(ctx, tenantID)
	if !errors.Is(err, tenants.ErrNotFound) {
		return a, err
	}
	now := s.Now()
	r := applicationRow{
		ID: tenants.NewID(tenants.PrefixApplication, now), TenantID: tenantID, Name: systemAppName,
		Metadata: map[string]string{}, System: true, CreatedAt: now, UpdatedAt: now,
	}
	err = s.q(ctx).Create(&r).Error
	if err == nil {
		return toApplication(r), nil
	}
	if err = translate(err); errors.Is(err, tenants.ErrConflict) {
		return s.SystemApplication(ctx, tenantID) // a racing caller made it
	}
	return tenants.Application{}, fmt.Errorf("create system application of %s: %w", tenantID, err)
}
