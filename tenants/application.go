package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Application is one of a tenant's customers: the unit that owns endpoints
// and receives messages.
type Application struct {
	ID           string `gorm:"primaryKey"`
	TenantID     string
	UID          *string
	Name         string
	ThrottleRate *int
	Metadata     map[string]string `gorm:"serializer:json"`
	// System marks the tenant's hidden application of operational-webhook
	// endpoints (see SystemApplication); the application methods never
	// return it.
	System    bool
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

// ApplicationInput holds the fields of a create or a full update.
type ApplicationInput struct {
	Name         string
	UID          *string
	ThrottleRate *int
	Metadata     map[string]string
}

// ApplicationPatch holds the fields of a partial update; absent fields keep
// their value.
type ApplicationPatch struct {
	Name         *string
	UID          Optional[string]
	ThrottleRate Optional[int]
	Metadata     *map[string]string
}

func (s *Store) apps(ctx context.Context, tenantID string) *gorm.DB {
	return s.q(ctx).Model(&Application{}).Where("tenant_id = ? AND deleted_at IS NULL AND NOT system", tenantID)
}

// FindApplication returns the live application whose id or uid is ref, or
// ErrNotFound.
func (s *Store) FindApplication(ctx context.Context, tenantID, ref string) (Application, error) {
	var a Application
	q := s.apps(ctx, tenantID)
	if IsID(PrefixApplication, ref) {
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("uid = ?", ref)
	}
	if err := q.Take(&a).Error; err != nil {
		return Application{}, fmt.Errorf("find application %s: %w", ref, translate(err))
	}
	return a, nil
}

// FindApplications returns a page of the tenant's applications.
func (s *Store) FindApplications(ctx context.Context, tenantID string, p ListParams) (Page[Application], error) {
	return s.FindApplicationsFiltered(ctx, tenantID, ApplicationFilter{ListParams: p})
}

// ApplicationFilter narrows an application listing. The zero value keeps
// every application.
type ApplicationFilter struct {
	ListParams
	// ExcludeNoEndpoints drops applications without a live endpoint.
	ExcludeNoEndpoints bool
	// ExcludeOnlyDisabledEndpoints drops applications that have endpoints,
	// all of them disabled (Svix's exclude_apps_with_disabled_endpoints).
	ExcludeOnlyDisabledEndpoints bool
}

// FindApplicationsFiltered returns a page of the tenant's applications that
// pass f.
func (s *Store) FindApplicationsFiltered(ctx context.Context, tenantID string, f ApplicationFilter) (Page[Application], error) {
	q := s.apps(ctx, tenantID)
	if f.ExcludeNoEndpoints {
		q = q.Where("EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL)")
	}
	if f.ExcludeOnlyDisabledEndpoints {
		q = q.Where(`NOT (EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = applications.id AND e.deleted_at IS NULL AND NOT e.disabled))`)
	}
	pg, err := paginate(q, "id", f.ListParams, func(a *Application) string { return a.ID })
	if err != nil {
		return pg, fmt.Errorf("find applications: %w", err)
	}
	return pg, nil
}

// CreateApplication stores a new application. A taken uid is ErrConflict.
func (s *Store) CreateApplication(ctx context.Context, tenantID string, in ApplicationInput) (Application, error) {
	now := s.Now()
	a := Application{
		ID: NewID(PrefixApplication, now), TenantID: tenantID, UID: in.UID, Name: in.Name,
		ThrottleRate: in.ThrottleRate, Metadata: orEmpty(in.Metadata), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.q(ctx).Create(&a).Error; err != nil {
		return Application{}, fmt.Errorf("create application: %w", translate(err))
	}
	return a, nil
}

// UpsertApplication replaces the application ref, or creates it (with a new
// id) when it does not exist. created reports which happened.
func (s *Store) UpsertApplication(ctx context.Context, tenantID, ref string, in ApplicationInput) (a Application, created bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindApplication(ctx, tenantID, ref)
		if errors.Is(err, ErrNotFound) {
			if in.UID == nil && !IsID(PrefixApplication, ref) {
				in.UID = &ref
			}
			a, err = tx.CreateApplication(ctx, tenantID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		cur.Name, cur.UID, cur.ThrottleRate, cur.Metadata = in.Name, in.UID, in.ThrottleRate, orEmpty(in.Metadata)
		a, err = tx.saveApplication(ctx, cur)
		return err
	})
	return a, created, err
}

// PatchApplication applies a partial update.
func (s *Store) PatchApplication(ctx context.Context, tenantID, ref string, p ApplicationPatch) (Application, error) {
	var a Application
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindApplication(ctx, tenantID, ref)
		if err != nil {
			return err
		}
		if p.Name != nil {
			cur.Name = *p.Name
		}
		cur.UID = p.UID.apply(cur.UID)
		cur.ThrottleRate = p.ThrottleRate.apply(cur.ThrottleRate)
		if p.Metadata != nil {
			cur.Metadata = orEmpty(*p.Metadata)
		}
		a, err = tx.saveApplication(ctx, cur)
		return err
	})
	return a, err
}

func (s *Store) saveApplication(ctx context.Context, a Application) (Application, error) {
	a.UpdatedAt = s.Now()
	err := s.q(ctx).Model(&a).Where("tenant_id = ?", a.TenantID).
		Select("uid", "name", "throttle_rate", "metadata", "updated_at").Updates(&a).Error
	if err != nil {
		return Application{}, fmt.Errorf("update application %s: %w", a.ID, translate(err))
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
		if err := tx.q(ctx).Model(&Application{}).Where("tenant_id = ? AND id = ?", tenantID, a.ID).
			Updates(map[string]any{"deleted_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("delete application %s: %w", a.ID, translate(err))
		}
		if err := tx.q(ctx).Model(&Endpoint{}).Where("tenant_id = ? AND app_id = ? AND deleted_at IS NULL", tenantID, a.ID).
			Updates(map[string]any{"deleted_at": now, "updated_at": now, "revision": gorm.Expr("revision + 1")}).Error; err != nil {
			return fmt.Errorf("delete endpoints of %s: %w", a.ID, translate(err))
		}
		return nil
	})
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
