package billing

import (
	"fmt"
	"time"
)

// Plan ids seeded by the migration.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
)

// Plan is a row of the plans table.
type Plan struct {
	ID   string
	Name string
	// MonthlyCap is the plan's cap in deliveries per calendar month (UTC);
	// nil means no cap. Ignored when CustomCap is set.
	MonthlyCap *int64
	// CustomCap plans take each tenant's cap from Account.CustomCap.
	CustomCap bool
	// Paid plans are invoiced through Stripe: their usage is reported, and
	// a tenant past due beyond the grace period may not send.
	Paid bool
	// APIRateLimit is the API requests per second a tenant on the plan may
	// make (plans.api_rate_limit); nil means the server's default
	// (HOOKLINE_API_RATE_LIMIT).
	APIRateLimit *int
	// LaneWeight is a tenant's share of the workers while several tenants
	// have deliveries waiting (plans.lane_weight): weight 2 is served
	// twice as often as weight 1.
	LaneWeight int
}

// Account is a tenant's billing state: its plan and its Stripe link. A
// tenant with no tenant_billing row has the zero Stripe fields and the
// default plan.
type Account struct {
	TenantID string
	Plan     Plan
	// PlanIsDefault says the operator never chose a plan for this tenant:
	// it has the process's default plan.
	PlanIsDefault bool
	// CustomCap is the tenant's cap on a CustomCap plan; nil means none.
	CustomCap *int64

	StripeCustomerID     string
	StripeSubscriptionID string
	SubscriptionStatus   string
	// PastDueSince is when Stripe first reported a failed payment or a
	// past-due or canceled subscription; nil when in good standing.
	PastDueSince *time.Time
	// StatusChangedAt is Stripe's creation time of the event that last
	// changed the status.
	StatusChangedAt *time.Time
	// ReportFrom is the first hour whose usage is sent to Stripe.
	ReportFrom *time.Time
}

// Cap returns the tenant's monthly cap in deliveries, or nil for none.
func (a Account) Cap() *int64 {
	if a.Plan.CustomCap {
		return a.CustomCap
	}
	return a.Plan.MonthlyCap
}

// PaymentRequired reports whether the tenant may not send because its paid
// plan has been past due for longer than grace at now. Unpaid plans never
// require payment.
func (a Account) PaymentRequired(now time.Time, grace time.Duration) bool {
	return a.Plan.Paid && a.PastDueSince != nil && !now.Before(a.PastDueSince.Add(grace))
}

// Billable reports whether usage of hour is sent to Stripe: the tenant is
// linked to a customer, on a paid plan, and the hour is not before the
// link.
func (a Account) Billable(hour time.Time) bool {
	return a.StripeCustomerID != "" && a.Plan.Paid && a.ReportFrom != nil && !hour.Before(*a.ReportFrom)
}

// MonthBounds returns the calendar month (UTC) holding t: [start, end).
// Quotas count deliveries in this period, so a new month starts from zero.
func MonthBounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// DayStart returns midnight UTC of t's day.
func DayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// HourStart returns the start of t's UTC hour.
func HourStart(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Identifier returns the meter event identifier of a tenant's usage hour.
// It depends on nothing else, so every attempt to report the hour — after
// a crash, or by two reporters at once — sends the same identifier, and
// Stripe counts it once.
func Identifier(tenantID string, hour time.Time) string {
	return fmt.Sprintf("hookline-%s-%s", tenantID, hour.UTC().Format("2006010215"))
}

// nearMargin is how close to its cap (in deliveries) a tenant must be for
// CheckSend to count its usage live instead of trusting the cached figure.
// The cached usage may be up to one cache TTL old, so the margin must
// exceed what a tenant can deliver in that time: it is the largest of a
// floor, a tenth of the cap, and twice what the tenant delivered between
// the last two refreshes.
func nearMargin(limit, growth, floor int64) int64 {
	return max(floor, limit/10, 2*growth)
}
