package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/tenants"
)

// QueueStats is one queue's task counts by state and the age of its oldest
// pending task.
type QueueStats struct {
	Queue                                       string
	Pending, Active, Scheduled, Retry, Archived int
	OldestPending                               time.Duration
}

// DeadTask is an archived delivery task: one that failed for good.
type DeadTask struct {
	TaskID     string
	TenantID   string
	DeliveryID int64
	LastError  string
	FailedAt   time.Time
}

// Inspector is the operator's view of the delivery queue.
type Inspector struct {
	in    *asynq.Inspector
	store Store
	queue string
}

// NewInspector inspects queue through in, and re-queues through store.
func NewInspector(in *asynq.Inspector, store Store, queue string) *Inspector {
	return &Inspector{in: in, store: store, queue: queue}
}

// Stats returns the counts of every queue asynq knows, ours first (even
// when Redis has never seen it).
func (i *Inspector) Stats() ([]QueueStats, error) {
	names, err := i.in.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	ordered := []string{i.queue}
	for _, n := range names {
		if n != i.queue {
			ordered = append(ordered, n)
		}
	}
	var out []QueueStats
	for _, q := range ordered {
		info, err := i.in.GetQueueInfo(q)
		if err != nil {
			if q == i.queue && !errors.Is(err, asynq.ErrQueueNotFound) {
				return nil, fmt.Errorf("queue %s: %w", q, err)
			}
			out = append(out, QueueStats{Queue: q})
			continue
		}
		out = append(out, QueueStats{Queue: q, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
			Retry: info.Retry, Archived: info.Archived, OldestPending: info.Latency})
	}
	return out, nil
}

// Dead lists up to limit archived delivery tasks, newest first.
func (i *Inspector) Dead(limit int) ([]DeadTask, error) {
	var out []DeadTask
	for page := 1; len(out) < limit; page++ {
		tasks, err := i.in.ListArchivedTasks(i.queue, asynq.PageSize(min(limit-len(out), 100)), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list archived tasks: %w", err)
		}
		for _, t := range tasks {
			if t.Type != TypeDeliver {
				continue
			}
			tenantID, id, err := parseDeliverPayload(t.Payload)
			if err != nil {
				continue
			}
			if tenantID == "" {
				if job, err := i.store.LoadDeliveryByID(context.Background(), id); err == nil {
					tenantID = job.TenantID
				}
			}
			out = append(out, DeadTask{TaskID: t.ID, TenantID: tenantID, DeliveryID: id, LastError: t.LastErr, FailedAt: t.LastFailedAt})
		}
		if len(tasks) == 0 {
			break
		}
	}
	return out, nil
}

// Requeue gives archived delivery tasks (all of them when ids is empty)
// one more try: each delivery goes back to pending in PostgreSQL, then its
// task back to the queue. It returns how many were re-queued.
func (i *Inspector) Requeue(ctx context.Context, ids []string) (int, error) {
	dead, err := i.Dead(1 << 20)
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	n := 0
	var errs []error
	for _, d := range dead {
		if len(ids) > 0 && !want[d.TaskID] {
			continue
		}
		delete(want, d.TaskID)
		if err := i.store.RetryFailedDelivery(ctx, d.TenantID, d.DeliveryID); err != nil && !errors.Is(err, tenants.ErrConflict) {
			errs = append(errs, err)
			continue
		}
		if err := i.in.RunTask(i.queue, d.TaskID); err != nil {
			errs = append(errs, fmt.Errorf("run task %s: %w", d.TaskID, err))
			continue
		}
		n++
	}
	for id := range want {
		errs = append(errs, fmt.Errorf("task %s is not an archived delivery task", id))
	}
	return n, errors.Join(errs...)
}
