package console

import (
	"context"
	"log/slog"

	"github.com/hookline/hookline/api"
)

// Mount builds the tenant console on the API server srv: auth accepts its
// session tokens as tenant credentials, and its pages and routes are
// served on srv's engine. bill is the API's billing (nil without); when it
// lists invoices, the console shows them. lanes reads the delivery lanes
// (nil: the throttled view has none). `hookline` and the test stack both
// call it, so tests run exactly what ships.
func Mount(srv *api.Server, auth *api.Authenticator, store Store, log *slog.Logger, publicURL string, bill api.Billing, lanes Lanes) (*Server, error) {
	d := Deps{
		Store: store, Authenticate: auth.TenantOf, WriteError: srv.WriteError,
		Admin: srv.CheckAdmin, Log: log, Lanes: lanes,
		// A key revoked in the console is forgotten here and, through the
		// API's invalidation hook, on every other process.
		Forget: func(tenantID string) { srv.ForgetTenant(context.Background(), tenantID) },
	}
	if inv, ok := bill.(Invoicer); ok {
		d.Invoices = inv
	}
	c, err := New(d, Options{PublicURL: publicURL})
	if err != nil {
		return nil, err
	}
	auth.SetConsoleTokens(c)
	c.Register(srv.Engine())
	return c, nil
}
