package api

import (
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// deliveryStateOut is one message's standing with one endpoint, as the
// portal's and the console's status columns show it.
type deliveryStateOut struct {
	EndpointID string `json:"endpointId"`
	// State is succeeded, failed, pending (due now), scheduled (its next
	// try is later), sending or canceled.
	State         string     `json:"state"`
	Status        int        `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"nextAttempt,omitempty"`
}

// messageStatesOut groups a message's delivery states.
type messageStatesOut struct {
	MsgID     string             `json:"msgId"`
	Endpoints []deliveryStateOut `json:"endpoints"`
}

// toMessageStates groups delivery states by message, in the order of
// msgIDs (every id present, with no endpoints when it has no delivery).
func toMessageStates(msgIDs []string, states []tenants.DeliveryState, now time.Time) []messageStatesOut {
	by := map[string][]deliveryStateOut{}
	for _, d := range states {
		st := deliveryStateOut{EndpointID: d.EndpointID, State: d.State(now), Status: int(d.Status), Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt}
		if st.NextAttemptAt != nil {
			t := st.NextAttemptAt.UTC()
			st.NextAttemptAt = &t
		}
		by[d.MsgID] = append(by[d.MsgID], st)
	}
	out := make([]messageStatesOut, 0, len(msgIDs))
	for _, id := range msgIDs {
		eps := by[id]
		if eps == nil {
			eps = []deliveryStateOut{}
		}
		out = append(out, messageStatesOut{MsgID: id, Endpoints: eps})
	}
	return out
}

// maxStatusIDs bounds one status query (two pages of the portal's list).
const maxStatusIDs = 100

// The message-status routes serve the portal's status column, its failed
// filter and its endpoint list; they are plain app-scoped listings, open
// to any client of the API.

// deliveryStatus answers, for up to 100 messages of the application
// (?msg_id=… repeated), where each stands with each of its endpoints: the
// portal's status column, in one query per page of messages.
func (s *Server) deliveryStatus(c *gin.Context) error {
	ids := listQuery(c, "msg_id")
	if len(ids) > maxStatusIDs {
		return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "too_many_ids", Message: "at most 100 msg_id values at a time"}
	}
	for _, id := range ids {
		if !tenants.IsID(tenants.PrefixMessage, id) {
			return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_id", Message: "msg_id values are message ids (msg_…)"}
		}
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	states, err := s.store.FindDeliveryStates(c.Request.Context(), a.TenantID, a.ID, ids)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"data": toMessageStates(ids, states, time.Now())})
	return nil
}

// listFailedMessages lists the application's messages with at least one
// failed delivery (all retries spent), newest first: the portal's
// "failed" filter. It takes the message list's query.
func (s *Server) listFailedMessages(c *gin.Context) error {
	f, withContent, err := messageFilter(c)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	fail := tenants.StatusFail
	pg, err := s.store.FindTenantMessages(c.Request.Context(), a.TenantID, tenants.TenantMessageFilter{MessageFilter: f, AppID: a.ID, Status: &fail})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toMessageOut(withContent)))
	return nil
}

type endpointRateOut struct {
	EndpointID  string  `json:"endpointId"`
	SuccessRate float64 `json:"successRate"`
}

// endpointSuccessRates answers, in one query, the share of successful
// attempts per endpoint of an application since a time (default: the last
// 24 hours), for the portal's endpoint list. Endpoints without attempts
// are absent.
func (s *Server) endpointSuccessRates(c *gin.Context) error {
	since, err := timeQuery(c, "since")
	if err != nil {
		return err
	}
	now := time.Now()
	if since.IsZero() {
		since = now.Add(-24 * time.Hour)
	}
	if since.After(now) || now.Sub(since) > statsWindow {
		return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_range", Message: "since must be in the last 28 days"}
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	rates, err := s.store.EndpointSuccessRates(c.Request.Context(), a.TenantID, a.ID, since)
	if err != nil {
		return err
	}
	out := make([]endpointRateOut, 0, len(rates))
	for id, r := range rates {
		out = append(out, endpointRateOut{EndpointID: id, SuccessRate: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EndpointID < out[j].EndpointID })
	c.JSON(http.StatusOK, gin.H{"since": since.UTC(), "data": out})
	return nil
}
