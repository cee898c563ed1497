package portal

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/api"
)

// Mount builds the portal's server side on the API server srv: auth
// accepts app-portal tokens (whose key is derived from jwtSecret,
// HOOKLINE_JWT_SECRET), the settings routes speak the portal's branding,
// and the portal's routes are served on srv's engine with the API's
// authentication, idempotency and error mapping. revoked (Deps.Revoked;
// nil tells no one) tells other processes that an application's portal
// tokens were revoked here; they call the returned server's
// ForgetRevocations. `hookline` and the test stack both call it, so tests
// run exactly what ships.
func Mount(srv *api.Server, auth *api.Authenticator, store Store, jwtSecret, publicURL string, revoked func(ctx context.Context, tenantID, appID string)) (*Server, error) {
	tokens := NewAppTokens(jwtSecret, nil)
	checker := NewChecker(tokens, store)
	p, err := NewServer(Deps{
		Store: store, Tokens: tokens, Checker: checker, Caller: callerOf,
		LoadApp: srv.LoadApp, AppFromBody: srv.AppFromBody, Decode: srv.DecodeBody, Revoked: revoked,
	}, Options{PublicURL: publicURL})
	if err != nil {
		return nil, err
	}
	auth.SetAppTokens(checker)
	srv.SetSettingsWire(api.SettingsWire{Out: SettingsOut, Patch: SettingsPatch})
	scopes := map[Scope]api.Scope{
		ScopePublic: api.ScopePublic, ScopeOrg: api.ScopeOrg,
		ScopeAnyAuth: api.ScopeAnyAuth, ScopeAdmin: api.ScopeAdmin,
	}
	for _, r := range p.Routes() {
		srv.Mount(api.Route{Method: r.Method, Path: r.Path, Scope: scopes[r.Scope], Write: r.Write, Handler: r.Handler})
	}
	return p, nil
}

func callerOf(c *gin.Context) Caller {
	p := api.PrincipalOf(c)
	return Caller{TenantID: p.TenantID, AppID: p.AppID, SessionID: p.SessionID, TokenID: p.TokenID,
		ReadOnly: p.ReadOnly, Capabilities: p.Capabilities}
}
