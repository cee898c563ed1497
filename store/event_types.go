package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// eventTypeRow is a row of event_types.
type eventTypeRow struct {
	TenantID    string `gorm:"primaryKey"`
	Name        string `gorm:"primaryKey"`
	Description string
	Archived    bool
	Deprecated  bool
	Schemas     json.RawMessage `gorm:"type:jsonb"`
	FeatureFlag *string
	GroupName   *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// FeatureFlags is the jsonb list of migration 0017 (NULL: none).
	FeatureFlags []string `gorm:"serializer:json"`
}

func (eventTypeRow) TableName() string { return "event_types" }

func toEventType(r eventTypeRow) tenants.EventType { return tenants.EventType(r) }

func (s *Store) eventTypes(ctx context.Context, tenantID string) *gorm.DB {
	return s.q(ctx).Model(&eventTypeRow{}).Where("tenant_id = ?", tenantID)
}

// FindEventType returns the event type (archived or not), or ErrNotFound.
func (s *Store) FindEventType(ctx context.Context, tenantID, name string) (tenants.EventType, error) {
	var r eventTypeRow
	if err := s.eventTypes(ctx, tenantID).Where("name = ?", name).Take(&r).Error; err != nil {
		return tenants.EventType{}, fmt.Errorf("find event type %s: %w", name, translate(err))
	}
	return toEventType(r), nil
}

// FindEventTypes returns a page of event types sorted by name.
func (s *Store) FindEventTypes(ctx context.Context, tenantID string, p tenants.ListParams, includeArchived bool) (tenants.Page[tenants.EventType], error) {
	q := s.eventTypes(ctx, tenantID)
	if !includeArchived {
		q = q.Where("NOT archived")
	}
	p.Desc = false // the contract sorts event types by name and ignores order
	pg, err := paginate(q, "name", p, func(r *eventTypeRow) string { return r.Name })
	if err != nil {
		return tenants.Page[tenants.EventType]{}, fmt.Errorf("find event types: %w", err)
	}
	return convertPage(pg, toEventType), nil
}

// CreateEventType adds an event type. Creating an archived one unarchives
// and updates it; an existing live one is ErrEventTypeExists.
func (s *Store) CreateEventType(ctx context.Context, tenantID string, in tenants.EventTypeInput) (tenants.EventType, error) {
	var et tenants.EventType
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, in.Name)
		switch {
		case errors.Is(err, tenants.ErrNotFound):
			now := tx.Now()
			et = tenants.EventType{TenantID: tenantID, Name: in.Name, CreatedAt: now, UpdatedAt: now}
			et.Set(in)
			r := eventTypeRow(et)
			if err := tx.q(ctx).Create(&r).Error; err != nil {
				return fmt.Errorf("create event type: %w", translate(err))
			}
			return nil
		case err != nil:
			return err
		case !cur.Archived:
			return tenants.ErrEventTypeExists(in.Name)
		}
		cur.Set(in)
		cur.Archived = false
		et, err = tx.saveEventType(ctx, cur)
		return err
	})
	return et, err
}

// UpsertEventType replaces (or creates) the event type name.
func (s *Store) UpsertEventType(ctx context.Context, tenantID, name string, in tenants.EventTypeInput) (et tenants.EventType, created bool, err error) {
	in.Name = name
	err = s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, name)
		if errors.Is(err, tenants.ErrNotFound) {
			et, err = tx.CreateEventType(ctx, tenantID, in)
			created = true
			return err
		}
		if err != nil {
			return err
		}
		cur.Set(in)
		et, err = tx.saveEventType(ctx, cur)
		return err
	})
	return et, created, err
}

// PatchEventType applies a partial update.
func (s *Store) PatchEventType(ctx context.Context, tenantID, name string, p tenants.EventTypePatch) (tenants.EventType, error) {
	var et tenants.EventType
	err := s.InTx(ctx, func(tx *Store) error {
		cur, err := tx.FindEventType(ctx, tenantID, name)
		if err != nil {
			return err
		}
		cur.Patch(p)
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
		res = q.Delete(&eventTypeRow{})
	} else {
		res = q.Updates(map[string]any{"archived": true, "updated_at": s.Now()})
	}
	if res.Error != nil {
		return fmt.Errorf("delete event type %s: %w", name, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete event type %s: %w", name, tenants.ErrNotFound)
	}
	return nil
}

func (s *Store) saveEventType(ctx context.Context, et tenants.EventType) (tenants.EventType, error) {
	et.UpdatedAt = s.Now()
	r := eventTypeRow(et)
	err := s.eventTypes(ctx, et.TenantID).Where("name = ?", et.Name).
		Select("description", "archived", "deprecated", "schemas", "feature_flag", "group_name", "updated_at", "feature_flags").
		Updates(&r).Error
	if err != nil {
		return tenants.EventType{}, fmt.Errorf("update event type %s: %w", et.Name, translate(err))
	}
	return et, nil
}

// importChunk is how many event types one upsert statement of an import
// writes: big enough that an import of thousands is a handful of
// statements, small enough that one statement's parameters stay modest.
const importChunk = 500

// ImportEventTypes applies a bulk import in one transaction: the types in
// chunks of importChunk, each chunk one INSERT … ON CONFLICT statement (no
// savepoint per row: each savepoint that writes takes a lock of its own
// in PostgreSQL's shared lock table, which thousands of rows would fill
// for every tenant of the server), then ReplaceAll's archiving and the
// settings. More than MaxImportEventTypes types is an invalid request.
// Types with the same name: the last wins.
func (s *Store) ImportEventTypes(ctx context.Context, tenantID string, imp tenants.EventTypeImport) error {
	if len(imp.Types) > tenants.MaxImportEventTypes {
		return &tenants.Error{Code: tenants.CodeTooLarge, Reason: "too_many_event_types",
			Message: fmt.Sprintf("an import may carry at most %d event types; split it", tenants.MaxImportEventTypes)}
	}
	last := make(map[string]int, len(imp.Types))
	for i, in := range imp.Types {
		last[in.Name] = i
	}
	rows := make([]eventTypeRow, 0, len(last))
	names := make([]string, 0, len(last))
	now := s.Now()
	for i, in := range imp.Types {
		if last[in.Name] != i {
			continue
		}
		et := tenants.EventType{TenantID: tenantID, Name: in.Name, CreatedAt: now, UpdatedAt: now}
		et.Set(in)
		if et.Schemas == nil {
			et.Schemas = json.RawMessage("null")
		}
		rows = append(rows, eventTypeRow(et))
		names = append(names, in.Name)
	}
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.FindTenantByID(ctx, tenantID); err != nil {
			return err
		}
		for start := 0; start < len(rows); start += importChunk {
			chunk := rows[start:min(start+importChunk, len(rows))]
			err := tx.q(ctx).Exec(`INSERT INTO event_types (tenant_id, name, description, archived, deprecated, schemas,
					feature_flag, group_name, created_at, updated_at)
				SELECT tenant_id, name, description, archived, deprecated, NULLIF(schemas, 'null'::jsonb), feature_flag, group_name,
					created_at, updated_at
				FROM jsonb_to_recordset(?::jsonb) AS v(tenant_id text, name text, description text, archived boolean,
					deprecated boolean, schemas jsonb, feature_flag text, group_name text, created_at timestamptz, updated_at timestamptz)
				ON CONFLICT (tenant_id, name) DO UPDATE SET description = EXCLUDED.description, archived = EXCLUDED.archived,
					deprecated = EXCLUDED.deprecated, schemas = EXCLUDED.schemas, feature_flag = EXCLUDED.feature_flag,
					group_name = EXCLUDED.group_name, updated_at = EXCLUDED.updated_at`, jsonArg(importRows(chunk))).Error
			if err != nil {
				return fmt.Errorf("import event types: %w", translate(err))
			}
		}
		if imp.ReplaceAll {
			err := tx.q(ctx).Exec(`UPDATE event_types SET archived = true, updated_at = ?
				WHERE tenant_id = ? AND NOT archived AND NOT jsonb_exists(?::jsonb, name)`, now, tenantID, jsonArg(names)).Error
			if err != nil {
				return fmt.Errorf("import event types: archive the others: %w", translate(err))
			}
		}
		if imp.Settings != nil {
			if _, err := tx.PatchPortalSettings(ctx, tenantID, *imp.Settings); err != nil {
				return err
			}
		}
		return nil
	})
}

// importRow is an event type as the import statement reads it from JSON.
type importRow struct {
	TenantID    string          `json:"tenant_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas"`
	FeatureFlag *string         `json:"feature_flag"`
	GroupName   *string         `json:"group_name"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// FeatureFlags is not imported (environment and OpenAPI imports
	// carry no list): an import keeps what an event type had.
	FeatureFlags []string `json:"-"`
}

func importRows(rows []eventTypeRow) []importRow {
	out := make([]importRow, len(rows))
	for i, r := range rows {
		out[i] = importRow(r)
	}
	return out
}
