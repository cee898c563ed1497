package billing

import (
	"fmt"

	"github.com/hookline/hookline/tenants"
)

// Sentinel errors of the billing rules: each is a domain error
// (tenants.Error), so errors.Is finds the rule and a transport's one error
// mapper finds how to answer.
var (
	// ErrQuotaExceeded: the tenant has used its plan's monthly cap.
	ErrQuotaExceeded = &tenants.Error{Code: tenants.CodeQuotaExceeded, Message: "quota exceeded"}
	// ErrPaymentRequired: the tenant's paid plan is past due beyond the
	// grace period.
	ErrPaymentRequired = &tenants.Error{Code: tenants.CodePaymentRequired, Message: "payment required"}
	// ErrStripeDisabled: the operation needs Stripe and no Stripe secret
	// key is configured.
	ErrStripeDisabled = &tenants.Error{Code: tenants.CodeConflict, Reason: "stripe_disabled",
		Message: "Stripe is not configured on this server: set HOOKLINE_STRIPE_SECRET_KEY"}
	// ErrBadSignature: a Stripe webhook whose signature does not verify.
	ErrBadSignature = &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_signature", Message: "bad stripe signature"}
	// ErrBadEvent: a signed Stripe webhook billing cannot read.
	ErrBadEvent = &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_event", Message: "unreadable stripe event"}
	// ErrStripe: a call to Stripe failed (refused, or no answer).
	ErrStripe = &tenants.Error{Code: tenants.CodeUpstream, Reason: "stripe_error", Message: "stripe call failed"}
)

func quotaExceeded(detail string) error {
	return &tenants.Error{Code: tenants.CodeQuotaExceeded, Message: detail}
}

func paymentRequired(detail string) error {
	return &tenants.Error{Code: tenants.CodePaymentRequired, Message: detail}
}

func stripeDisabled() error { return ErrStripeDisabled }

func badSignature(detail string) error {
	return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_signature", Message: detail}
}

func badEvent(detail string) error {
	return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_event", Message: detail}
}

// stripeFailed is a failed call to Stripe: ErrStripe's kind, with
// stripe-go's own error wrapped too (so callers can still tell a missing
// object apart).
func stripeFailed(op string, err error) error {
	return fmt.Errorf("%w: %w", &tenants.Error{Code: tenants.CodeUpstream, Reason: "stripe_error",
		Message: "Stripe did not accept the request (" + op + "): " + err.Error()}, err)
}
