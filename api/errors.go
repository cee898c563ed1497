package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
)

// httpError is an error with its HTTP answer already chosen.
type httpError struct {
	status int
	code   string
	detail string
}

func (e *httpError) Error() string { return e.code + ": " + e.detail }

func errStatus(status int, code, detail string) error {
	return &httpError{status: status, code: code, detail: detail}
}

var (
	errAuth = func(detail string) error {
		return errStatus(http.StatusUnauthorized, "authentication_failed", detail)
	}
	errForbidden = func(detail string) error { return errStatus(http.StatusForbidden, "insufficient_access", detail) }
	errNotFound  = errStatus(http.StatusNotFound, "not_found", "Entity not found")
)

// validationDetail is one entry of a 422 body, as the Svix API (FastAPI
// style) reports it.
type validationDetail struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// writeError is the one place that turns an error into a response. Client
// errors carry {"code","detail"} (422: {"detail":[…]}); anything unknown is
// logged once here and answered 500 with the request id, never its text.
func (s *Server) writeError(c *gin.Context, err error) {
	var (
		he  *httpError
		ve  *tenants.ValidationError
		ce  *tenants.CodedError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		c.AbortWithStatusJSON(he.status, gin.H{"code": he.code, "detail": he.detail})
	case errors.As(err, &ve):
		typ := ve.Type
		if typ == "" {
			typ = "value_error"
		}
		code := http.StatusUnprocessableEntity
		c.AbortWithStatusJSON(code, gin.H{"detail": []validationDetail{{Loc: ve.Loc, Msg: ve.Msg, Type: typ}}})
	case errors.As(err, &ce):
		c.AbortWithStatusJSON(ce.Status, gin.H{"code": ce.Code, "detail": ce.Detail})
	case errors.As(err, &mbe):
		code := http.StatusRequestEntityTooLarge
		c.AbortWithStatusJSON(code, gin.H{"code": "payload_too_large", "detail": "request body is larger than the limit"})
	case errors.Is(err, tenants.ErrNotFound):
		code := http.StatusNotFound
		c.AbortWithStatusJSON(code, gin.H{"code": "not_found", "detail": "Entity not found"})
	case errors.Is(err, tenants.ErrConflict):
		code := http.StatusConflict
		c.AbortWithStatusJSON(code, gin.H{"code": "conflict", "detail": "An entity with this uid or id already exists"})
	case errors.Is(err, tenants.ErrForbidden):
		code := http.StatusForbidden
		c.AbortWithStatusJSON(code, gin.H{"code": "insufficient_access", "detail": "insufficient access"})
	case errors.Is(err, outbox.ErrIdempotencyMismatch):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"code": "idempotency_key_reused",
			"detail": "this idempotency key was used with a different request body; use a new key for a new request"})
	case errors.Is(err, outbox.ErrBusy), errors.Is(err, outbox.ErrClosed):
		// Backpressure: nothing was stored, and the client's retry (the
		// Svix SDKs retry 5xx answers) comes after Retry-After.
		c.Header("Retry-After", "1")
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"code": "overloaded",
			"detail": "too many messages are waiting to be stored; nothing was stored, retry shortly"})
	case errors.Is(err, tenants.ErrUnavailable):
		code := http.StatusServiceUnavailable
		s.log.ErrorContext(c.Request.Context(), "database unavailable", "request_id", requestID(c), "err", err)
		c.Header("Retry-After", "1")
		c.AbortWithStatusJSON(code, gin.H{"code": "service_unavailable", "detail": "the database is unavailable; nothing was stored, retry later"})
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		code := 499
		c.AbortWithStatus(code)
	default:
		code := http.StatusInternalServerError
		s.log.ErrorContext(c.Request.Context(), "internal error", "request_id", requestID(c), "route", c.FullPath(), "err", err)
		c.AbortWithStatusJSON(code, gin.H{"code": "internal_error", "detail": "internal error; request id " + requestID(c)})
	}
}
