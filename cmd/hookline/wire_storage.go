package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// retentionPolicy is what the store's reads honour (see tenants.RetentionPolicy).
func (c Config) retentionPolicy() tenants.RetentionPolicy {
	return tenants.RetentionPolicy{DefaultPlan: c.BillingDefaultPlan, Cap: c.RetentionCap, ResponseRetention: c.ResponseRetention}
}

// storageOptions are the maintenance settings of the config.
func (c Config) storageOptions() storage.Options {
	return storage.Options{Partition: c.StoragePartition, Ahead: c.StorageAhead, Interval: c.StorageInterval}
}

// wireStorage builds the storage maintainer (issue 12) and its gauges; in
// a worker process it also serves and schedules storage:maintain (asynq
// lets one task per period in across processes, and the maintainer's
// lease keeps two runs from overlapping).
func (a *App) wireStorage(w *worker.Deps) {
	a.storage = storage.New(a.store, a.log.With("component", "storage"), a.cfg.storageOptions())
	a.metrics.Register(storage.NewCollector(a.store, 30*time.Second))
	if a.roles&roleWorker == 0 || w == nil {
		return
	}
	if w.Handlers == nil {
		w.Handlers = map[string]asynq.Handler{}
	}
	w.Handlers[storage.TaskMaintain] = asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		_, err := a.storage.Run(ctx)
		return err
	})
	w.Periodic = append(w.Periodic, worker.Periodic{Type: storage.TaskMaintain, Every: a.storage.Options().Interval})
}

// maintainAfterMigrating runs storage maintenance once on db, for the
// commands that migrate (migrate up, bench): a fresh database then has its
// first slices before its first write.
func maintainAfterMigrating(ctx context.Context, db *store.DB, cfg Config, log *slog.Logger) error {
	st := store.New(db, nil, nil)
	st.SetRetentionPolicy(cfg.retentionPolicy())
	if _, err := storage.New(st, log, cfg.storageOptions()).Run(ctx); err != nil {
		return fmt.Errorf("storage maintenance after migrating: %w", err)
	}
	return nil
}
