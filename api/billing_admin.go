package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/tenants"
)

type planOut struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// MonthlyCap is null for plans without a cap, and for custom-cap
	// plans (each tenant has its own).
	MonthlyCap *int64 `json:"monthlyCap"`
	CustomCap  bool   `json:"customCap"`
	Paid       bool   `json:"paid"`
}

func toPlanOut(p billing.Plan) planOut {
	return planOut{ID: p.ID, Name: p.Name, MonthlyCap: p.MonthlyCap, CustomCap: p.CustomCap, Paid: p.Paid}
}

type stripeLinkOut struct {
	CustomerID         string     `json:"customerId"`
	SubscriptionID     string     `json:"subscriptionId"`
	SubscriptionStatus string     `json:"subscriptionStatus"`
	PastDueSince       *time.Time `json:"pastDueSince"`
	ReportFrom         *time.Time `json:"reportFrom"`
}

type billingAccountOut struct {
	TenantID      string `json:"tenantId"`
	Plan          string `json:"plan"`
	PlanIsDefault bool   `json:"planIsDefault"`
	// MonthlyCap is the tenant's effective cap; null means none.
	MonthlyCap    *int64          `json:"monthlyCap"`
	Stripe        stripeLinkOut   `json:"stripe"`
	PaymentStatus string          `json:"paymentStatus"`
	Period        *usagePeriodOut `json:"period,omitempty"`
}

func toBillingAccountOut(a billing.Account, required bool) billingAccountOut {
	return billingAccountOut{
		TenantID: a.TenantID, Plan: a.Plan.ID, PlanIsDefault: a.PlanIsDefault, MonthlyCap: a.Cap(),
		Stripe: stripeLinkOut{CustomerID: a.StripeCustomerID, SubscriptionID: a.StripeSubscriptionID,
			SubscriptionStatus: a.SubscriptionStatus, PastDueSince: a.PastDueSince, ReportFrom: a.ReportFrom},
		PaymentStatus: paymentStatus(a, required),
	}
}

func (s *Server) adminListPlans(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	plans, err := s.billing.Plans(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]planOut, 0, len(plans))
	for _, p := range plans {
		out = append(out, toPlanOut(p))
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
	return nil
}

// adminGetBilling shows a tenant's plan, Stripe link and this month's
// usage against its cap.
func (s *Server) adminGetBilling(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	u, err := s.billing.Usage(c.Request.Context(), c.Param("tenant_id"), time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	out := toBillingAccountOut(u.Account, u.PaymentRequired)
	p := toUsagePeriodOut(u)
	out.Period = &p
	c.JSON(http.StatusOK, out)
	return nil
}

type setPlanIn struct {
	Plan       *string `json:"plan"`
	MonthlyCap *int64  `json:"monthlyCap"`
}

// adminSetPlan is PUT /admin/v1/tenants/:tenant_id/plan
// {"plan": "enterprise", "monthlyCap": 500000}.
func (s *Server) adminSetPlan(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	var in setPlanIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Plan == nil || strings.TrimSpace(*in.Plan) == "" {
		return tenants.Invalid("plan", "field required")
	}
	a, err := s.billing.SetPlan(c.Request.Context(), c.Param("tenant_id"), billing.PlanChange{Plan: strings.TrimSpace(*in.Plan), MonthlyCap: in.MonthlyCap})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toBillingAccountOut(a, false))
	return nil
}

type attachStripeIn struct {
	CustomerID     string `json:"customerId"`
	SubscriptionID string `json:"subscriptionId"`
}

// adminAttachStripe is PUT /admin/v1/tenants/:tenant_id/stripe: with
// {"customerId": "cus_…"} (and optionally "subscriptionId") it links the
// tenant to existing Stripe objects; with {} it creates what is missing.
func (s *Server) adminAttachStripe(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	var in attachStripeIn
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := decodeBytes(b, &in); err != nil {
			return err
		}
	}
	a, err := s.billing.AttachStripe(c.Request.Context(), c.Param("tenant_id"),
		billing.StripeLink{CustomerID: strings.TrimSpace(in.CustomerID), SubscriptionID: strings.TrimSpace(in.SubscriptionID)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toBillingAccountOut(a, false))
	return nil
}
