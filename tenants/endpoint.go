package tenants

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Endpoint is a URL of a tenant's customer that receives webhooks.
type Endpoint struct {
	ID           string `gorm:"primaryKey"`
	TenantID     string
	AppID        string
	UID          *string
	URL          string
	Description  string
	Disabled     bool
	EventTypes   []string          `gorm:"serializer:json"` // nil: all
	Channels     []string          `gorm:"serializer:json"` // nil: any
	ThrottleRate *int              // messages per second; nil: unlimited
	Metadata     map[string]string `gorm:"serializer:json"`
	Headers      map[string]string `gorm:"serializer:json"`
	// RetrySchedule is the endpoint's own delays between tries, in
	// milliseconds; nil means the server's schedule.
	RetrySchedule []int64 `gorm:"serializer:json"`
	Revision      int64
	FailingSince  *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeletedAt     *time.Time
}

// EndpointInput holds the fields of a create or a full update (PUT).
type EndpointInput struct {
	URL           string
	Description   string
	UID           *string
	Disabled      bool
	EventTypes    []string
	Channels      []string
	ThrottleRate  *int
	Metadata      map[string]string
	Headers       map[string]string // create only; nil keeps them on update
	Secret        *string           // create only; nil generates one
	RetrySchedule []int64
	// EventTypesChecked says the caller validated EventTypes itself, so
	// they need not be the tenant's event types (operational endpoints
	// filter on operational event types).
	EventTypesChecked bool
}

// EndpointPatch holds the fields of a partial update.
type EndpointPatch struct {
	URL           *string
	Description   *string
	UID           Optional[string]
	Disabled      *bool
	EventTypes    Optional[[]string]
	Channels      Optional[[]string]
	ThrottleRate  Optional[int]
	Metadata      *map[string]string
	Secret        Optional[string]
	RetrySchedule Optional[[]int64]
}

func (s *Store) endpoints(ctx context.Context, tenantID, appID string) *gorm.DB {
	return s.q(ctx).Model(&Endpoint{}).Where("tenant_id = ? AND app_id = ? AND deleted_at IS NULL", tenantID, appID)
}

// FindEndpoint returns the live endpoint of application appID whose id or
// uid is ref, or ErrNotFound.
func (s *Store) FindEndpoint(ctx context.Context, tenantID, appID, ref string) (Endpoint, error) {
	var e Endpoint
	q := s.endpoints(ctx, tenantID, appID)
	if IsID(PrefixEndpoint, ref) {
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("uid = ?", ref)
	}
	if err := q.Take(&e).Error; err != nil {
		return Endpoint{}, fmt.Errorf("find endpoint %s: %w", ref, translate(err))
	}
	return e, nil
}

// FindEndpoints returns a page of an application's endpoints.
func (s *Store) FindEndpoints(ctx context.Context, tenantID, appID string, p ListParams) (Page[Endpoint], error) {
	pg, err := paginate(s.endpoints(ctx, tenantID, appID), "id", p, func(e *Endpoint) string { return e.ID })
	if err != nil {
		return pg, fmt.Errorf("find endpoints: %w", err)
	}
	return pg, nil
}

// CreateEndpoint stores a new endpoint of application appID with its first
// secret (supplied or generated).
func (s *Store) CreateEndpoint(ctx context.Context, tenantID, appID string, in EndpointInput) (Endpoint, error) {
	secret := NewEndpointSecret()
	if in.Secret != nil {
		var err error
		if secret, err = NormalizeEndpointSecret(*in.Secret); err != nil {
			return Endpoint{}, Invalid("secret", err.Error())
		}
	}
	if err := ValidateHeaders(in.Headers); err != nil {
		return Endpoint{}, err
	}
	var e Endpoint
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.checkInputEventTypes(ctx, tenantID, in); err != nil {
			return err
		}
		now := tx.Now()
		e = Endpoint{
			ID: NewID(PrefixEndpoint, now), TenantID: tenantID, AppID: appID, UID: in.UID, URL: in.URL,
			Description: in.Description, Disabled: in.Disabled, EventTypes: normList(in.EventTypes),
			Channels: normList(in.Channels), ThrottleRate: in.ThrottleRate, Metadata: orEmpty(in.Metadata),
			Headers: orEmpty(in.Headers), RetrySchedule: in.RetrySchedule, Revision: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.q(ctx).Create(&e).Error; err != nil {
			return fmt.Errorf("create endpoint: %w", translate(err))
		}
		return tx.insertSecret(ctx, e.ID, secret)
	})
	return e, err
}

// UpsertEndpoint replaces endpoint ref (keeping its secret and headers), or
// creates it when it does not exist.
func (s *Store) UpsertEndpoint(ctx context.Context, tenantID, appID, ref string, in EndpointInput) (e Endpoint, created bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if errors.Is(err, ErrNotFound) {
			if in.UID == nil && !IsID(PrefixEndpoint, ref) {
				in.UID = &ref
			}
			e, err = tx.CreateEndpoint(ctx, tenantID, appID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		if err := tx.checkInputEventTypes(ctx, tenantID, in); err != nil {
			return err
		}
		cur.URL, cur.Description, cur.UID, cur.Disabled = in.URL, in.Description, in.UID, in.Disabled
		cur.EventTypes, cur.Channels, cur.ThrottleRate = normList(in.EventTypes), normList(in.Channels), in.ThrottleRate
		cur.Metadata = orEmpty(in.Metadata)
		if in.RetrySchedule != nil {
			cur.RetrySchedule = in.RetrySchedule
		}
		e, err = tx.saveEndpoint(ctx, cur)
		return err
	})
	return e, created, err
}

// PatchEndpoint applies a partial update. A new secret in the patch replaces
// the current one at once, with no grace period (rotate keeps one).
func (s *Store) PatchEndpoint(ctx context.Context, tenantID, appID, ref string, p EndpointPatch) (Endpoint, error) {
	var e Endpoint
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		if p.URL != nil {
			cur.URL = *p.URL
		}
		if p.Description != nil {
			cur.Description = *p.Description
		}
		cur.UID = p.UID.apply(cur.UID)
		if p.Disabled != nil {
			cur.Disabled = *p.Disabled
			if !cur.Disabled {
				cur.FailingSince = nil
			}
		}
		if p.EventTypes.Set {
			if err := tx.checkEventTypes(ctx, tenantID, p.EventTypes.Value); err != nil {
				return err
			}
			cur.EventTypes = normList(p.EventTypes.Value)
		}
		if p.Channels.Set {
			cur.Channels = normList(p.Channels.Value)
		}
		cur.ThrottleRate = p.ThrottleRate.apply(cur.ThrottleRate)
		if p.Metadata != nil {
			cur.Metadata = orEmpty(*p.Metadata)
		}
		if p.RetrySchedule.Set {
			cur.RetrySchedule = p.RetrySchedule.Value
		}
		if p.Secret.Set && !p.Secret.Null {
			secret, err := NormalizeEndpointSecret(p.Secret.Value)
			if err != nil {
				return Invalid("secret", err.Error())
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

func (s *Store) saveEndpoint(ctx context.Context, e Endpoint) (Endpoint, error) {
	e.UpdatedAt = s.Now()
	e.Revision++
	err := s.q(ctx).Model(&e).Where("tenant_id = ?", e.TenantID).
		Select("uid", "url", "description", "disabled", "event_types", "channels", "throttle_rate",
			"metadata", "headers", "retry_schedule", "revision", "failing_since", "updated_at").
		Updates(&e).Error
	if err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint %s: %w", e.ID, translate(err))
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
	err = s.q(ctx).Model(&Endpoint{}).Where("tenant_id = ? AND id = ?", tenantID, e.ID).
		Updates(map[string]any{"deleted_at": now, "updated_at": now, "revision": gorm.Expr("revision + 1")}).Error
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", e.ID, translate(err))
	}
	return nil
}

// EndpointHeaders returns an endpoint's custom headers.
func (s *Store) EndpointHeaders(ctx context.Context, tenantID, appID, ref string) (map[string]string, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return nil, err
	}
	return orEmpty(e.Headers), nil
}

// SetEndpointHeaders replaces all custom headers (replace) or merges them
// (patch, where a nil value deletes the header).
func (s *Store) SetEndpointHeaders(ctx context.Context, tenantID, appID, ref string, h map[string]*string, replace bool) error {
	if len(h) > 2*MaxCustomHeaders { // refused before the quadratic merge below
		return &ValidationError{Loc: []string{"body", "headers"}, Msg: fmt.Sprintf("at most %d custom headers", MaxCustomHeaders)}
	}
	return s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		next := map[string]string{}
		if !replace {
			for k, v := range cur.Headers {
				next[k] = v
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
		if err := ValidateHeaders(next); err != nil {
			return err
		}
		cur.Headers = next
		_, err = tx.saveEndpoint(ctx, cur)
		return err
	})
}

func (s *Store) checkInputEventTypes(ctx context.Context, tenantID string, in EndpointInput) error {
	if in.EventTypesChecked {
		return nil
	}
	return s.checkEventTypes(ctx, tenantID, in.EventTypes)
}

// checkEventTypes reports a ValidationError on body.eventTypes unless every
// name is an existing, unarchived event type of the tenant.
func (s *Store) checkEventTypes(ctx context.Context, tenantID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var found []string
	err := s.q(ctx).Model(&EventType{}).Where("tenant_id = ? AND name IN ? AND NOT archived", tenantID, names).
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
		return &ValidationError{Loc: []string{"body", "eventTypes"},
			Msg: "unknown or archived event types: " + strings.Join(missing, ", ")}
	}
	return nil
}

// normList turns an empty list into nil ("no filter") and drops duplicates.
func normList(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
