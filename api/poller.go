package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// The polling endpoint routes: GET …/poller/{sink} (a client-held
// iterator), GET …/consumer/{consumer} (a server-held one) and POST
// …/consumer/{consumer}/seek. The reads are the store's (by position).

// pollingMessageOut is PollingEndpointMessageOut.
type pollingMessageOut struct {
	ID        string            `json:"id"`
	EventID   *string           `json:"eventId,omitempty"`
	EventType string            `json:"eventType"`
	Payload   json.RawMessage   `json:"payload"`
	Channels  []string          `json:"channels,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	Timestamp time.Time         `json:"timestamp"`
	DeliverAt *time.Time        `json:"deliverAt,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
}

// pollingOut is PollingEndpointOut.
type pollingOut struct {
	Data     []pollingMessageOut `json:"data"`
	Iterator string              `json:"iterator"`
	Done     bool                `json:"done"`
}

func toPollingOut(msgs []tenants.PollMessage, next tenants.Position, done bool) pollingOut {
	out := pollingOut{Data: make([]pollingMessageOut, 0, len(msgs)), Iterator: next.String(), Done: done}
	for _, m := range msgs {
		p := json.RawMessage(m.Payload)
		if m.Payload == nil {
			p = expiredPayload
		}
		out.Data = append(out.Data, pollingMessageOut{ID: m.ID, EventID: m.EventID, EventType: m.EventType, Payload: p,
			Channels: m.Channels, Tags: m.Tags, Timestamp: m.CreatedAt, DeliverAt: m.DeliverAt})
	}
	return out
}

// pollLimit reads limit (1–250, default 50).
func pollLimit(c *gin.Context) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return tenants.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > tenants.MaxPollLimit {
		return 0, tenants.InvalidAt([]string{"query", "limit"}, fmt.Sprintf("limit must be between 1 and %d", tenants.MaxPollLimit))
	}
	return n, nil
}

func pollIterator(c *gin.Context) (*tenants.Position, error) {
	v := c.Query("iterator")
	if v == "" {
		return nil, nil
	}
	p, err := tenants.ParsePosition(v, []string{"query", "iterator"})
	return &p, err
}

func (s *Server) poll(c *gin.Context) error {
	limit, err := pollLimit(c)
	if err != nil {
		return err
	}
	from, err := pollIterator(c)
	if err != nil {
		return err
	}
	after, err := timeQuery(c, "after")
	if err != nil {
		return err
	}
	f := tenants.PollFilter{EventType: c.Query("event_type"), Channel: c.Query("channel")}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	sink, err := s.pollerSink(c, ds, a)
	if err != nil {
		return err
	}
	msgs, next, done, err := ds.PollDestination(c.Request.Context(), a.TenantID, a.ID, sink, from, after, limit, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toPollingOut(msgs, next, done))
	return nil
}

var consumerRE = uidDestRE

func checkConsumer(c *gin.Context) (string, error) {
	id := c.Param("consumer_id")
	if !consumerRE.MatchString(id) {
		return "", tenants.InvalidAt([]string{"path", "consumer_id"}, "must be 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
	}
	return id, nil
}

func (s *Server) consumerPoll(c *gin.Context) error {
	consumer, err := checkConsumer(c)
	if err != nil {
		return err
	}
	limit, err := pollLimit(c)
	if err != nil {
		return err
	}
	from, err := pollIterator(c)
	if err != nil {
		return err
	}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	sink, err := s.pollerSink(c, ds, a)
	if err != nil {
		return err
	}
	msgs, next, done, err := ds.ConsumerPoll(c.Request.Context(), a.TenantID, a.ID, sink, consumer, from, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toPollingOut(msgs, next, done))
	return nil
}

// seekIn is PollingEndpointConsumerSeekIn.
type seekIn struct {
	After *time.Time `json:"after"`
}

// seekOut is PollingEndpointConsumerSeekOut.
type seekOut struct {
	Iterator string `json:"iterator"`
}

func (s *Server) consumerSeek(c *gin.Context) error {
	consumer, err := checkConsumer(c)
	if err != nil {
		return err
	}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in seekIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.After == nil {
		return tenants.Invalid("after", "field required")
	}
	sink, err := s.pollerSink(c, ds, a)
	if err != nil {
		return err
	}
	p, err := ds.ConsumerSeek(c.Request.Context(), a.TenantID, a.ID, sink, consumer, *in.After)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, seekOut{Iterator: p.String()})
	return nil
}
