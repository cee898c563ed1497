package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// EventType is an entry of a tenant's event catalog.
type EventType struct {
	TenantID    string `gorm:"primaryKey"`
	Name        string `gorm:"primaryKey"`
	Description string
	Archived    bool
	Deprecated  bool
	// Schemas maps a version ("1") to a JSON schema, kept as raw JSON.
	Schemas     json.RawMessage `gorm:"type:jsonb"`
	FeatureFlag *string
	GroupName   *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// EventTypeInput holds the fields of a create or full update.
type EventTypeInput struct {
	Name        string
	Description string
	Archived    bool
	Deprecated  bool
	Schemas     json.RawMessage
	FeatureFlag *string
	GroupName   *string
}

// EventTypePatch holds the fields of a partial update.
type EventTypePatch struct {
	Description *string
	Archived    *bool
	Deprecated  *bool
	Schemas     Optional[json.RawMessage]
	FeatureFlag Optional[string]
	GroupName   Optional[string]
}

func (s *Store) eventTypes(ctx context.Context, tenantID string) *gorm.DB {
	return s.q(ctx).Model(&EventType{}).Where("tenant_id = ?", tenantID)
}

// FindEventType returns the event type (archived or not), or ErrNotFound.
func (s *Store) FindEventType(ctx context.Context, tenantID, name string) (EventType, error) {
	var et EventType
	if err := s.eventTypes(ctx, tenantID).Where("name = ?", name).Take(&et).Error; err != nil {
		return EventType{}, fmt.Errorf("find event type %s: %w", name, translate(err))
	}
	return et, nil
}

// FindEventTypes returns a page of event types sorted by name.
func (s *Store) FindEventTypes(ctx context.Context, tenantID string, p ListParams, includeArchived bool) (Page[EventType], error) {
	q := s.eventTypes(ctx, tenantID)
	if !includeArchived {
		q = q.Where("NOT archived")
	}
	p.Desc = false // the contract sorts event types by name and ignores order
	pg, err := paginate(q, "name", p, func(e *EventType) string { return e.Name })
	if err != nil {
		return pg, fmt.Errorf("find event types: %w", err)
	}
	return pg, nil
}

// CreateEventType adds an event type. Creating an archived one unarchives
// and updates it; an existing live one is a 409 "event_type_exists".
func (s *Store) CreateEventType(ctx context.Context, tenantID string, in EventTypeInput) (EventType, error) {
	var et EventType
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, in.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			now := tx.Now()
			et = EventType{TenantID: tenantID, Name: in.Name, CreatedAt: now}
			et.set(in)
			et.UpdatedAt = now
			if err := tx.q(ctx).Create(&et).Error; err != nil {
				return fmt.Errorf("create event type: %w", translate(err))
			}
			return nil
		case err != nil:
			return err
		case !cur.Archived:
			return &CodedError{Status: 409, Code: "event_type_exists", Detail: fmt.Sprintf("event type %q already exists", in.Name)}
		}
		cur.set(in)
		cur.Archived = false
		et, err = tx.saveEventType(ctx, cur)
		return err
	})
	return et, err
}

// UpsertEventType replaces (or creates) the event type name.
func (s *Store) UpsertEventType(ctx context.Context, tenantID, name string, in EventTypeInput) (et EventType, created bool, err error) {
	in.Name = name
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, name)
		if errors.Is(err, ErrNotFound) {
			et, err = tx.CreateEventType(ctx, tenantID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		cur.set(in)
		et, err = tx.saveEventType(ctx, cur)
		return err
	})
	return et, created, err
}

// PatchEventType applies a partial update.
func (s *Store) PatchEventType(ctx context.Context, tenantID, name string, p EventTypePatch) (EventType, error) {
	var et EventType
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, name)
		if err != nil {
			return err
		}
		if p.Description != nil {
			cur.Description = *p.Description
		}
		if p.Archived != nil {
			cur.Archived = *p.Archived
		}
		if p.Deprecated != nil {
			cur.Deprecated = *p.Deprecated
		}
		if p.Schemas.Set {
			cur.Schemas = nil
			if !p.Schemas.Null {
				cur.Schemas = p.Schemas.Value
			}
		}
		cur.FeatureFlag = p.FeatureFlag.apply(cur.FeatureFlag)
		cur.GroupName = p.GroupName.apply(cur.GroupName)
		et, err = tx.saveEventType(ctx, cur)
		return err
	})
	return et, err
}

// DeleteEventType archives the event type, or removes it for good with
// expunge.
func (s *Store) DeleteEventType(ctx context.Context, tenantID, name string, expunge bool) error {
	q := s.eventTypes(ctx, tenantID).Where("name = ?", name)
	var res *gorm.DB
	if expunge {
		res = q.Delete(&EventType{})
	} else {
		res = q.Updates(map[string]any{"archived": true, "updated_at": s.Now()})
	}
	if res.Error != nil {
		return fmt.Errorf("delete event type %s: %w", name, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete event type %s: %w", name, ErrNotFound)
	}
	return nil
}

func (et *EventType) set(in EventTypeInput) {
	et.Description, et.Archived, et.Deprecated = in.Description, in.Archived, in.Deprecated
	et.Schemas, et.FeatureFlag, et.GroupName = in.Schemas, in.FeatureFlag, in.GroupName
}

func (s *Store) saveEventType(ctx context.Context, et EventType) (EventType, error) {
	et.UpdatedAt = s.Now()
	err := s.eventTypes(ctx, et.TenantID).Where("name = ?", et.Name).
		Select("description", "archived", "deprecated", "schemas", "feature_flag", "group_name", "updated_at").
		Updates(&et).Error
	if err != nil {
		return EventType{}, fmt.Errorf("update event type %s: %w", et.Name, translate(err))
	}
	return et, nil
}
