package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/billing"
)

type usageDayOut struct {
	Date       string `json:"date"` // YYYY-MM-DD, UTC
	Deliveries int64  `json:"deliveries"`
}

type usagePeriodOut struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Plan       string    `json:"plan"`
	Deliveries int64     `json:"deliveries"`
	// Cap, Remaining: null when the plan has no cap.
	Cap       *int64 `json:"cap"`
	Remaining *int64 `json:"remaining"`
	// Exceeded: new messages are refused (429) until the period ends.
	Exceeded bool `json:"exceeded"`
}

// UsageOut is the usage API's answer; `hookline usage --json` prints the
// same shape.
type UsageOut struct {
	Since  time.Time      `json:"since"`
	Until  time.Time      `json:"until"`
	Data   []usageDayOut  `json:"data"`
	Period usagePeriodOut `json:"period"`
	// PaymentStatus is ok, past_due (within the grace period) or
	// payment_required (message creation answers 402).
	PaymentStatus string `json:"paymentStatus"`
}

func paymentStatus(a billing.Account, required bool) string {
	switch {
	case required:
		return "payment_required"
	case a.Plan.Paid && a.PastDueSince != nil:
		return "past_due"
	}
	return "ok"
}

func toUsagePeriodOut(u billing.Usage) usagePeriodOut {
	p := u.Period
	return usagePeriodOut{Start: p.Start, End: p.End, Plan: u.Account.Plan.ID, Deliveries: p.Deliveries,
		Cap: p.Cap, Remaining: p.Remaining(), Exceeded: p.Exceeded()}
}

// ToUsageOut converts a tenant's usage to its wire shape.
func ToUsageOut(u billing.Usage) UsageOut {
	out := UsageOut{Since: u.Since, Until: u.Until, Data: make([]usageDayOut, 0, len(u.Days)), Period: toUsagePeriodOut(u),
		PaymentStatus: paymentStatus(u.Account, u.PaymentRequired)}
	for _, d := range u.Days {
		out.Data = append(out.Data, usageDayOut{Date: d.Day.Format("2006-01-02"), Deliveries: d.Deliveries})
	}
	return out
}

// getUsage is GET /api/v1/usage?since=&until=: the calling tenant's
// billable deliveries per UTC day, and this month's total against its
// plan's cap.
func (s *Server) getUsage(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	since, err := timeQuery(c, "since")
	if err != nil {
		return err
	}
	until, err := timeQuery(c, "until")
	if err != nil {
		return err
	}
	u, err := s.billing.Usage(c.Request.Context(), principal(c).TenantID, since, until)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ToUsageOut(u))
	return nil
}
