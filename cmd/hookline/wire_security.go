package main

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/worker"
)

// certCheckEvery is how often worker processes look for endpoint
// certificates about to expire (asynq lets one check per period in across
// processes). An hour is far finer than the 14 days' notice.
const certCheckEvery = time.Hour

// wireSecurity makes a worker process serve and schedule the check that
// sends endpoint.certificate_expiring (issue 23).
func (a *App) wireSecurity(w *worker.Deps, n *operational.Notifier) {
	if a.roles&roleWorker == 0 || w == nil {
		return
	}
	if w.Handlers == nil {
		w.Handlers = map[string]asynq.Handler{}
	}
	w.Handlers[operational.TaskCertCheck] = asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		_, err := n.CheckCertificates(ctx, a.store, time.Now())
		return err
	})
	w.Periodic = append(w.Periodic, worker.Periodic{Type: operational.TaskCertCheck, Every: certCheckEvery})
}
