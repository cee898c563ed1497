package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type stateOut struct {
	EndpointID    string     `json:"endpointId"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"nextAttempt,omitempty"`
}

type messageOut struct {
	ID        string     `json:"id"`
	AppID     string     `json:"appId"`
	AppName   string     `json:"appName"`
	EventID   *string    `json:"eventId,omitempty"`
	EventType string     `json:"eventType"`
	Tags      []string   `json:"tags,omitempty"`
	Channels  []string   `json:"channels,omitempty"`
	Timestamp time.Time  `json:"timestamp"`
	Endpoints []stateOut `json:"endpoints"`
}

type messagesOut struct {
	Data     []messageOut `json:"data"`
	Iterator *string      `json:"iterator"`
	Done     bool         `json:"done"`
}

var statusNames = map[string]tenants.Status{
	"succeeded": tenants.StatusSuccess, "pending": tenants.StatusPending, "failed": tenants.StatusFail,
	"sending": tenants.StatusSending, "canceled": tenants.StatusCanceled,
}

// messageFilter reads the search's query: q (a message id or eventId),
// app, event_type, tag, status (succeeded, failed, pending, sending,
// canceled), after, before (RFC 3339), limit and iterator.
func messageFilter(c *gin.Context) (tenants.TenantMessageFilter, error) {
	f := tenants.TenantMessageFilter{Ref: strings.TrimSpace(c.Query("q")), AppID: c.Query("app")}
	f.Tag = strings.TrimSpace(c.Query("tag"))
	f.Limit = 20
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return f, badQuery("limit", "limit must be an integer from 1 to 100")
		}
		f.Limit = n
	}
	f.Iterator = c.Query("iterator")
	if f.Iterator != "" && !tenants.IsID(tenants.PrefixMessage, strings.TrimPrefix(f.Iterator, "-")) {
		return f, badQuery("iterator", "not an iterator of this list")
	}
	if et := strings.TrimSpace(c.Query("event_type")); et != "" {
		f.EventTypes = []string{et}
	}
	if st := c.Query("status"); st != "" {
		s, ok := statusNames[st]
		if !ok {
			return f, badQuery("status", "status is one of succeeded, failed, pending, sending, canceled")
		}
		f.Status = &s
	}
	for _, tq := range []struct {
		name string
		dst  *time.Time
	}{{"after", &f.After}, {"before", &f.Before}} {
		if v := c.Query(tq.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, badQuery(tq.name, "must be an RFC 3339 date-time")
			}
			*tq.dst = t
		}
	}
	return f, nil
}

// searchMessages finds the tenant's messages across applications, each
// with its delivery state per endpoint.
func (s *Server) searchMessages(c *gin.Context) error {
	f, err := messageFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	tid := tenantOf(c)
	pg, err := s.d.Store.FindTenantMessages(ctx, tid, f)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(pg.Items))
	appSet := map[string]bool{}
	var apps []string
	for _, m := range pg.Items {
		ids = append(ids, m.ID)
		if !appSet[m.AppID] {
			appSet[m.AppID] = true
			apps = append(apps, m.AppID)
		}
	}
	states, err := s.d.Store.FindDeliveryStates(ctx, tid, "", ids)
	if err != nil {
		return err
	}
	names, err := s.d.Store.FindApplicationNames(ctx, tid, apps)
	if err != nil {
		return err
	}
	now := time.Now()
	by := map[string][]stateOut{}
	for _, d := range states {
		by[d.MsgID] = append(by[d.MsgID], stateOut{EndpointID: d.EndpointID, State: d.State(now), Attempts: d.Attempts, NextAttemptAt: utcPtr(d.NextAttemptAt)})
	}
	out := messagesOut{Data: make([]messageOut, 0, len(pg.Items)), Done: pg.Done}
	for _, m := range pg.Items {
		eps := by[m.ID]
		if eps == nil {
			eps = []stateOut{}
		}
		out.Data = append(out.Data, messageOut{ID: m.ID, AppID: m.AppID, AppName: names[m.AppID], EventID: m.EventID,
			EventType: m.EventType, Tags: m.Tags, Channels: m.Channels, Timestamp: m.CreatedAt.UTC(), Endpoints: eps})
	}
	if pg.Iterator != "" {
		out.Iterator = &pg.Iterator
	}
	c.JSON(http.StatusOK, out)
	return nil
}
