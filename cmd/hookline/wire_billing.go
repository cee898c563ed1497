package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/worker"
)

// The billing service is what the API expects of quotas and billing.
var (
	_ api.Quota   = (*billing.Service)(nil)
	_ api.Billing = (*billing.Service)(nil)
	// Plans carry per-tenant API rate limits.
	_ api.PlanRateLimits = (*billing.Service)(nil)
)

// wireBilling plugs metering, quotas and Stripe into the API and the
// worker (issue 5): the API checks quotas and serves usage, plans and
// Stripe's webhooks; every worker process serves and schedules the
// billing:rollup and billing:report tasks (asynq lets one task per period
// in across processes).
func (a *App) wireBilling(ctx context.Context, d *api.Deps, w *worker.Deps) error {
	svc, err := newBillingService(ctx, a.cfg, a.store, a.log)
	if err != nil {
		return err
	}
	if d != nil {
		d.Quota = svc
		d.Billing = svc
	}
	if w != nil {
		if w.Handlers == nil {
			w.Handlers = map[string]asynq.Handler{}
		}
		for typ, h := range billingHandlers(svc) {
			w.Handlers[typ] = h
		}
		w.Periodic = append(w.Periodic,
			worker.Periodic{Type: billing.TaskRollup, Every: a.cfg.BillingRollupInterval},
			worker.Periodic{Type: billing.TaskReport, Every: a.cfg.BillingReportInterval},
		)
	}
	return nil
}

// newBillingService builds the billing service from the config, for the
// long-running roles and for commands (`hookline usage`).
func newBillingService(ctx context.Context, cfg Config, store *store.Store, log *slog.Logger) (*billing.Service, error) {
	o := billing.Options{
		DefaultPlan:   cfg.BillingDefaultPlan,
		Grace:         cfg.BillingGrace,
		WebhookSecret: cfg.StripeWebhookSecret,
	}
	if cfg.StripeSecretKey != "" {
		o.Stripe = &billing.StripeConfig{
			SecretKey: cfg.StripeSecretKey, APIURL: cfg.StripeAPIURL, PriceID: cfg.StripePriceID, MeterEventName: cfg.StripeMeterEvent,
		}
	}
	svc, err := billing.New(ctx, store, log, o)
	if err != nil {
		return nil, fmt.Errorf("billing: %w", err)
	}
	return svc, nil
}

// billingHandlers wraps the billing tasks as asynq handlers.
func billingHandlers(svc *billing.Service) map[string]asynq.Handler {
	return map[string]asynq.Handler{
		billing.TaskRollup: asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			_, err := svc.Rollup(ctx)
			return err
		}),
		billing.TaskReport: asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
			return svc.Report(ctx)
		}),
	}
}
