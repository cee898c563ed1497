package portal

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookline/hookline/internal/nullable"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// settingsOut is a tenant's portal settings as the tenant API and the
// operator API show them. Unset optional fields are null.
type settingsOut struct {
	DisplayName         *string    `json:"displayName"`
	LogoURL             *string    `json:"logoUrl"`
	PrimaryColor        *string    `json:"primaryColor"`
	Theme               string     `json:"theme"`
	AllowedFrameOrigins []string   `json:"allowedFrameOrigins"`
	UpdatedAt           *time.Time `json:"updatedAt"`
}

func toSettingsOut(ps tenants.PortalSettings) settingsOut {
	out := settingsOut{
		DisplayName: orNil(ps.DisplayName), LogoURL: orNil(ps.LogoURL), PrimaryColor: orNil(ps.PrimaryColor),
		Theme: ps.Theme, AllowedFrameOrigins: ps.FrameOrigins,
	}
	if !ps.UpdatedAt.IsZero() {
		t := ps.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	return out
}

// settingsPatchIn is a PATCH of the settings: absent keeps a field, null
// resets it to its default.
type settingsPatchIn struct {
	DisplayName         nullable.Value[string]   `json:"displayName"`
	LogoURL             nullable.Value[string]   `json:"logoUrl"`
	PrimaryColor        nullable.Value[string]   `json:"primaryColor"`
	Theme               nullable.Value[string]   `json:"theme"`
	AllowedFrameOrigins nullable.Value[[]string] `json:"allowedFrameOrigins"`
}

func patchField[T any](n nullable.Value[T]) *T {
	if !n.Set {
		return nil
	}
	var v T // null resets to the zero value, which means "default"
	if !n.Null {
		v = n.Value
	}
	return &v
}

func (in settingsPatchIn) toPatch() tenants.PortalSettingsPatch {
	return tenants.PortalSettingsPatch{
		DisplayName: patchField(in.DisplayName), LogoURL: patchField(in.LogoURL),
		PrimaryColor: patchField(in.PrimaryColor), Theme: patchField(in.Theme),
		FrameOrigins: patchField(in.AllowedFrameOrigins),
	}
}

func (s *Server) getSettingsOf(c *gin.Context, tenantID string) error {
	ps, err := s.d.Store.FindPortalSettings(c.Request.Context(), tenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toSettingsOut(ps))
	return nil
}

func (s *Server) patchSettingsOf(c *gin.Context, tenantID string) error {
	var in settingsPatchIn
	if err := s.d.Decode(c, &in, false); err != nil {
		return err
	}
	ps, err := s.d.Store.PatchPortalSettings(c.Request.Context(), tenantID, in.toPatch())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toSettingsOut(ps))
	return nil
}

// getSettings and patchSettings let a tenant brand its portal and choose
// who may embed it.
func (s *Server) getSettings(c *gin.Context) error { return s.getSettingsOf(c, s.d.Caller(c).TenantID) }
func (s *Server) patchSettings(c *gin.Context) error {
	return s.patchSettingsOf(c, s.d.Caller(c).TenantID)
}

// adminGetSettings and adminPatchSettings do the same for the operator.
func (s *Server) adminGetSettings(c *gin.Context) error {
	t, err := s.d.Store.FindTenantByID(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		return err
	}
	return s.getSettingsOf(c, t.ID)
}

func (s *Server) adminPatchSettings(c *gin.Context) error {
	return s.patchSettingsOf(c, c.Param("tenant_id"))
}

// SettingsOut renders portal settings as GET /api/v1/settings answers
// them (for the API's environment export).
func SettingsOut(ps tenants.PortalSettings) any { return toSettingsOut(ps) }

// SettingsPatch reads a settings object as PATCH /api/v1/settings takes it
// (for the API's environment import); a malformed one is a
// *tenants.Error.
func SettingsPatch(raw []byte) (tenants.PortalSettingsPatch, error) {
	var in settingsPatchIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return tenants.PortalSettingsPatch{}, tenants.InvalidAt([]string{"body", "settings"}, err.Error())
	}
	return in.toPatch(), nil
}
