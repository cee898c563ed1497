package tenants

import "time"

// DefaultRetentionDays is a tenant's retention when neither it nor its plan
// says (a plan always does once migration 0012 ran).
const DefaultRetentionDays = 90

// MaxRetentionDays is the most days a tenant's retention may be set to.
const MaxRetentionDays = 3650

// DefaultResponseRetention is how long attempts keep response bodies when
// the operator does not say (HOOKLINE_RESPONSE_RETENTION). A zero
// RetentionPolicy keeps them instead as long as the attempt: it is what
// "unset" means to a test, not to a deployment.
const DefaultResponseRetention = 30 * 24 * time.Hour

// RetentionPolicy is how long what a tenant sends is kept, from the
// process config. Its zero value keeps rows for the tenant's (or its
// plan's) retention and attempt response bodies as long as their attempt.
type RetentionPolicy struct {
	// DefaultPlan is the plan of tenants never put on one
	// (HOOKLINE_BILLING_DEFAULT_PLAN); "" means "pro".
	DefaultPlan string
	// Cap bounds every tenant's retention (0: no bound). It exists for
	// operators with a disk budget, and for soak runs with minutes of
	// retention.
	Cap time.Duration
	// ResponseRetention is how long attempts keep the receiver's response
	// body (0: as long as the attempt itself).
	ResponseRetention time.Duration
}

// Plan returns the plan of tenants never put on one.
func (p RetentionPolicy) Plan() string {
	if p.DefaultPlan == "" {
		return "pro"
	}
	return p.DefaultPlan
}

// Bound returns d bounded by the policy's Cap.
func (p RetentionPolicy) Bound(d time.Duration) time.Duration {
	if p.Cap > 0 && p.Cap < d {
		return p.Cap
	}
	return d
}

// HideResponse hides an attempt's response body once past the policy's
// response retention at now.
func (p RetentionPolicy) HideResponse(a *Attempt, now time.Time) {
	if rr := p.ResponseRetention; rr > 0 && a.Response != nil && !a.CreatedAt.After(now.Add(-rr)) {
		a.Response = nil
	}
}

// TenantRetention is a tenant's retention setting and the value in force.
type TenantRetention struct {
	// Days is the tenant's own setting; nil: its plan's.
	Days *int
	// PlanDays is its plan's retention.
	PlanDays int
	// Effective is what is in force: Days or PlanDays, bounded by the
	// policy's Cap.
	Effective time.Duration
}
