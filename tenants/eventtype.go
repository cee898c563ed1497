package tenants

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType is an entry of a tenant's event catalog.
type EventType struct {
	TenantID    string
	Name        string
	Description string
	Archived    bool
	Deprecated  bool
	// Schemas maps a version ("1") to a JSON schema, kept as raw JSON.
	Schemas     json.RawMessage
	FeatureFlag *string
	GroupName   *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// FeatureFlags is Svix 1.947's list of flags (beside the older single
	// FeatureFlag, kept as sent); nil: none.
	FeatureFlags []string
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
	// FeatureFlags is Svix 1.947's list of flags (nil: none).
	FeatureFlags []string
}

// EventTypePatch holds the fields of a partial update.
type EventTypePatch struct {
	Description  *string
	Archived     *bool
	Deprecated   *bool
	Schemas      Optional[json.RawMessage]
	FeatureFlag  Optional[string]
	GroupName    Optional[string]
	FeatureFlags Optional[[]string]
}

// Set replaces et's fields with in's (not its name).
func (et *EventType) Set(in EventTypeInput) {
	et.Description, et.Archived, et.Deprecated = in.Description, in.Archived, in.Deprecated
	et.Schemas, et.FeatureFlag, et.GroupName = in.Schemas, in.FeatureFlag, in.GroupName
	et.FeatureFlags = in.FeatureFlags
}

// Patch applies p to et.
func (et *EventType) Patch(p EventTypePatch) {
	if p.Description != nil {
		et.Description = *p.Description
	}
	if p.Archived != nil {
		et.Archived = *p.Archived
	}
	if p.Deprecated != nil {
		et.Deprecated = *p.Deprecated
	}
	if p.Schemas.Set {
		et.Schemas = nil
		if !p.Schemas.Null {
			et.Schemas = p.Schemas.Value
		}
	}
	et.FeatureFlag = p.FeatureFlag.Apply(et.FeatureFlag)
	et.GroupName = p.GroupName.Apply(et.GroupName)
	if p.FeatureFlags.Set {
		et.FeatureFlags = nil
		if !p.FeatureFlags.Null {
			et.FeatureFlags = p.FeatureFlags.Value
		}
	}
}

// ErrEventTypeExists is the creation of an event type that exists and is
// not archived.
func ErrEventTypeExists(name string) error {
	return Conflict("event_type_exists", fmt.Sprintf("event type %q already exists", name))
}

// MaxImportEventTypes bounds the event types one import (environment or
// OpenAPI) may carry: an import is one transaction, and a bound keeps it
// short whatever the caller sends.
const MaxImportEventTypes = 5000

// EventTypeImport is a bulk upsert of event types (environment import,
// OpenAPI import), applied in one transaction: each of Types replaces the
// stored type of its name (its Archived flag included), or creates it.
type EventTypeImport struct {
	Types []EventTypeInput
	// ReplaceAll archives the tenant's other live event types.
	ReplaceAll bool
	// Settings, when set, patches the portal settings in the same
	// transaction (environment import).
	Settings *PortalSettingsPatch
}
