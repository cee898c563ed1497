// Package wire plugs the customer portal and the tenant console into the
// API server: it builds them with the API's pieces they need (passed as
// functions, so that neither imports api) and mounts their routes on the
// API's engine. `hookline` (cmd/hookline) and the test stack
// (internal/testenv) both call it, so tests run exactly what ships.
package wire

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
)

// Portal builds the portal's server side, makes auth accept app-portal
// tokens and mounts the portal's routes on srv. jwtSecret is
// HOOKLINE_JWT_SECRET, from which the app-portal key is derived. revoked
// (portal.Deps.Revoked; nil tells no one) tells other processes that an
// application's portal tokens were revoked here; they call the returned
// server's ForgetRevocations.
func Portal(srv *api.Server, auth *api.Authenticator, store *tenants.Store, jwtSecret, publicURL string, revoked func(ctx context.Context, tenantID, appID string)) (*portal.Server, error) {
	tokens := portal.NewAppTokens(jwtSecret, nil)
	checker := portal.NewChecker(tokens, store)
	p, err := portal.NewServer(portal.Deps{
		Store: store, Tokens: tokens, Checker: checker, Caller: caller,
		LoadApp: srv.LoadApp, AppFromBody: srv.AppFromBody, Decode: srv.DecodeBody, Revoked: revoked,
	}, portal.Options{PublicURL: publicURL})
	if err != nil {
		return nil, err
	}
	auth.SetAppTokens(checker)
	srv.SetSettingsWire(api.SettingsWire{Out: portal.SettingsOut, Patch: portal.SettingsPatch})
	scopes := map[portal.Scope]api.Scope{
		portal.ScopePublic: api.ScopePublic, portal.ScopeOrg: api.ScopeOrg,
		portal.ScopeAnyAuth: api.ScopeAnyAuth, portal.ScopeAdmin: api.ScopeAdmin,
	}
	for _, r := range p.Routes() {
		srv.Mount(api.Route{Method: r.Method, Path: r.Path, Scope: scopes[r.Scope], Write: r.Write, Handler: r.Handler})
	}
	return p, nil
}

func caller(c *gin.Context) portal.Caller {
	p := api.PrincipalOf(c)
	return portal.Caller{TenantID: p.TenantID, AppID: p.AppID, SessionID: p.SessionID, TokenID: p.TokenID,
		ReadOnly: p.ReadOnly, Capabilities: p.Capabilities}
}

// Console builds the tenant console, makes auth accept its session tokens
// and registers its pages and routes on srv's engine. bill is the API's
// billing (nil without); when it lists invoices, the console shows them.
func Console(srv *api.Server, auth *api.Authenticator, store *tenants.Store, log *slog.Logger, publicURL string, bill api.Billing) (*console.Server, error) {
	d := console.Deps{
		Store: store, Authenticate: auth.TenantOf, WriteError: srv.WriteError,
		Admin: srv.CheckAdmin, Log: log,
		// A key revoked in the console is forgotten here and, through the
		// API's invalidation hook, on every other process.
		Forget: func(tenantID string) { srv.ForgetTenant(context.Background(), tenantID) },
	}
	if inv, ok := bill.(console.Invoicer); ok {
		d.Invoices = inv
	}
	c, err := console.New(d, console.Options{PublicURL: publicURL})
	if err != nil {
		return nil, err
	}
	auth.SetConsoleTokens(c)
	c.Register(srv.Engine())
	return c, nil
}
