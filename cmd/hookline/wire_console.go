package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// wireConsole serves the tenant console (issue 15) on the API's engine
// and makes the API accept its session tokens as tenant credentials.
func (a *App) wireConsole(bill api.Billing) error {
	if a.server == nil {
		return nil
	}
	_, err := console.Mount(a.server, a.auth, a.store, a.log, a.cfg.PublicURL, bill, consoleLanes{a.lanes})
	return err
}

// consoleLanes shows the worker's lane inspector to the console, which
// declares what it reads in types of its own.
type consoleLanes struct{ in *worker.Inspector }

func (l consoleLanes) Throttled(ctx context.Context, tenantID string, k int) (console.ThrottledLanes, error) {
	th, err := l.in.Throttled(ctx, tenantID, k)
	if err != nil {
		return console.ThrottledLanes{}, err
	}
	out := console.ThrottledLanes{Total: th.Total, Parked: th.Parked}
	for _, s := range th.Top {
		out.Top = append(out.Top, console.LaneState{EndpointID: s.EndpointID, TenantID: s.TenantID,
			InFlight: s.InFlight, Limit: s.Limit, Cap: s.Cap, Waiting: s.Waiting, AtOneSince: s.AtOneSince})
	}
	return out, nil
}

// runConsoleLink prints a one-time link into a tenant's console.
func runConsoleLink(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: hookline console-link TENANT_ID"
	if len(args) != 1 {
		return &usageError{use}
	}
	tenantID := args[0]
	if !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return &usageError{fmt.Sprintf("%q is not a tenant id (they look like org_2abc…)", tenantID)}
	}
	cfg, _, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	link, err := console.MintLink(ctx, store.New(db, nil, nil), cfg.PublicURL, tenantID, 0)
	switch {
	case errors.Is(err, tenants.ErrNotFound):
		return fmt.Errorf("no tenant %s", tenantID)
	case errors.Is(err, tenants.ErrForbidden):
		return fmt.Errorf("tenant %s is suspended; resume it first", tenantID)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%s\n\nThe link works once, until %s.\n", link.URL, link.ExpiresAt.Format("2006-01-02 15:04:05 MST"))
	return nil
}
