package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/internal/nullable"
	"github.com/hookline/hookline/tenants"
)

// retentionOut is a tenant's retention as the operator API shows it.
type retentionOut struct {
	TenantID string `json:"tenantId"`
	// Days is the tenant's own setting; null: its plan's (PlanDays).
	Days     *int `json:"days"`
	PlanDays int  `json:"planDays"`
	// EffectiveDays is what is in force (Days or PlanDays, bounded by
	// HOOKLINE_RETENTION_CAP), in days (fractional with a cap below a day).
	EffectiveDays float64 `json:"effectiveDays"`
}

func toRetentionOut(tenantID string, r tenants.TenantRetention) retentionOut {
	return retentionOut{TenantID: tenantID, Days: r.Days, PlanDays: r.PlanDays, EffectiveDays: r.Effective.Hours() / 24}
}

// adminGetRetention is GET /admin/v1/tenants/:tenant_id/retention.
func (s *Server) adminGetRetention(c *gin.Context) error {
	id := c.Param("tenant_id")
	r, err := s.store.FindTenantRetention(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toRetentionOut(id, r))
	return nil
}

// retentionIn documents setRetentionIn's shape in the OpenAPI document.
type retentionIn struct {
	Days *int `json:"days"`
}

type setRetentionIn struct {
	Days nullable.Value[int] `json:"days"`
}

// adminSetRetention is PUT /admin/v1/tenants/:tenant_id/retention
// {"days": 30}; {"days": null} returns the tenant to its plan's.
func (s *Server) adminSetRetention(c *gin.Context) error {
	var in setRetentionIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if !in.Days.Set {
		return tenants.Invalid("days", "field required (null: the plan's retention)")
	}
	var days *int
	if !in.Days.Null {
		d := in.Days.Value
		days = &d
	}
	id := c.Param("tenant_id")
	r, err := s.store.SetTenantRetention(c.Request.Context(), id, days)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toRetentionOut(id, r))
	return nil
}
