package portal

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// Caller is who an authenticated request acts for, as the API's
// authenticator resolved it.
type Caller struct {
	TenantID string
	// AppID, SessionID and TokenID are set for app-portal tokens.
	AppID, SessionID, TokenID string
	ReadOnly                  bool
	// Capabilities of an app-portal token; zero for tenant credentials.
	Capabilities tenants.Capability
}

// Deps are the portal server's collaborators. The API-shaped ones are
// functions (Mount passes the API server's methods), so that the
// portal's handlers can be tested on their own.
type Deps struct {
	Store   Store
	Tokens  *AppTokens
	Checker *Checker
	// Pages serves the portal's files; nil means New's.
	Pages *Handler
	// Caller returns who a request authenticated on a mounted route acts
	// for. Required.
	Caller func(*gin.Context) Caller
	// LoadApp resolves the path's :app_id within the caller's scope.
	// Required.
	LoadApp func(*gin.Context) (tenants.Application, error)
	// AppFromBody resolves :app_id, creating the application from a Svix
	// ApplicationIn when it does not exist (app-portal-access). Required.
	AppFromBody func(*gin.Context, json.RawMessage) (tenants.Application, error)
	// Decode reads a JSON body the API's way; with optional, an empty
	// body is not an error. Required.
	Decode func(c *gin.Context, v any, optional bool) error
	// Revoked is told after a revocation of an application's portal
	// tokens was stored through this process (whose Checker already
	// forgot its cached state), so that other processes can drop theirs
	// (Checker.Forget) instead of waiting for revocationTTL; nil tells no
	// one.
	Revoked func(ctx context.Context, tenantID, appID string)
}

// Options are the portal server's settings.
type Options struct {
	// PublicURL is where users reach this server (magic links start here).
	PublicURL string
}

// Scope says who may call a route; the API enforces it.
type Scope int

// The scopes of the portal's routes.
const (
	ScopePublic  Scope = iota // no credentials
	ScopeOrg                  // tenant credentials only
	ScopeAnyAuth              // any valid credential
	ScopeAdmin                // the operator token
)

// Route is one of the portal's routes, for the API to mount with its
// authentication, idempotency and error mapping.
type Route struct {
	Method, Path string
	Scope        Scope
	Write        bool
	Handler      func(*gin.Context) error
}

// Server is the server side of the customer portal: magic-link access,
// token revocation, the portal's session and branding settings, and its
// pages with their framing policy. Create it with NewServer; it is safe
// for concurrent use.
type Server struct {
	d    Deps
	opts Options
}

// NewServer returns the portal's server; an error means the binary was
// built without the portal's files.
func NewServer(d Deps, o Options) (*Server, error) {
	if d.Pages == nil {
		h, err := New()
		if err != nil {
			return nil, err
		}
		d.Pages = h
	}
	if d.Revoked == nil {
		d.Revoked = func(context.Context, string, string) {}
	}
	return &Server{d: d, opts: o}, nil
}

// ForgetRevocations drops this process's cached portal-token revocations
// of one application (every cached one when tenantID is empty), after
// another process stored a revocation, so the next check reads the
// database. It tells no one.
func (s *Server) ForgetRevocations(tenantID, appID string) { s.d.Checker.Forget(tenantID, appID) }

// revoked forgets an application's cached revocations here and tells the
// other processes.
func (s *Server) revoked(ctx context.Context, tenantID, appID string) {
	s.d.Checker.Forget(tenantID, appID)
	s.d.Revoked(context.WithoutCancel(ctx), tenantID, appID)
}

// Routes lists the portal's routes.
func (s *Server) Routes() []Route {
	const r, w = false, true
	return []Route{
		{"POST", "/api/v1/auth/app-portal-access/:app_id", ScopeOrg, w, s.appPortalAccess},
		{"POST", "/api/v1/auth/dashboard-access/:app_id", ScopeOrg, w, s.appPortalAccess},
		{"POST", "/api/v1/auth/app/:app_id/expire-all", ScopeOrg, w, s.expireAll},
		// Logging out is not a write: a read-only token may end itself.
		{"POST", "/api/v1/auth/logout", ScopeAnyAuth, r, s.logout},
		{"GET", "/api/v1/auth/portal-session", ScopeAnyAuth, r, s.portalSession},

		{"GET", "/api/v1/settings", ScopeOrg, r, s.getSettings},
		{"PATCH", "/api/v1/settings", ScopeOrg, w, s.patchSettings},
		{"GET", "/admin/v1/tenants/:tenant_id/settings", ScopeAdmin, r, s.adminGetSettings},
		{"PATCH", "/admin/v1/tenants/:tenant_id/settings", ScopeAdmin, w, s.adminPatchSettings},

		{"GET", "/portal", ScopePublic, r, s.portalRedirect},
		{"GET", "/portal/", ScopePublic, r, s.servePortal},
		{"GET", "/portal/o/:tenant_id/", ScopePublic, r, s.servePortalApp},
		{"GET", "/portal/assets/*filepath", ScopePublic, r, s.servePortal},
	}
}

func forbidden(detail string) error {
	return &tenants.Error{Code: tenants.CodeForbidden, Message: detail}
}

// now is the token clock, truncated as tokens and the database keep it.
func (s *Server) now() time.Time { return s.d.Tokens.now().Truncate(time.Microsecond) }
