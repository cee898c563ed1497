package tenants

import (
	"errors"
	"strings"
)

// Code is the kind of a domain error. It says what went wrong in terms
// every transport understands; each transport maps it to its own answer in
// one place (api/errors.go maps it to an HTTP status). The set is closed:
// a new kind is added here, with its mapping, or not at all.
type Code string

// Error kinds.
const (
	// CodeInvalid: a value the caller sent is not acceptable. Loc says
	// where, when the value came from one field.
	CodeInvalid Code = "invalid"
	// CodeBadRequest: the request as a whole cannot be served as asked
	// (a window out of range, a resend of an expunged message).
	CodeBadRequest Code = "bad_request"
	// CodeUnauthorized: the caller's credential is missing, unknown,
	// expired or revoked.
	CodeUnauthorized Code = "unauthorized"
	// CodeForbidden: the caller is known but may not do this.
	CodeForbidden Code = "forbidden"
	// CodeNotFound: the entity does not exist, or belongs to another
	// tenant (the two are never told apart).
	CodeNotFound Code = "not_found"
	// CodeConflict: a unique key is taken, or the entity is not in a state
	// that allows the operation.
	CodeConflict Code = "conflict"
	// CodeTooLarge: the request is larger than a limit.
	CodeTooLarge Code = "too_large"
	// CodeUnsupportedMedia: the request's content type is not one served.
	CodeUnsupportedMedia Code = "unsupported_media_type"
	// CodeRateLimited: too many requests; RetryAfter says when to retry.
	CodeRateLimited Code = "rate_limited"
	// CodeQuotaExceeded: the tenant has used its plan's allowance.
	CodeQuotaExceeded Code = "quota_exceeded"
	// CodePaymentRequired: the tenant's paid plan is past due.
	CodePaymentRequired Code = "payment_required"
	// CodeUpstream: a service Hookline called on the caller's behalf
	// (Stripe) refused or did not answer.
	CodeUpstream Code = "upstream_failed"
	// CodeOverloaded: Hookline cannot take more work right now; nothing
	// was stored, and a retry after RetryAfter will likely succeed.
	CodeOverloaded Code = "overloaded"
	// CodeUnavailable: a service Hookline depends on (PostgreSQL) is
	// unreachable; nothing was stored.
	CodeUnavailable Code = "unavailable"
)

// Error is the one error type of the domain. Every failure a caller can
// act on is an *Error (or wraps one); anything else is an internal error.
// It names no transport: Code is a kind, not a status.
type Error struct {
	Code Code
	// Reason, when set, is a finer machine-readable name for the failure
	// than Code (e.g. "event_type_exists", "tenant_suspended",
	// "idempotency_key_reused"); transports show it as the error's code.
	Reason string
	// Message is the human-readable explanation.
	Message string
	// Loc, for CodeInvalid, is the path to the offending value as the Svix
	// API reports it: ["body", "eventTypes"], ["query", "limit"].
	Loc []string
	// Type, for CodeInvalid, is Svix's error type ("value_error" when
	// empty, "type_error", "value_error.jsondecode").
	Type string
	// RetryAfter, for CodeRateLimited and CodeOverloaded, is how many
	// whole seconds the caller should wait (0: unspecified).
	RetryAfter int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	if len(e.Loc) > 0 {
		b.WriteString(" at " + strings.Join(e.Loc, "."))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, sentinel) match any *Error of the sentinel's
// Code (and Reason, when the sentinel has one): a store's "application
// not found" is ErrNotFound, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Reason == "" || t.Reason == e.Reason)
}

// Sentinels for the kinds the store and the rules return most. Compare
// with errors.Is; build a more precise one with &Error{…} or the
// constructors below.
var (
	ErrNotFound    = &Error{Code: CodeNotFound, Message: "Entity not found"}
	ErrConflict    = &Error{Code: CodeConflict, Message: "An entity with this uid or id already exists"}
	ErrForbidden   = &Error{Code: CodeForbidden, Message: "insufficient access"}
	ErrUnavailable = &Error{Code: CodeUnavailable, Message: "the database is unavailable; nothing was stored, retry later"}
	ErrOverloaded  = &Error{Code: CodeOverloaded, RetryAfter: 1,
		Message: "too many messages are waiting to be stored; nothing was stored, retry shortly"}
)

// ErrorCode returns the Code of the *Error in err's chain, or "" when err
// is not a domain error (an internal one).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Invalid returns a CodeInvalid error for a body field.
func Invalid(field, msg string) error {
	return &Error{Code: CodeInvalid, Loc: []string{"body", field}, Message: msg}
}

// InvalidAt returns a CodeInvalid error for the value at loc (["query",
// "limit"], ["body", "headers", name], …).
func InvalidAt(loc []string, msg string) error {
	return &Error{Code: CodeInvalid, Loc: loc, Message: msg}
}

// Conflict returns a CodeConflict error with a reason of its own.
func Conflict(reason, msg string) error {
	return &Error{Code: CodeConflict, Reason: reason, Message: msg}
}

// BadRequest returns a CodeBadRequest error.
func BadRequest(reason, msg string) error {
	return &Error{Code: CodeBadRequest, Reason: reason, Message: msg}
}

// Forbidden returns a CodeForbidden error saying why.
func Forbidden(reason, msg string) error {
	return &Error{Code: CodeForbidden, Reason: reason, Message: msg}
}

// Unauthorized returns a CodeUnauthorized error saying why.
func Unauthorized(msg string) error {
	return &Error{Code: CodeUnauthorized, Message: msg}
}
