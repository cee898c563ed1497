package billing

import (
	"errors"
	"net/http"

	"github.com/hookline/hookline/tenants"
)

// Sentinel errors of the billing rules. The errors returned by
// Service.CheckSend wrap one of them and a *tenants.CodedError, so that
// errors.Is finds the rule and the API's one error mapper finds the status
// and code.
var (
	// ErrQuotaExceeded: the tenant has used its plan's monthly cap.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrPaymentRequired: the tenant's paid plan is past due beyond the
	// grace period.
	ErrPaymentRequired = errors.New("payment required")
	// ErrStripeDisabled: the operation needs Stripe and no Stripe secret
	// key is configured.
	ErrStripeDisabled = errors.New("stripe is not configured")
	// ErrBadSignature: a Stripe webhook whose signature does not verify.
	ErrBadSignature = errors.New("bad stripe signature")
	// ErrBadEvent: a signed Stripe webhook billing cannot read.
	ErrBadEvent = errors.New("unreadable stripe event")
	// ErrStripe: a call to Stripe failed (refused, or no answer).
	ErrStripe = errors.New("stripe call failed")
)

// ruleError carries a billing sentinel and the client error that reports
// it.
type ruleError struct {
	sentinel error
	coded    *tenants.CodedError
}

func (e *ruleError) Error() string   { return e.coded.Error() }
func (e *ruleError) Unwrap() []error { return []error{e.sentinel, e.coded} }

func quotaExceeded(detail string) error {
	return &ruleError{ErrQuotaExceeded, &tenants.CodedError{Status: http.StatusTooManyRequests, Code: "quota_exceeded", Detail: detail}}
}

func paymentRequired(detail string) error {
	return &ruleError{ErrPaymentRequired, &tenants.CodedError{Status: http.StatusPaymentRequired, Code: "payment_required", Detail: detail}}
}

func stripeDisabled() error {
	return &ruleError{ErrStripeDisabled, &tenants.CodedError{Status: http.StatusConflict, Code: "stripe_disabled",
		Detail: "Stripe is not configured on this server: set HOOKLINE_STRIPE_SECRET_KEY"}}
}

func badSignature(detail string) error {
	return &ruleError{ErrBadSignature, &tenants.CodedError{Status: http.StatusBadRequest, Code: "invalid_signature", Detail: detail}}
}

func badEvent(detail string) error {
	return &ruleError{ErrBadEvent, &tenants.CodedError{Status: http.StatusBadRequest, Code: "invalid_event", Detail: detail}}
}

// stripeCallError is a failed call to Stripe: it wraps ErrStripe, a 502
// for the API's error mapper, and stripe-go's own error (so callers can
// still tell a missing object apart).
type stripeCallError struct {
	op    string
	err   error
	coded *tenants.CodedError
}

func (e *stripeCallError) Error() string   { return e.op + ": " + e.err.Error() }
func (e *stripeCallError) Unwrap() []error { return []error{ErrStripe, e.coded, e.err} }

func stripeFailed(op string, err error) error {
	return &stripeCallError{op: op, err: err, coded: &tenants.CodedError{Status: http.StatusBadGateway, Code: "stripe_error",
		Detail: "Stripe did not accept the request (" + op + "): " + err.Error()}}
}
