package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
)

type attemptOut struct {
	ID                 string    `json:"id"`
	MsgID              string    `json:"msgId"`
	EndpointID         string    `json:"endpointId"`
	URL                string    `json:"url"`
	Response           string    `json:"response"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	ResponseDurationMs int       `json:"responseDurationMs"`
	Status             int       `json:"status"`
	StatusText         string    `json:"statusText"`
	TriggerType        int       `json:"triggerType"`
	Timestamp          time.Time `json:"timestamp"`
	// Msg is set on list-by-endpoint with with_msg=true, without payload.
	Msg *messageOut `json:"msg,omitempty"`
	// Hookline extensions, for the portal's attempt detail.
	Error          string            `json:"error,omitempty"`
	RequestHeaders map[string]string `json:"requestHeaders,omitempty"`
}

// wireStatus is the status as a listing shows it: without
// expanded_statuses=true, canceled (4) reads as success (0), as Svix keeps
// it for older clients.
func wireStatus(st tenants.Status, expanded bool) tenants.Status {
	if st == tenants.StatusCanceled && !expanded {
		return tenants.StatusSuccess
	}
	return st
}

func toAttemptOut(withContent, detail bool) func(tenants.Attempt) attemptOut {
	return toAttemptOutExpanded(withContent, detail, true)
}

func toAttemptOutExpanded(withContent, detail, expanded bool) func(tenants.Attempt) attemptOut {
	return func(a tenants.Attempt) attemptOut {
		st := wireStatus(a.Status, expanded)
		out := attemptOut{
			ID: a.ID, MsgID: a.MsgID, EndpointID: a.EndpointID, URL: a.URL, ResponseStatusCode: a.StatusCode,
			ResponseDurationMs: a.DurationMS, Status: int(st), StatusText: st.String(),
			TriggerType: int(a.Trigger), Timestamp: a.CreatedAt.UTC(), Error: a.Error, Response: "{}",
		}
		if withContent {
			if a.Response == nil {
				out.Response = "EXPUNGED"
			} else {
				out.Response = *a.Response
			}
		}
		if detail {
			out.RequestHeaders = a.RequestHeaders
		}
		return out
	}
}

// attemptFilter reads the query of attempt listings.
func attemptFilter(c *gin.Context) (tenants.AttemptFilter, bool, error) {
	mf, withContent, err := messageFilter(c)
	if err != nil {
		return tenants.AttemptFilter{}, false, err
	}
	if _, err := boolQuery(c, "expanded_statuses", false); err != nil {
		return tenants.AttemptFilter{}, false, err
	}
	f := tenants.AttemptFilter{MessageFilter: mf, EndpointID: c.Query("endpoint_id")}
	if v := c.Query("status"); v != "" {
		st, err := statusQuery("status", v)
		if err != nil {
			return f, false, err
		}
		f.Status = &st
	}
	if v := c.Query("status_code_class"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 500 || n%100 != 0 {
			return f, false, tenants.InvalidAt([]string{"query", "status_code_class"}, "must be 0, 100, 200, 300, 400 or 500")
		}
		f.StatusCodeClass = &n
	}
	return f, withContent, nil
}

func statusQuery(name, v string) (tenants.Status, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 4 {
		return 0, tenants.InvalidAt([]string{"query", name}, "must be 0 (success), 1 (pending), 2 (fail), 3 (sending) or 4 (canceled)")
	}
	return tenants.Status(n), nil
}

func (s *Server) listAttemptsByEndpoint(c *gin.Context) error {
	f, withContent, err := attemptFilter(c)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	withMsg, err := boolQuery(c, "with_msg", false)
	if err != nil {
		return err
	}
	pg, err := s.store.FindAttemptsByEndpoint(ctx, a.TenantID, a.ID, e.ID, f)
	if err != nil {
		return err
	}
	out := toList(pg, toAttemptOutExpanded(withContent, false, expandedStatuses(c)))
	if withMsg && len(pg.Items) > 0 {
		ids := make([]string, 0, len(pg.Items))
		for _, at := range pg.Items {
			ids = append(ids, at.MsgID)
		}
		msgs, err := s.store.FindMessagesByID(ctx, a.TenantID, a.ID, ids)
		if err != nil {
			return err
		}
		conv := toMessageOut(false) // Svix never includes payloads here
		for i := range out.Data {
			if m, ok := msgs[out.Data[i].MsgID]; ok {
				mo := conv(m)
				out.Data[i].Msg = &mo
			}
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// expandedStatuses reads expanded_statuses (already validated by the
// route's filter parsing).
func expandedStatuses(c *gin.Context) bool {
	v, _ := boolQuery(c, "expanded_statuses", false)
	return v
}

func (s *Server) listAttemptsByMessage(c *gin.Context) error {
	f, withContent, err := attemptFilter(c)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := s.store.FindMessage(ctx, a.TenantID, a.ID, c.Param("msg_id"))
	if err != nil {
		return err
	}
	if f.EndpointID != "" {
		e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, f.EndpointID)
		if err != nil {
			return err
		}
		f.EndpointID = e.ID
	}
	pg, err := s.store.FindAttemptsByMessage(ctx, a.TenantID, a.ID, m.ID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toAttemptOutExpanded(withContent, false, expandedStatuses(c))))
	return nil
}

func (s *Server) getAttempt(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := s.store.FindMessage(ctx, a.TenantID, a.ID, c.Param("msg_id"))
	if err != nil {
		return err
	}
	at, err := s.store.FindAttempt(ctx, a.TenantID, a.ID, m.ID, c.Param("attempt_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toAttemptOut(true, true)(at))
	return nil
}

func (s *Server) expungeAttemptContent(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := s.store.FindMessage(ctx, a.TenantID, a.ID, c.Param("msg_id"))
	if err != nil {
		return err
	}
	if err := s.store.ExpungeAttemptContent(ctx, a.TenantID, a.ID, m.ID, c.Param("attempt_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) resendMessage(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	d, err := s.store.ResendMessage(ctx, a.TenantID, a.ID, c.Param("msg_id"), c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	if err := s.outbox.Enqueue(ctx, a.TenantID, d.EndpointID, []int64{d.ID}); err != nil {
		s.log.WarnContext(ctx, "enqueue failed; the sweeper will deliver", "request_id", requestID(c), "err", err)
	}
	c.JSON(http.StatusAccepted, gin.H{})
	return nil
}

type messageEndpointOut struct {
	endpointOut
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
}

func (s *Server) listMessageDestinations(c *gin.Context) error {
	p, err := listParams(c, false)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := s.store.FindMessage(ctx, a.TenantID, a.ID, c.Param("msg_id"))
	if err != nil {
		return err
	}
	pg, err := s.store.FindMessageDestinations(ctx, a.TenantID, a.ID, m.ID, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, func(d tenants.MessageDestination) messageEndpointOut {
		out := messageEndpointOut{endpointOut: toEndpointOut(d.Endpoint), Status: int(d.Status), StatusText: d.Status.String(), NextAttempt: d.NextAttemptAt}
		out.Metadata = nil
		return out
	}))
	return nil
}

type endpointMessageOut struct {
	messageOut
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
}

func (s *Server) listEndpointMessages(c *gin.Context) error {
	f, withContent, err := messageFilter(c)
	if err != nil {
		return err
	}
	expanded, err := boolQuery(c, "expanded_statuses", false)
	if err != nil {
		return err
	}
	var status *tenants.Status
	if v := c.Query("status"); v != "" {
		st, err := statusQuery("status", v)
		if err != nil {
			return err
		}
		status = &st
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	pg, err := s.store.FindEndpointMessages(ctx, a.TenantID, a.ID, e.ID, f, status)
	if err != nil {
		return err
	}
	conv := toMessageOut(withContent)
	c.JSON(http.StatusOK, toList(pg, func(m tenants.EndpointMessage) endpointMessageOut {
		st := wireStatus(m.Status, expanded)
		return endpointMessageOut{messageOut: conv(m.Message), Status: int(st), StatusText: st.String(), NextAttempt: m.NextAttemptAt}
	}))
	return nil
}

type recoverIn struct {
	Since *bodyTime `json:"since"`
	Until *bodyTime `json:"until"`
}

// recoverLike handles recover and replay-missing: both create manual
// deliveries for a window and answer with their background task, recorded
// once the deliveries are stored (see background_tasks.go).
func (s *Server) recoverLike(c *gin.Context, task string, run func(ctx context.Context, tenantID, appID, ep string, since, until time.Time) ([]int64, error)) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in recoverIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Since == nil {
		return tenants.Invalid("since", "field required")
	}
	until := s.store.Now()
	if in.Until != nil {
		until = in.Until.Time
	}
	return s.answerTask(c, a.TenantID, task, func(ctx context.Context) (any, error) {
		e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
		if err != nil {
			return nil, err
		}
		ids, err := run(ctx, a.TenantID, a.ID, e.ID, in.Since.Time, until)
		if err != nil {
			return nil, err
		}
		s.dispatchLater(ctx, a.TenantID, e.ID, ids)
		return replayData{AppID: a.ID, EndpointID: e.ID, Since: in.Since.UTC(), Until: until.UTC(), Deliveries: len(ids)}, nil
	})
}

func (s *Server) recoverEndpoint(c *gin.Context) error {
	return s.recoverLike(c, tenants.TaskEndpointRecover, s.store.RecoverEndpoint)
}

func (s *Server) replayMissing(c *gin.Context) error {
	return s.recoverLike(c, tenants.TaskEndpointReplay, s.store.ReplayMissing)
}

// statsWindow is the longest window endpoint stats cover.
const statsWindow = 28 * 24 * time.Hour

func (s *Server) endpointStats(c *gin.Context) error {
	since, err := timeQuery(c, "since")
	if err != nil {
		return err
	}
	until, err := timeQuery(c, "until")
	if err != nil {
		return err
	}
	now := time.Now()
	if until.IsZero() {
		until = now
	}
	if since.IsZero() {
		since = until.Add(-statsWindow)
	}
	if until.After(now.Add(time.Minute)) || !since.Before(until) || until.Sub(since) > statsWindow {
		return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_range", Message: "the window must end by now, start before it ends and span at most 28 days"}
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	st, err := s.store.FindEndpointStats(ctx, a.TenantID, e.ID, since, until)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"success": st.Success, "pending": st.Pending, "sending": st.Sending, "fail": st.Fail, "canceled": st.Canceled})
	return nil
}

type sendExampleIn struct {
	EventType *string `json:"eventType"`
}

func (s *Server) sendExample(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in sendExampleIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.EventType == nil || *in.EventType == "" {
		return tenants.Invalid("eventType", "field required")
	}
	ctx := c.Request.Context()
	e, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	payload := json.RawMessage(`{"success":true}`)
	if *in.EventType != "svix.ping" {
		et, err := s.store.FindEventType(ctx, a.TenantID, *in.EventType)
		if err != nil {
			return err
		}
		ex, ok := exampleOf(et.Schemas)
		if !ok {
			return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_scheme", Message: "the event type has no example payload in its schema (schemas[\"1\"].examples[0])"}
		}
		payload = ex
	}
	if s.quota != nil { // an example is a message like any other: it counts
		if err := s.quota.CheckSend(ctx, a.TenantID); err != nil {
			return err
		}
	}
	acc, err := s.outbox.Accept(ctx, outbox.Submission{TenantID: a.TenantID, AppID: a.ID, Input: tenants.MessageInput{
		EventType: *in.EventType, Payload: payload, OnlyEndpoint: e.ID,
	}})
	if err != nil {
		return err
	}
	if acc.EnqueueErr != nil {
		s.log.WarnContext(ctx, "enqueue failed; the sweeper will deliver", "request_id", requestID(c), "err", acc.EnqueueErr)
	}
	c.JSON(http.StatusOK, toMessageOut(true)(acc.Message))
	return nil
}

// exampleOf returns schemas["1"].examples[0] when it is a JSON object.
func exampleOf(schemas json.RawMessage) (json.RawMessage, bool) {
	var s map[string]struct {
		Examples []json.RawMessage `json:"examples"`
	}
	if len(schemas) == 0 || json.Unmarshal(schemas, &s) != nil {
		return nil, false
	}
	v, ok := s["1"]
	if !ok || len(v.Examples) == 0 || len(v.Examples[0]) == 0 || v.Examples[0][0] != '{' {
		return nil, false
	}
	return v.Examples[0], true
}
