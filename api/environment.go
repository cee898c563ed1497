package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// Environment export and import carry a tenant's configuration between
// tenants (staging to production): its event types, archived ones
// included, with their schemas, and its portal settings (the object GET
// /api/v1/settings answers). Svix connectors are not served: export lists
// none, and import refuses a body that carries some rather than dropping
// them silently. Import adds and updates, never deletes, as in Svix.

// environmentVersion is the export format's version.
const environmentVersion = 1

type environmentOut struct {
	CreatedAt  time.Time      `json:"createdAt"`
	Version    int            `json:"version"`
	EventTypes []eventTypeOut `json:"eventTypes"`
	Settings   settingsOut    `json:"settings"`
	Connectors []struct{}     `json:"connectors"`
}

type environmentIn struct {
	EventTypes []eventTypeIn     `json:"eventTypes"`
	Settings   json.RawMessage   `json:"settings"`
	Connectors []json.RawMessage `json:"connectors"`
}

func (s *Server) exportEnvironment(c *gin.Context) error {
	ctx := c.Request.Context()
	tenantID := principal(c).TenantID
	out := environmentOut{CreatedAt: s.store.Now(), Version: environmentVersion, EventTypes: []eventTypeOut{}, Connectors: []struct{}{}}
	conv := toEventTypeOut(true)
	if err := forEachEventType(c, s.store, tenantID, func(et tenants.EventType) error {
		out.EventTypes = append(out.EventTypes, conv(et))
		return nil
	}); err != nil {
		return err
	}
	ps, err := s.store.FindPortalSettings(ctx, tenantID)
	if err != nil {
		return err
	}
	out.Settings = toSettingsOut(ps)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) importEnvironment(c *gin.Context) error {
	var in environmentIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Connectors) > 0 {
		return &tenants.ValidationError{Loc: []string{"body", "connectors"}, Msg: "connectors are not supported by this server"}
	}
	inputs := make([]tenants.EventTypeInput, 0, len(in.EventTypes))
	for i, et := range in.EventTypes {
		if et.Name == nil {
			return &tenants.ValidationError{Loc: []string{"body", "eventTypes", strconv.Itoa(i), "name"}, Msg: "field required"}
		}
		ei, err := et.toInput(*et.Name)
		if err != nil {
			return err
		}
		inputs = append(inputs, ei)
	}
	var patch *tenants.PortalSettingsPatch
	if len(in.Settings) > 0 && string(in.Settings) != "null" {
		var sp settingsPatchIn
		if err := decodeBytes(in.Settings, &sp); err != nil {
			return err
		}
		p := sp.toPatch()
		patch = &p
	}
	ctx := c.Request.Context()
	tenantID := principal(c).TenantID
	err := s.store.InTx(ctx, func(tx *tenants.Store) error {
		for _, ei := range inputs {
			if _, _, err := tx.UpsertEventType(ctx, tenantID, ei.Name, ei); err != nil {
				return err
			}
		}
		if patch != nil {
			if _, err := tx.PatchPortalSettings(ctx, tenantID, *patch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
