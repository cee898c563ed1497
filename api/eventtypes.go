package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/hookline/hookline/internal/nullable"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

var eventTypeNameRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,256}$`)

type eventTypeIn struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Archived    *bool           `json:"archived"`
	Deprecated  *bool           `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas"`
	FeatureFlag *string         `json:"featureFlag"`
	GroupName   *string         `json:"groupName"`
	// FeatureFlags is Svix 1.947's list (kept beside featureFlag).
	FeatureFlags []string `json:"featureFlags"`
}

func (in eventTypeIn) toInput(name string) (tenants.EventTypeInput, error) {
	if !eventTypeNameRE.MatchString(name) {
		return tenants.EventTypeInput{}, tenants.Invalid("name", "must be 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
	}
	if in.Description == nil {
		return tenants.EventTypeInput{}, tenants.Invalid("description", "field required")
	}
	if err := checkLength("description", in.Description, maxEventTypeDescChars); err != nil {
		return tenants.EventTypeInput{}, err
	}
	schemas, err := checkSchemas(in.Schemas)
	if err != nil {
		return tenants.EventTypeInput{}, err
	}
	out := tenants.EventTypeInput{
		Name: name, Description: *in.Description, Schemas: schemas, FeatureFlag: in.FeatureFlag, GroupName: in.GroupName,
		FeatureFlags: in.FeatureFlags,
	}
	if err := checkFeatureFlags(in.FeatureFlags); err != nil {
		return tenants.EventTypeInput{}, err
	}
	if in.Archived != nil {
		out.Archived = *in.Archived
	}
	if in.Deprecated != nil {
		out.Deprecated = *in.Deprecated
	}
	return out, nil
}

// checkFeatureFlags checks Svix 1.947's featureFlags: names like event
// type names, no duplicates, at most 64.
func checkFeatureFlags(flags []string) error {
	if len(flags) > 64 {
		return tenants.Invalid("featureFlags", "at most 64 feature flags")
	}
	seen := make(map[string]bool, len(flags))
	for _, f := range flags {
		if !eventTypeNameRE.MatchString(f) {
			return tenants.Invalid("featureFlags", "each flag is 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
		}
		if seen[f] {
			return tenants.Invalid("featureFlags", "flags must be unique")
		}
		seen[f] = true
	}
	return nil
}

// checkSchemas accepts null or an object of version -> JSON schema.
func checkSchemas(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, tenants.Invalid("schemas", "must be an object mapping a version to a JSON schema")
	}
	return raw, nil
}

type eventTypePatchIn struct {
	Description  *string                         `json:"description"`
	Archived     *bool                           `json:"archived"`
	Deprecated   *bool                           `json:"deprecated"`
	Schemas      nullable.Value[json.RawMessage] `json:"schemas"`
	FeatureFlag  nullable.Value[string]          `json:"featureFlag"`
	GroupName    nullable.Value[string]          `json:"groupName"`
	FeatureFlags nullable.Value[[]string]        `json:"featureFlags"`
}

type eventTypeOut struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Archived     bool            `json:"archived"`
	Deprecated   bool            `json:"deprecated"`
	Schemas      json.RawMessage `json:"schemas"`
	FeatureFlag  *string         `json:"featureFlag,omitempty"`
	GroupName    *string         `json:"groupName,omitempty"`
	FeatureFlags []string        `json:"featureFlags,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
}

func toEventTypeOut(withContent bool) func(tenants.EventType) eventTypeOut {
	return func(et tenants.EventType) eventTypeOut {
		out := eventTypeOut{
			Name: et.Name, Description: et.Description, Archived: et.Archived, Deprecated: et.Deprecated,
			FeatureFlag: et.FeatureFlag, GroupName: et.GroupName, CreatedAt: et.CreatedAt.UTC(), UpdatedAt: et.UpdatedAt.UTC(),
			Schemas: json.RawMessage("null"), FeatureFlags: et.FeatureFlags,
		}
		if withContent && len(et.Schemas) > 0 {
			out.Schemas = et.Schemas
		}
		return out
	}
}

func (s *Server) listEventTypes(c *gin.Context) error {
	p, err := listParams(c, false)
	if err != nil {
		return err
	}
	archived, err := boolQuery(c, "include_archived", false)
	if err != nil {
		return err
	}
	withContent, err := boolQuery(c, "with_content", false)
	if err != nil {
		return err
	}
	pg, err := s.store.FindEventTypes(c.Request.Context(), principal(c).TenantID, p, archived)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toEventTypeOut(withContent)))
	return nil
}

func (s *Server) createEventType(c *gin.Context) error {
	var in eventTypeIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return tenants.Invalid("name", "field required")
	}
	ei, err := in.toInput(*in.Name)
	if err != nil {
		return err
	}
	et, err := s.store.CreateEventType(c.Request.Context(), principal(c).TenantID, ei)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toEventTypeOut(true)(et))
	return nil
}

func (s *Server) getEventType(c *gin.Context) error {
	et, err := s.store.FindEventType(c.Request.Context(), principal(c).TenantID, c.Param("event_type_name"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toEventTypeOut(true)(et))
	return nil
}

func (s *Server) updateEventType(c *gin.Context) error {
	var in eventTypeIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	ei, err := in.toInput(c.Param("event_type_name"))
	if err != nil {
		return err
	}
	et, created, err := s.store.UpsertEventType(c.Request.Context(), principal(c).TenantID, ei.Name, ei)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, toEventTypeOut(true)(et))
	return nil
}

func (s *Server) patchEventType(c *gin.Context) error {
	var in eventTypePatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Schemas.Set && !in.Schemas.Null {
		if _, err := checkSchemas(in.Schemas.Value); err != nil {
			return err
		}
	}
	if err := checkLength("description", in.Description, maxEventTypeDescChars); err != nil {
		return err
	}
	et, err := s.store.PatchEventType(c.Request.Context(), principal(c).TenantID, c.Param("event_type_name"), tenants.EventTypePatch{
		Description: in.Description, Archived: in.Archived, Deprecated: in.Deprecated,
		Schemas: in.Schemas, FeatureFlag: in.FeatureFlag, GroupName: in.GroupName, FeatureFlags: in.FeatureFlags,
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toEventTypeOut(true)(et))
	return nil
}

func (s *Server) deleteEventType(c *gin.Context) error {
	expunge, err := boolQuery(c, "expunge", false)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEventType(c.Request.Context(), principal(c).TenantID, c.Param("event_type_name"), expunge); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
