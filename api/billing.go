package api

import (
	"context"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/tenants"
)

// Billing is what the API needs from the billing service (issue 5):
// usage for tenants, plans and Stripe links for the operator, and Stripe's
// webhooks. *billing.Service implements it.
type Billing interface {
	// Usage returns a tenant's deliveries per day over [since, until)
	// (zero values: this month so far) and its current period.
	Usage(ctx context.Context, tenantID string, since, until time.Time) (billing.Usage, error)
	// Plans lists the plans an operator can choose from.
	Plans(ctx context.Context) ([]billing.Plan, error)
	// Account returns a tenant's plan and Stripe status.
	Account(ctx context.Context, tenantID string) (billing.Account, error)
	// SetPlan puts a tenant on a plan (and custom cap).
	SetPlan(ctx context.Context, tenantID string, ch billing.PlanChange) (billing.Account, error)
	// AttachStripe links a tenant to a Stripe customer and subscription,
	// creating what is not given.
	AttachStripe(ctx context.Context, tenantID string, l billing.StripeLink) (billing.Account, error)
	// HandleStripeWebhook verifies and applies one Stripe event.
	HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (billing.WebhookResult, error)
	// TenantCreated links a tenant just created to Stripe; it never
	// fails (the periodic report task retries what it could not do).
	TenantCreated(ctx context.Context, tenantID string)
}

// billingRoutes lists the usage API, the operator's billing routes and the
// Stripe webhook route. They are registered even without billing (they
// then answer 404), so the route table is the same in every process.
func (s *Server) billingRoutes() []route {
	const (
		r, w = false, true
	)
	return []route{
		{"GET", "/api/v1/usage", scopeOrg, r, s.getUsage},

		{"GET", "/admin/v1/plans", scopeAdmin, r, s.adminListPlans},
		{"GET", "/admin/v1/tenants/:tenant_id/billing", scopeAdmin, r, s.adminGetBilling},
		{"PUT", "/admin/v1/tenants/:tenant_id/plan", scopeAdmin, w, s.adminSetPlan},
		{"PUT", "/admin/v1/tenants/:tenant_id/stripe", scopeAdmin, w, s.adminAttachStripe},

		{"POST", "/billing/stripe/webhook", scopePublic, w, s.stripeWebhook},
	}
}

// errBillingDisabled answers the billing routes of a server built without
// billing.
var errBillingDisabled = &tenants.Error{Code: tenants.CodeNotFound, Message: "billing is not enabled on this server"}
