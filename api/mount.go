package api

import (
	"encoding/json"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// The pieces of the API that the portal's and the console's routes use.
// Those packages never import api: cmd/hookline passes these to them as
// functions and mounts their routes here, so that every route on the
// engine authenticates, limits, de-duplicates and answers errors one way.

// Scope says who may call a mounted route.
type Scope = scope

// The scopes of mounted routes.
const (
	// ScopePublic needs no credentials.
	ScopePublic = scopePublic
	// ScopeOrg needs tenant credentials (app-portal tokens get 403).
	ScopeOrg = scopeOrg
	// ScopeApp takes tenant credentials or a token of the route's app.
	ScopeApp = scopeApp
	// ScopeAnyAuth takes any valid credential.
	ScopeAnyAuth = scopeAnyAuth
	// ScopeAdmin needs the operator token.
	ScopeAdmin = scopeAdmin
)

// Route is a route another package serves on the API's engine. Write
// routes are refused to read-only app-portal tokens; authenticated POSTs
// honour idempotency-key, as every API POST does.
type Route struct {
	Method, Path string
	Scope        Scope
	Write        bool
	Handler      func(*gin.Context) error
}

// Mount registers routes on the engine, in the route table the API's own
// routes are in. Call it before serving; it is not synchronised.
func (s *Server) Mount(rs ...Route) {
	for _, r := range rs {
		rt := route{method: r.Method, path: r.Path, scope: r.Scope, write: r.Write, h: r.Handler}
		s.routes = append(s.routes, rt)
		s.engine.Handle(rt.method, rt.path, s.wrap(rt))
	}
}

// PrincipalOf returns who an authenticated request acts for (the zero
// Principal on a public route).
func PrincipalOf(c *gin.Context) Principal { return principal(c) }

// LoadApp resolves the path's :app_id (an id or a uid) within the
// caller's tenant, and within its application for an app-portal token;
// anything else is ErrNotFound.
func (s *Server) LoadApp(c *gin.Context) (tenants.Application, error) { return s.loadApp(c) }

// AppFromBody resolves the path's :app_id as message creation does: when
// no application has that uid and application (a Svix ApplicationIn, or
// empty) is given, it is created with the path's uid.
func (s *Server) AppFromBody(c *gin.Context, application json.RawMessage) (tenants.Application, error) {
	var in *applicationIn
	if len(application) > 0 && string(application) != "null" {
		in = &applicationIn{}
		if err := decodeBytes(application, in); err != nil {
			// Name the field inside the body's "application" object.
			var ve *tenants.Error
			if errors.As(err, &ve) && len(ve.Loc) > 0 {
				return tenants.Application{}, &tenants.Error{Code: tenants.CodeInvalid, Loc: append([]string{"body", "application"}, ve.Loc[1:]...), Message: ve.Message, Type: ve.Type}
			}
			return tenants.Application{}, err
		}
	}
	return s.appForMessage(c, in)
}

// DecodeBody reads a JSON object body into v the API's way: malformed
// JSON and wrongly typed fields are 422s naming the field, a body past
// the limit a 413. With optional, an empty body leaves v alone.
func (s *Server) DecodeBody(c *gin.Context, v any, optional bool) error {
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if optional && len(b) == 0 {
		return nil
	}
	return decodeBytes(b, v)
}
