package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// backgroundTaskRow is a row of background_tasks.
type backgroundTaskRow struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Task      string
	Status    string
	Data      json.RawMessage `gorm:"type:jsonb"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (backgroundTaskRow) TableName() string { return "background_tasks" }

func toBackgroundTask(r backgroundTaskRow) tenants.BackgroundTask { return tenants.BackgroundTask(r) }

// RecordTask stores a task that has already run, with its final status
// (TaskFinished or TaskFailed) and its result data (marshalled to a JSON
// object; nil is {}). Writing the row once, after the work, means no row is
// ever left running by a process that died mid-task.
func (s *Store) RecordTask(ctx context.Context, tenantID, task, status string, data any) (tenants.BackgroundTask, error) {
	raw := json.RawMessage(`{}`)
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return tenants.BackgroundTask{}, fmt.Errorf("record task %s: %w", task, err)
		}
		raw = b
	}
	now := s.Now()
	r := backgroundTaskRow{ID: tenants.NewID(tenants.PrefixTask, now), TenantID: tenantID, Task: task, Status: status, Data: raw, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(&r).Error; err != nil {
		return tenants.BackgroundTask{}, fmt.Errorf("record task %s: %w", task, translate(err))
	}
	return toBackgroundTask(r), nil
}

// FindTask returns one of the tenant's tasks, or ErrNotFound.
func (s *Store) FindTask(ctx context.Context, tenantID, id string) (tenants.BackgroundTask, error) {
	var r backgroundTaskRow
	if err := s.q(ctx).Where("tenant_id = ? AND id = ?", tenantID, id).Take(&r).Error; err != nil {
		return tenants.BackgroundTask{}, fmt.Errorf("find task %s: %w", id, translate(err))
	}
	return toBackgroundTask(r), nil
}

// FindTasks returns a page of the tenant's tasks in id (creation) order.
func (s *Store) FindTasks(ctx context.Context, tenantID string, f tenants.TaskFilter) (tenants.Page[tenants.BackgroundTask], error) {
	q := s.q(ctx).Model(&backgroundTaskRow{}).Where("tenant_id = ?", tenantID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Task != "" {
		q = q.Where("task = ?", f.Task)
	}
	pg, err := paginate(q, "id", f.ListParams, func(r *backgroundTaskRow) string { return r.ID })
	if err != nil {
		return tenants.Page[tenants.BackgroundTask]{}, fmt.Errorf("find tasks: %w", err)
	}
	return convertPage(pg, toBackgroundTask), nil
}
