package main

import (
	"context"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/worker"
)

// wireBilling plugs metering, quotas and Stripe into the API and the
// worker (issue 5).
func (a *App) wireBilling(ctx context.Context, d *api.Deps, w *worker.Deps) error {
	return nil
}
