package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
)

// Background tasks.
//
// Every task-returning route (recover, replay-missing, bulk-replay,
// expunge-all-contents and the two statistics aggregations) does its work
// inside the request, then writes the task's row once, with its final
// status and result, and answers 202 with it. The work is one bounded SQL
// statement (the windows are at most 14 days for replays, 90 for
// statistics), well inside the server's write timeout; running it in the
// request rather than in a goroutine or an asynq task means a task row is
// never left "running" by a process that died: either the row exists,
// finished (or failed), or the client got no task id at all. The
// deliveries a replay creates are in PostgreSQL before the row is written;
// handing them to the workers happens after, in the background, and the
// sweeper delivers any the hand-off misses.
//
// A work error the client caused (bad window, unknown endpoint) is answered
// as usual, with no task. Any other error is recorded as a failed task
// (its data says so, without the internal text) and answered 202 with it,
// as Svix reports a task that failed; an unavailable database is answered
// 503, since nothing can be recorded then.

// taskOut is the Svix BackgroundTaskOut (and RecoverOut, ReplayOut,
// ExpungeAllContentsOut, AggregateEventTypesOut, which are its subset).
type taskOut struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	Task      string          `json:"task"`
	Data      json.RawMessage `json:"data"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

func toTaskOut(t tenants.BackgroundTask) taskOut {
	data := t.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	return taskOut{ID: t.ID, Status: t.Status, Task: t.Task, Data: data, UpdatedAt: t.UpdatedAt.UTC()}
}

// clientCaused reports whether err is answered as the caller's mistake (or
// an outage) rather than recorded as a failed task.
func clientCaused(err error) bool {
	return tenants.ErrorCode(err) != "" || errors.Is(err, context.Canceled)
}

// runTask runs work and records its task (see the comment at the top of
// this file). It returns the recorded task, or the error to answer with.
func (s *Server) runTask(c *gin.Context, tenantID, task string, work func(ctx context.Context) (any, error)) (tenants.BackgroundTask, error) {
	ctx := c.Request.Context()
	data, err := work(ctx)
	if err != nil && clientCaused(err) {
		return tenants.BackgroundTask{}, err
	}
	status := tenants.TaskFinished
	if err != nil {
		s.log.ErrorContext(ctx, "background task failed", "request_id", requestID(c), "tenant_id", tenantID, "task", task, "err", err)
		status = tenants.TaskFailed
		data = map[string]any{"error": "internal error; request id " + requestID(c)}
	}
	t, err := s.store.RecordTask(ctx, tenantID, task, status, data)
	if err == nil {
		td := operational.TaskData{TaskID: t.ID, Task: t.Task, Status: t.Status, Data: map[string]any{}}
		_ = json.Unmarshal(t.Data, &td.Data)
		s.ops.TaskFinished(ctx, tenantID, td)
	}
	return t, err
}

// answerTask runs a task and answers 202 with it.
func (s *Server) answerTask(c *gin.Context, tenantID, task string, work func(ctx context.Context) (any, error)) error {
	t, err := s.runTask(c, tenantID, task, work)
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, toTaskOut(t))
	return nil
}

// dispatchLater hands new deliveries to the workers after the response,
// in batches, detached from the request's context (which ends with the
// response). The deliveries are already stored: the sweeper sends any
// whose hand-off fails.
func (s *Server) dispatchLater(ctx context.Context, tenantID, endpointID string, ids []int64) {
	if len(ids) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		for start := 0; start < len(ids); start += 500 {
			end := min(start+500, len(ids))
			if err := s.outbox.Enqueue(ctx, tenantID, endpointID, ids[start:end]); err != nil {
				s.log.Warn("enqueue of replayed deliveries failed; the sweeper will deliver", "tenant_id", tenantID, "err", err)
				return
			}
		}
	}()
}

// replayData is the result of recover, replay-missing and bulk-replay.
type replayData struct {
	AppID      string    `json:"appId"`
	EndpointID string    `json:"endpointId"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	// Deliveries is how many messages were queued again.
	Deliveries int `json:"deliveries"`
}

func (s *Server) listBackgroundTasks(c *gin.Context) error {
	p, err := listParams(c, true)
	if err != nil {
		return err
	}
	f := tenants.TaskFilter{ListParams: p, Status: c.Query("status"), Task: c.Query("task")}
	switch f.Status {
	case "", tenants.TaskRunning, tenants.TaskFinished, tenants.TaskFailed:
	default:
		return tenants.InvalidAt([]string{"query", "status"}, "must be running, finished or failed")
	}
	pg, err := s.store.FindTasks(c.Request.Context(), principal(c).TenantID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toTaskOut))
	return nil
}

func (s *Server) getBackgroundTask(c *gin.Context) error {
	t, err := s.store.FindTask(c.Request.Context(), principal(c).TenantID, c.Param("task_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTaskOut(t))
	return nil
}

type bulkReplayIn struct {
	Since           *bodyTime `json:"since"`
	Until           *bodyTime `json:"until"`
	Status          *int      `json:"status"`
	StatusCodeClass *int      `json:"statusCodeClass"`
	EventTypes      []string  `json:"eventTypes"`
	Channel         *string   `json:"channel"`
	Tag             *string   `json:"tag"`
}

func (in bulkReplayIn) toFilter() (tenants.BulkReplayFilter, error) {
	var f tenants.BulkReplayFilter
	if in.Since == nil {
		return f, tenants.Invalid("since", "field required")
	}
	f.Since = in.Since.Time
	if in.Until != nil {
		f.Until = in.Until.Time
	}
	if in.Status != nil {
		if *in.Status < 0 || *in.Status > 4 {
			return f, tenants.Invalid("status", "must be 0 (success), 1 (pending), 2 (fail), 3 (sending) or 4 (canceled)")
		}
		st := tenants.Status(*in.Status)
		f.Status = &st
	}
	if v := in.StatusCodeClass; v != nil {
		if *v < 0 || *v > 500 || *v%100 != 0 {
			return f, tenants.Invalid("statusCodeClass", "must be 0, 100, 200, 300, 400 or 500")
		}
		f.StatusCodeClass = v
	}
	f.EventTypes = in.EventTypes
	if in.Channel != nil {
		f.Channel = *in.Channel
	}
	if in.Tag != nil {
		f.Tag = *in.Tag
	}
	return f, nil
}

func (s *Server) bulkReplay(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in bulkReplayIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	f, err := in.toFilter()
	if err != nil {
		return err
	}
	return s.answerTask(c, a.TenantID, tenants.TaskEndpointBulkReplay, func(ctx context.Context) (any, error) {
		e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
		if err != nil {
			return nil, err
		}
		ids, err := s.store.BulkReplay(ctx, a.TenantID, a.ID, e.ID, f)
		if err != nil {
			return nil, err
		}
		s.dispatchLater(ctx, a.TenantID, e.ID, ids)
		until := f.Until
		if until.IsZero() {
			until = s.store.Now()
		}
		return replayData{AppID: a.ID, EndpointID: e.ID, Since: f.Since.UTC(), Until: until.UTC(), Deliveries: len(ids)}, nil
	})
}

func (s *Server) expungeAllContents(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	return s.answerTask(c, a.TenantID, tenants.TaskApplicationPurge, func(ctx context.Context) (any, error) {
		n, err := s.store.ExpungeAllContents(ctx, a.TenantID, a.ID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"appId": a.ID, "expunged": n}, nil
	})
}
