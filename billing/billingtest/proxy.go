package billingtest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/billing"
)

// Proxy stands in for a *billing.Service that can only be built after the
// stack that needs it: testenv builds the store and the
// API together, and the service needs the store. Pass the Proxy as the
// API's Quota and Billing, then Set the service before the first request.
// It is safe for concurrent use.
type Proxy struct {
	svc atomic.Pointer[billing.Service]
}

// Set installs the service every call goes to.
func (p *Proxy) Set(s *billing.Service) { p.svc.Store(s) }

func (p *Proxy) s() *billing.Service {
	s := p.svc.Load()
	if s == nil {
		panic("billingtest.Proxy used before Set")
	}
	return s
}

// CheckSend calls the service's.
func (p *Proxy) CheckSend(ctx context.Context, tenantID string) error {
	return p.s().CheckSend(ctx, tenantID)
}

// Usage calls the service's.
func (p *Proxy) Usage(ctx context.Context, tenantID string, since, until time.Time) (billing.Usage, error) {
	return p.s().Usage(ctx, tenantID, since, until)
}

// Plans calls the service's.
func (p *Proxy) Plans(ctx context.Context) ([]billing.Plan, error) { return p.s().Plans(ctx) }

// Account calls the service's.
func (p *Proxy) Account(ctx context.Context, tenantID string) (billing.Account, error) {
	return p.s().Account(ctx, tenantID)
}

// SetPlan calls the service's.
func (p *Proxy) SetPlan(ctx context.Context, tenantID string, ch billing.PlanChange) (billing.Account, error) {
	return p.s().SetPlan(ctx, tenantID, ch)
}

// AttachStripe calls the service's.
func (p *Proxy) AttachStripe(ctx context.Context, tenantID string, l billing.StripeLink) (billing.Account, error) {
	return p.s().AttachStripe(ctx, tenantID, l)
}

// HandleStripeWebhook calls the service's.
func (p *Proxy) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (billing.WebhookResult, error) {
	return p.s().HandleStripeWebhook(ctx, payload, signature)
}

// TenantCreated calls the service's.
func (p *Proxy) TenantCreated(ctx context.Context, tenantID string) {
	p.s().TenantCreated(ctx, tenantID)
}

// Invoices calls the service's.
func (p *Proxy) Invoices(ctx context.Context, tenantID string, limit int) ([]billing.Invoice, error) {
	return p.s().Invoices(ctx, tenantID, limit)
}
