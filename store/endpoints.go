package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// endpointRow is a row of endpoints.
type endpointRow struct {
	ID             string `gorm:"primaryKey"`
	TenantID       string
	AppID          string
	UID            *string
	URL            string
	Description    string
	Disabled       bool
	EventTypes     []string `gorm:"serializer:json"`
	Channels       []string `gorm:"serializer:json"`
	ThrottleRate   *int
	MaxConcurrency *int
	Metadata       map[string]string `gorm:"serializer:json"`
	Headers        map[string]string `gorm:"serializer:json"`
	RetrySchedule  []int64           `gorm:"serializer:json"`
	Revision       int64
	FailingSince   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
}

func (endpointRow) TableName() string { return "endpoints" }

func toEndpoint(r endpointRow) tenants.Endpoint { return tenants.Endpoint(r) }

func (s *Store) endpoints(ctx context.Context, tenantID, appID string) *gorm.DB {
	return s.q(ctx).Model(&endpointRow{}).Where("tenant_id = ? AND app_id = ? AND deleted_at IS NULL", tenantID, appID)
}

// FindEndpoint returns the live endpoint of application appID whose id or
// uid is ref, or ErrNotFound.
func (s *Store) FindEndpoint(ctx context.Context, tenantID, appID, ref string) (tenants.Endpoint, error) {
	var r endpointRow
	q := s.endpoints(ctx, tenantID, appID)
	if tenants.IsID(tenants.PrefixEndpoint, ref) {
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("uid = ?", ref)
	}
	if err := q.Take(&r).Error; err != nil {
		return tenants.Endpoint{}, fmt.Errorf("find endpoint %s: %w", ref, translate(err))
	}
	return toEndpoint(r), nil
}

// FindEndpoints returns a page of an application's endpoints.
func (s *Store) FindEndpoints(ctx context.Context, tenantID, appID string, p tenants.ListParams) (tenants.Page[tenants.Endpoint], error) {
	pg, err := paginate(s.endpoints(ctx, tenantID, appID), "id", p, func(r *endpointRow) string { return r.ID })
	if err != nil {
		return tenants.Page[tenants.Endpoint]{}, fmt.Errorf("find endpoints: %w", err)
	}
	return convertPage(pg, toEndpoint), nil
}

// FindTroubledEndpoints returns up to limit of the tenant's endpoints that
// are disabled or failing, across applications, the longest failing first.
func (s *Store) FindTroubledEndpoints(ctx context.Context, tenantID string, limit int) ([]tenants.TroubledEndpoint, error) {
	var rows []struct {
		Endpoint endpointRow `gorm:"embedded"`
		AppName  string
	}
	err := s.q(ctx).Table("endpoints AS e").Select("e.*, a.name AS app_name").
		Joins("JOIN applications a ON a.id = e.app_id AND a.deleted_at IS NULL").
		Where("e.tenant_id = ? AND e.deleted_at IS NULL AND (e.disabled OR e.failing_since IS NOT NULL)", tenantID).
		Order("e.failing_since NULLS LAST, e.id").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find troubled endpoints: %w", translate(err))
	}
	out := make([]tenants.TroubledEndpoint, len(rows))
	for i, r := range rows {
		out[i] = tenants.TroubledEndpoint{Endpoint: toEndpoint(r.Endpoint), AppName: r.AppName}
	}
	return out, nil
}

// FindEndpointsByID returns the tenant's live endpoints among ids, across
// applications, in no particular order; ids of other tenants' endpoints
// or of deleted ones are left out.
func (s *Store) FindEndpointsByID(ctx context.Context, tenantID string, ids []string) ([]tenants.Endpoint, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []endpointRow
	err := s.q(ctx).Model(&endpointRow{}).Where("tenant_id = ? AND deleted_at IS NULL AND id IN ?", tenantID, ids).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find endpoints by id: %w", translate(err))
	}
	out := make([]tenants.Endpoint, len(rows))
	for i, r := range rows {
		out[i] = toEndpoint(r)
	}
	return out, nil
}

// CreateEndpoint stores a new endpoint of application appID with its first
// secret (supplied or generated).
func (s *Store) CreateEndpoint(ctx context.Context, tenantID, appID string, in tenants.EndpointInput) (tenants.Endpoint, error) {
	secret := tenants.NewEndpointSecret()
	if in.Secret != nil {
		var err error
		if secret, err = tenants.NormalizeEndpointSecret(*in.Secret); err != nil {
			return tenants.Endpoint{}, tenants.Invalid("secret", err.Error())
		}
	}
	if err := tenants.ValidateHeaders(in.Headers); err != nil {
		return tenants.Endpoint{}, err
	}
	var e tenants.Endpoint
	err := s.InTx(ctx, func(tx *Store) error {
		if !in.EventTypesChecked {
			if err := tx.checkEventTypes(ctx, tenantID, in.EventTypes); err != nil {
				return err
			}
		}
		now := tx.Now()
		id := tenants.NewID(tenants.PrefixEndpoint, now)
		// The sensitive values never reach the row in the clear, not even
		// in a tuple the transaction replaces.
		plain, sealed, err := tx.splitHeaders(id, in.Headers)
		if err != nil {
			return err
		}
		r := endpointRow{
			ID: id, TenantID: tenantID, AppID: appID, UID: in.UID, URL: in.URL,
			Description: in.Description, Disabled: in.Disabled, EventTypes: tenants.NormList(in.EventTypes),
			Channels: tenants.NormList(in.Channels), ThrottleRate: in.ThrottleRate, MaxConcurrency: in.MaxConcurrency, Metadata: tenants.OrEmpty(in.Metadata),
			Headers: plain, RetrySchedule: in.RetrySchedule, Revision: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.q(ctx).Create(&r).Error; err != nil {
			return fmt.Errorf("create endpoint: %w", translate(err))
		}
		if sealed != nil {
			if err := tx.writeSealedHeaders(ctx, id, sealed); err != nil {
				return err
			}
		}
		e = toEndpoint(r)
		return tx.insertSecret(ctx, e.ID, secret)
	})
	return e, err
}

// UpsertEndpoint replaces endpoint ref (keeping its secret and headers), or
// creates it when it does not exist.
func (s *Store) UpsertEndpoint(ctx context.Context, tenantID, appID, ref string, in tenants.EndpointInput) (e tenants.Endpoint, created bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if errors.Is(err, tenants.ErrNotFound) {
			if in.UID == nil && !tenants.IsID(tenants.PrefixEndpoint, ref) {
				in.UID = &ref
			}
			e, err = tx.CreateEndpoint(ctx, tenantID, appID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		if !in.EventTypesChecked {
			if err := tx.checkEventTypes(ctx, tenantID, in.EventTypes); err != nil {
				return err
			}
		}
		cur.Replace(in)
		e, err = tx.saveEndpoint(ctx, cur)
		return err
	})
	return e, created, err
}

// PatchEndpoint applies a partial update. A new secret in the patch replaces
// the current one at once, with no grace period (rotate keeps one).
func (s *Store) PatchEndpoint(ctx context.Context, tenantID, appID, ref string, p tenants.EndpointPatch) (tenants.Endpoint, error) {
	var e tenants.Endpoint
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		if p.EventTypes.Set {
			if err := tx.checkEventTypes(ctx, tenantID, p.EventTypes.Value); err != nil {
				return err
			}
		}
		cur.Patch(p)
		if p.Secret.Set && !p.Secret.Null {
			secret, err := tenants.NormalizeEndpointSecret(p.Secret.Value)
			if err != nil {
				return tenants.Invalid("secret", err.Error())
			}
			if err := tx.rotateSecret(ctx, cur.ID, secret, 0); err != nil {
				return err
			}
		}
		e, err = tx.saveEndpoint(ctx, cur)
		return err
	})
	return e, err
}

// saveEndpoint writes e's mutable fields and bumps its revision, which
// tells every worker's cache that its configuration changed.
func (s *Store) saveEndpoint(ctx context.Context, e tenants.Endpoint) (tenants.Endpoint, error) {
	e.UpdatedAt = s.Now()
	e.Revision++
	r := endpointRow(e)
	err := s.q(ctx).Model(&r).Where("tenant_id = ?", e.TenantID).
		Select("uid", "url", "description", "disabled", "event_types", "channels", "throttle_rate", "max_concurrency",
			"metadata", "headers", "retry_schedule", "revision", "failing_since", "updated_at").
		Updates(&r).Error
	if err != nil {
		return tenants.Endpoint{}, fmt.Errorf("update endpoint %s: %w", e.ID, translate(err))
	}
	return e, nil
}

// DeleteEndpoint soft-deletes the endpoint; its uid becomes free at once
// and its pending deliveries are canceled when next picked up.
func (s *Store) DeleteEndpoint(ctx context.Context, tenantID, appID, ref string) error {
	e, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	now := s.Now()
	err = s.q(ctx).Model(&endpointRow{}).Where("tenant_id = ? AND id = ?", tenantID, e.ID).
		Updates(map[string]any{"deleted_at": now, "updated_at": now, "revision": gorm.Expr("revision + 1")}).Error
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", e.ID, translate(err))
	}
	return nil
}

// EndpointHeaders returns an endpoint's custom headers, the sensitive ones
// opened (the API shows only their names).
func (s *Store) EndpointHeaders(ctx context.Context, tenantID, appID, ref string) (map[string]string, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return nil, err
	}
	return s.readHeaders(ctx, tenantID, e.ID)
}

// SetEndpointHeaders replaces all custom headers (replace) or merges them
// (patch, where a nil value deletes the header).
func (s *Store) SetEndpointHeaders(ctx context.Context, tenantID, appID, ref string, h map[string]*string, replace bool) error {
	if len(h) > 2*tenants.MaxCustomHeaders { // refused before the quadratic merge below
		return tenants.InvalidAt([]string{"body", "headers"}, fmt.Sprintf("at most %d custom headers", tenants.MaxCustomHeaders))
	}
	return s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		next := map[string]string{}
		if !replace {
			if next, err = tx.readHeaders(ctx, tenantID, cur.ID); err != nil {
				return err
			}
		}
		for k, v := range h {
			// Header names are case-insensitive: drop any spelling of k first.
			for old := range next {
				if strings.EqualFold(old, k) {
					delete(next, old)
				}
			}
			if v != nil {
				next[k] = *v
			}
		}
		if err := tenants.ValidateHeaders(next); err != nil {
			return err
		}
		plain, sealed, err := tx.splitHeaders(cur.ID, next)
		if err != nil {
			return err
		}
		cur.Headers = plain
		if _, err = tx.saveEndpoint(ctx, cur); err != nil {
			return err
		}
		return tx.writeSealedHeaders(ctx, cur.ID, sealed)
	})
}

// checkEventTypes reports an invalid body.eventTypes unless every name is
// an existing, unarchived event type of the tenant.
func (s *Store) checkEventTypes(ctx context.Context, tenantID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var found []string
	err := s.q(ctx).Model(&eventTypeRow{}).Where("tenant_id = ? AND name IN ? AND NOT archived", tenantID, names).
		Pluck("name", &found).Error
	if err != nil {
		return fmt.Errorf("check event types: %w", translate(err))
	}
	var missing []string
	for _, n := range names {
		if !slices.Contains(found, n) && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return tenants.InvalidAt([]string{"body", "eventTypes"}, "unknown or archived event types: "+strings.Join(missing, ", "))
	}
	return nil
}
