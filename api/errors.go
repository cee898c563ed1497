package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// answer is how one kind of domain error is answered over HTTP: its status
// and the machine-readable code the body carries when the error has no
// reason of its own (Svix's names where Svix has one).
type answer struct {
	status int
	code   string
}

// answers maps every tenants.Code to its HTTP answer. It is the one place
// where a domain error becomes a status: no other package names one.
var answers = map[tenants.Code]answer{
	tenants.CodeInvalid:          {http.StatusUnprocessableEntity, "validation_error"},
	tenants.CodeBadRequest:       {http.StatusBadRequest, "bad_request"},
	tenants.CodeUnauthorized:     {http.StatusUnauthorized, "authentication_failed"},
	tenants.CodeForbidden:        {http.StatusForbidden, "insufficient_access"},
	tenants.CodeNotFound:         {http.StatusNotFound, "not_found"},
	tenants.CodeConflict:         {http.StatusConflict, "conflict"},
	tenants.CodeTooLarge:         {http.StatusRequestEntityTooLarge, "payload_too_large"},
	tenants.CodeUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	tenants.CodeRateLimited:      {http.StatusTooManyRequests, "rate_limited"},
	tenants.CodeQuotaExceeded:    {http.StatusTooManyRequests, "quota_exceeded"},
	tenants.CodePaymentRequired:  {http.StatusPaymentRequired, "payment_required"},
	tenants.CodeUpstream:         {http.StatusBadGateway, "upstream_failed"},
	tenants.CodeOverloaded:       {http.StatusServiceUnavailable, "overloaded"},
	tenants.CodeUnavailable:      {http.StatusServiceUnavailable, "service_unavailable"},
}

// Errors the API itself raises often.
var (
	errNotFound = tenants.ErrNotFound
	errAuth     = tenants.Unauthorized
)

func errForbidden(msg string) error { return tenants.Forbidden("", msg) }

// validationDetail is one entry of a 422 body, as the Svix API (FastAPI
// style) reports it.
type validationDetail struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// WriteError answers a request with err, as every API route does: other
// packages' routes on the engine (portal, console) use it so that errors
// map to HTTP in one place.
func (s *Server) WriteError(c *gin.Context, err error) { s.writeError(c, err) }

// writeError is the one place that turns an error into a response. A
// domain error (tenants.Error) is answered by its code: {"code","detail"},
// or Svix's {"detail":[{loc,msg,type}]} for an invalid value with a
// location. Anything else is an internal error: logged once here and
// answered 500 with the request id, never its text.
func (s *Server) writeError(c *gin.Context, err error) {
	var (
		de  *tenants.Error
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &de):
		a, ok := answers[de.Code]
		if !ok {
			s.internalError(c, err)
			return
		}
		if de.Code == tenants.CodeUnavailable {
			s.log.ErrorContext(c.Request.Context(), "database unavailable", "request_id", requestID(c), "err", err)
		}
		if de.RetryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(de.RetryAfter))
		} else if de.Code == tenants.CodeUnavailable || de.Code == tenants.CodeOverloaded {
			c.Header("Retry-After", "1")
		}
		if de.Code == tenants.CodeInvalid && len(de.Loc) > 0 && de.Reason == "" {
			typ := de.Type
			if typ == "" {
				typ = "value_error"
			}
			c.AbortWithStatusJSON(a.status, gin.H{"detail": []validationDetail{{Loc: de.Loc, Msg: de.Message, Type: typ}}})
			return
		}
		code := a.code
		if de.Reason != "" {
			code = de.Reason
		}
		c.AbortWithStatusJSON(a.status, gin.H{"code": code, "detail": de.Message})
	case errors.As(err, &mbe):
		a := answers[tenants.CodeTooLarge]
		c.AbortWithStatusJSON(a.status, gin.H{"code": a.code, "detail": "request body is larger than the limit"})
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		c.AbortWithStatus(499)
	default:
		s.internalError(c, err)
	}
}

func (s *Server) internalError(c *gin.Context, err error) {
	s.log.ErrorContext(c.Request.Context(), "internal error", "request_id", requestID(c), "route", c.FullPath(), "err", err)
	c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"code": "internal_error", "detail": "internal error; request id " + requestID(c)})
}
