package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Invoice is one of a tenant's Stripe invoices, as the tenant console
// lists it. Amounts are in the currency's smallest unit.
type Invoice struct {
	ID         string
	Number     string
	Status     string
	Currency   string
	AmountDue  int64
	AmountPaid int64
	Total      int64
	Created    time.Time
	// HostedURL is Stripe's page for the invoice ("" when Stripe has none).
	HostedURL string
}

// maxInvoices bounds one listing.
const maxInvoices = 24

// Invoices lists the tenant's most recent Stripe invoices, newest first,
// at most limit (1-24; other values mean 12). Without Stripe it fails with
// ErrStripeDisabled; a tenant not linked to a Stripe customer has none.
func (s *Service) Invoices(ctx context.Context, tenantID string, limit int) ([]Invoice, error) {
	if s.stripe == nil {
		return nil, ErrStripeDisabled
	}
	if limit < 1 || limit > maxInvoices {
		limit = 12
	}
	a, err := s.Account(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if a.StripeCustomerID == "" {
		return []Invoice{}, nil
	}
	p := &stripe.InvoiceListParams{Customer: stripe.String(a.StripeCustomerID)}
	p.Context = ctx
	p.Limit = stripe.Int64(int64(limit))
	p.Single = true // one page: the newest ones
	it := s.stripe.api.Invoices.List(p)
	out := []Invoice{}
	for it.Next() && len(out) < limit {
		in := it.Invoice()
		out = append(out, Invoice{ID: in.ID, Number: in.Number, Status: string(in.Status), Currency: string(in.Currency),
			AmountDue: in.AmountDue, AmountPaid: in.AmountPaid, Total: in.Total, Created: time.Unix(in.Created, 0).UTC(),
			HostedURL: in.HostedInvoiceURL})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list invoices of %s: %w", tenantID, err)
	}
	return out, nil
}
