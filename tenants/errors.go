package tenants

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors returned (wrapped) by the store. Transports map them to
// status codes in one place each (api/errors.go).
var (
	// ErrNotFound: the row does not exist or belongs to another tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key (uid, eventId, event-type name) is taken.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the caller may not do this (suspended tenant, read-only token).
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// ValidationError reports one invalid input field. Loc is the path to the
// field as the Svix API reports it, e.g. ["body", "eventTypes"].
type ValidationError struct {
	Loc  []string
	Msg  string
	Type string // defaults to "value_error"
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", strings.Join(e.Loc, "."), e.Msg)
}

// Invalid returns a *ValidationError for a body field.
func Invalid(field, msg string) error {
	return &ValidationError{Loc: []string{"body", field}, Msg: msg}
}

// CodedError is a client error with a machine-readable code and a status
// chosen by the domain (e.g. 400 "limit_reached"), for the few rules the
// sentinels above do not name.
type CodedError struct {
	Status int
	Code   string
	Detail string
}

func (e *CodedError) Error() string { return e.Code + ": " + e.Detail }
