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

// SettingsWire is the portal settings' wire shape, which package portal
// owns (GET /api/v1/settings): environment export renders the settings
// with Out, import reads them with Patch (its errors are the client's: a
// *tenants.Error). main passes the portal's; the zero value
// exports and imports no settings.
type SettingsWire struct {
	Out   func(tenants.PortalSettings) any
	Patch func(raw []byte) (tenants.PortalSettingsPatch, error)
}

// SetSettingsWire gives the server the portal's settings shape. Call it
// before serving.
func (s *Server) SetSettingsWire(w SettingsWire) {
	if w.Out != nil && w.Patch != nil {
		s.settingsWire = w
	}
}

// noSettingsWire is the zero SettingsWire's behaviour.
var noSettingsWire = SettingsWire{
	Out: func(tenants.PortalSettings) any { return nil },
	Patch: func([]byte) (tenants.PortalSettingsPatch, error) {
		return tenants.PortalSettingsPatch{}, tenants.InvalidAt([]string{"body", "settings"}, "settings are not served here")
	},
}

// environmentVersion is the export format's version.
const environmentVersion = 1

type environmentOut struct {
	CreatedAt  time.Time      `json:"createdAt"`
	Version    int            `json:"version"`
	EventTypes []eventTypeOut `json:"eventTypes"`
	Settings   any            `json:"settings"`
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
	out.Settings = s.settingsWire.Out(ps)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) importEnvironment(c *gin.Context) error {
	var in environmentIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Connectors) > 0 {
		return tenants.InvalidAt([]string{"body", "connectors"}, "connectors are not supported by this server")
	}
	inputs := make([]tenants.EventTypeInput, 0, len(in.EventTypes))
	for i, et := range in.EventTypes {
		if et.Name == nil {
			return tenants.InvalidAt([]string{"body", "eventTypes", strconv.Itoa(i), "name"}, "field required")
		}
		ei, err := et.toInput(*et.Name)
		if err != nil {
			return err
		}
		inputs = append(inputs, ei)
	}
	var patch *tenants.PortalSettingsPatch
	if len(in.Settings) > 0 && string(in.Settings) != "null" {
		p, err := s.settingsWire.Patch(in.Settings)
		if err != nil {
			return err
		}
		patch = &p
	}
	ctx := c.Request.Context()
	tenantID := principal(c).TenantID
	if err := s.store.ImportEventTypes(ctx, tenantID, tenants.EventTypeImport{Types: inputs, Settings: patch}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// forEachEventType calls fn for every event type of the tenant, archived
// ones included, a page at a time.
func forEachEventType(c *gin.Context, st Store, tenantID string, fn func(tenants.EventType) error) error {
	p := tenants.ListParams{Limit: tenants.MaxLimit}
	for {
		pg, err := st.FindEventTypes(c.Request.Context(), tenantID, p, true)
		if err != nil {
			return err
		}
		for _, et := range pg.Items {
			if err := fn(et); err != nil {
				return err
			}
		}
		if pg.Done || pg.Iterator == "" {
			return nil
		}
		p.Iterator = pg.Iterator
	}
}
