package tenants

import (
	"encoding/json"
	"time"
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
	ID        string
	TenantID  string
	Task      string
	Status    string
	Data      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TaskFilter narrows a task listing; empty fields keep every task.
type TaskFilter struct {
	ListParams
	Status string
	Task   string
}
