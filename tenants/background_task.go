package tenants

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Background-task types, as the Svix API names them.
const (
	TaskEndpointRecover      = "endpoint.recover"
	TaskEndpointReplay       = "endpoint.replay"
	TaskEndpointBulkReplay   = "endpoint.bulk-replay"
	TaskApplicationPurge     = "application.purge_content"
	TaskApplicationStats     = "application.stats"
	TaskEventTypeAggregation = "event-type.aggregate"
)

// Background-task statuses.
const (
	TaskRunning  = "running"
	TaskFinished = "finished"
	TaskFailed   = "failed"
)

// BackgroundTask is the record of one long-running operation a tenant
// started (recover, replay, bulk replay, expunge all contents, statistics)
// and its result. Data is a JSON object.
type BackgroundTask struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Task      string
	Status    string
	Data      json.RawMessage `gorm:"type:jsonb"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RecordTask stores a task that has already run, with its final status
// (TaskFinished or TaskFailed) and its result data (marshalled to a JSON
// object; nil is {}). Writing the row once, after the work, means no row is
// ever left running by a process that died mid-task.
func (s *Store) RecordTask(ctx context.Context, tenantID, task, status string, data any) (BackgroundTask, error) {
	raw := json.RawMessage(`{}`)
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return BackgroundTask{}, fmt.Errorf("record task %s: %w", task, err)
		}
		raw = b
	}
	now := s.Now()
	t := BackgroundTask{ID: NewID(PrefixTask, now), TenantID: tenantID, Task: task, Status: status, Data: raw, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(&t).Error; err != nil {
		return BackgroundTask{}, fmt.Errorf("record task %s: %w", task, translate(err))
	}
	return t, nil
}

// FindTask returns one of the tenant's tasks, or ErrNotFound.
func (s *Store) FindTask(ctx context.Context, tenantID, id string) (BackgroundTask, error) {
	var t BackgroundTask
	if err := s.q(ctx).Where("tenant_id = ? AND id = ?", tenantID, id).Take(&t).Error; err != nil {
		return BackgroundTask{}, fmt.Errorf("find task %s: %w", id, translate(err))
	}
	return t, nil
}

// TaskFilter narrows a task listing; empty fields keep every task.
type TaskFilter struct {
	ListParams
	Status string
	Task   string
}

// FindTasks returns a page of the tenant's tasks in id (creation) order.
func (s *Store) FindTasks(ctx context.Context, tenantID string, f TaskFilter) (Page[BackgroundTask], error) {
	q := s.q(ctx).Model(&BackgroundTask{}).Where("tenant_id = ?", tenantID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Task != "" {
		q = q.Where("task = ?", f.Task)
	}
	pg, err := paginate(q, "id", f.ListParams, func(t *BackgroundTask) string { return t.ID })
	if err != nil {
		return pg, fmt.Errorf("find tasks: %w", err)
	}
	return pg, nil
}

// BulkReplayFilter selects the messages a bulk replay resends. Since is
// required; zero Until means now; nil or empty fields do not filter.
type BulkReplayFilter struct {
	Since, Until    time.Time
	Status          *Status // the message's latest delivery status to the endpoint
	StatusCodeClass *int    // of its latest attempt there: 0 (no response), 100 … 500
	EventTypes      []string
	Channel         string
	Tag             string
}

// bulkReplaySQL creates one manual delivery for every message of the
// window already sent to the endpoint whose latest delivery there passes
// the filters. Messages with a delivery still in flight (pending or
// sending) are skipped, so a replay never doubles one, and running the same
// replay twice resends nothing twice while the first is in flight. Message
// ids are time-sortable, so the window is a range of deliveries_endpoint.
var bulkReplaySQL = sqlConst(`
INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, trigger, status, next_attempt_at, created_at, updated_at)
SELECT ` + deliveryIDSQL("$3::timestamptz") + `, ld.tenant_id, ld.app_id, ld.msg_id, ld.endpoint_id, {manual}, {pending}, $3::timestamptz, $3::timestamptz, $3::timestamptz
FROM (
	SELECT DISTINCT ON (d.msg_id) d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, d.status,
		bool_or(d.status IN ({pending}, {sending})) OVER (PARTITION BY d.msg_id) AS in_flight
	FROM deliveries d
	WHERE d.endpoint_id = $2 AND d.tenant_id = $1 AND d.msg_id >= $4 AND d.msg_id < $5
	ORDER BY d.msg_id, d.id DESC
) ld
JOIN messages m ON m.id = ld.msg_id
WHERE NOT ld.in_flight AND m.payload IS NOT NULL AND m.expires_at > $3
	AND ($6::smallint IS NULL OR ld.status = $6)
	AND ($7::text[] IS NULL OR m.event_type = ANY($7))
	AND ($8::text IS NULL OR jsonb_exists(m.channels, $8))
	AND ($9::jsonb IS NULL OR m.tags @> $9)
	AND ($10::int IS NULL OR COALESCE((SELECT CASE WHEN a.status_code = 0 THEN 0 ELSE a.status_code / 100 * 100 END
		FROM attempts a WHERE a.msg_id = ld.msg_id AND a.endpoint_id = ld.endpoint_id ORDER BY a.id DESC LIMIT 1), -1) = $10)
ORDER BY ld.msg_id
RETURNING id`)

// BulkReplay creates manual deliveries to an endpoint for the messages f
// selects (see bulkReplaySQL) and returns their ids, which the caller
// enqueues. The window may span at most MaxRecoverWindow; a bad window is
// a ValidationError, an unknown endpoint ErrNotFound.
func (s *Store) BulkReplay(ctx context.Context, tenantID, appID, epRef string, f BulkReplayFilter) ([]int64, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if f.Until.IsZero() {
		f.Until = now
	}
	if err := checkWindow(now, f.Since, f.Until); err != nil {
		return nil, err
	}
	var (
		status *int16
		types  []string
		ch     *string
		tag    *string
	)
	if f.Status != nil {
		v := int16(*f.Status)
		status = &v
	}
	if len(f.EventTypes) > 0 {
		types = f.EventTypes
	}
	if f.Channel != "" {
		ch = &f.Channel
	}
	if f.Tag != "" {
		v := jsonArg([]string{f.Tag})
		tag = &v
	}
	rows, err := s.pool.Query(ctx, bulkReplaySQL, tenantID, e.ID, now,
		IDBound(PrefixMessage, f.Since, false), IDBound(PrefixMessage, f.Until, false),
		status, types, ch, tag, f.StatusCodeClass)
	if err != nil {
		return nil, fmt.Errorf("bulk replay to %s: %w", e.ID, translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("bulk replay to %s: %w", e.ID, translate(err))
	}
	return ids, nil
}

// ExpungeAllContents drops the payload of every message of an application
// and returns how many it dropped. The worker cancels deliveries still
// pending for them, as for any expunged message.
func (s *Store) ExpungeAllContents(ctx context.Context, tenantID, appID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE messages SET payload = NULL
		WHERE app_id = $2 AND tenant_id = $1 AND payload IS NOT NULL`, tenantID, appID)
	if err != nil {
		return 0, fmt.Errorf("expunge contents of %s: %w", appID, translate(err))
	}
	return tag.RowsAffected(), nil
}
