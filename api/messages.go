package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
)

type messageIn struct {
	EventType              *string         `json:"eventType"`
	Payload                json.RawMessage `json:"payload"`
	Data                   json.RawMessage `json:"data"` // older name of payload
	EventID                *string         `json:"eventId"`
	Channels               []string        `json:"channels"`
	Tags                   []string        `json:"tags"`
	PayloadRetentionPeriod *int64          `json:"payloadRetentionPeriod"`
	PayloadRetentionHours  *int64          `json:"payloadRetentionHours"`
	DeliverAt              *bodyTime       `json:"deliverAt"`
	Application            *applicationIn  `json:"application"`
	// TransformationsParams is accepted for Svix compatibility ("for
	// future use") and must be an object.
	TransformationsParams json.RawMessage `json:"transformationsParams"`
}

func (s *Server) toMessageInput(in messageIn) (tenants.MessageInput, error) {
	var out tenants.MessageInput
	if in.EventType == nil || *in.EventType == "" {
		return out, tenants.Invalid("eventType", "field required")
	}
	if !eventTypeNameRE.MatchString(*in.EventType) {
		return out, tenants.Invalid("eventType", "must be 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = in.Data
	}
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return out, tenants.Invalid("payload", "field required")
	}
	if payload[0] != '{' {
		return out, tenants.Invalid("payload", "must be a JSON object")
	}
	if int64(len(payload)) > s.opts.MaxPayloadBytes {
		return out, &tenants.Error{Code: tenants.CodeTooLarge, Message: "the payload is larger than the limit of " + humanBytes(s.opts.MaxPayloadBytes)}
	}
	if err := checkUID("eventId", in.EventID, tenants.PrefixMessage); err != nil {
		return out, err
	}
	if len(in.Channels) == 0 {
		in.Channels = nil
	}
	if err := tenants.ValidateChannels("channels", in.Channels, 5); err != nil {
		return out, err
	}
	if len(in.Tags) > 5 {
		return out, tenants.Invalid("tags", "at most 5 tags")
	}
	if err := checkObject("transformationsParams", in.TransformationsParams); err != nil {
		return out, err
	}
	// The application is checked whole even when it exists already (and
	// is then not used), so a client learns of a malformed one at once.
	if in.Application != nil {
		if _, err := in.Application.toInput(); err != nil {
			return out, within("application", err)
		}
	}
	deliverAt, err := checkDeliverAt(in.DeliverAt.timePtr(), time.Now())
	if err != nil {
		return out, err
	}
	out = tenants.MessageInput{EventType: *in.EventType, EventID: in.EventID, Payload: payload, Channels: in.Channels, Tags: in.Tags,
		DeliverAt: deliverAt}
	switch {
	case in.PayloadRetentionPeriod != nil && in.PayloadRetentionHours != nil:
		return out, tenants.Invalid("payloadRetentionHours", "give payloadRetentionPeriod or payloadRetentionHours, not both")
	case in.PayloadRetentionPeriod != nil:
		d := *in.PayloadRetentionPeriod
		if d < 1 || d > 90 {
			return out, tenants.Invalid("payloadRetentionPeriod", "must be between 1 and 90 days")
		}
		out.Retention = time.Duration(d) * 24 * time.Hour
	case in.PayloadRetentionHours != nil:
		h := *in.PayloadRetentionHours
		if h < 1 || h > 90*24 {
			return out, tenants.Invalid("payloadRetentionHours", "must be between 1 and 2160 hours")
		}
		out.Retention = time.Duration(h) * time.Hour
	}
	return out, nil
}

// Scheduling bounds for deliverAt. Svix documents 1 minute to 24 hours
// ahead; Hookline accepts anything from now to 30 days ahead (so no Svix
// user is refused), and sends times up to 5 minutes in the past at once
// (client clocks drift).
const (
	maxDeliverAhead = 30 * 24 * time.Hour
	deliverAtSkew   = 5 * time.Minute
)

// checkDeliverAt returns the schedule of a message: nil for at once.
func checkDeliverAt(at *time.Time, now time.Time) (*time.Time, error) {
	switch {
	case at == nil:
		return nil, nil
	case at.Before(now.Add(-deliverAtSkew)):
		return nil, tenants.Invalid("deliverAt", "must not be more than 5 minutes in the past")
	case at.After(now.Add(maxDeliverAhead)):
		return nil, tenants.Invalid("deliverAt", "must be at most 30 days ahead")
	case !at.After(now):
		return nil, nil
	}
	t := at.UTC().Truncate(time.Microsecond)
	return &t, nil
}

func humanBytes(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

type messageOut struct {
	ID string `json:"id"`
	// EventID and Channels are always present, null when unset, as the
	// Svix contract has them.
	EventID   *string         `json:"eventId"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Channels  []string        `json:"channels"`
	Tags      []string        `json:"tags,omitempty"`
	Timestamp time.Time       `json:"timestamp"`
	DeliverAt *time.Time      `json:"deliverAt,omitempty"`
}

var (
	emptyPayload   = json.RawMessage(`{}`)
	expiredPayload = json.RawMessage(`{"expired":true}`)
)

func toMessageOut(withContent bool) func(tenants.Message) messageOut {
	return func(m tenants.Message) messageOut {
		out := messageOut{ID: m.ID, EventID: m.EventID, EventType: m.EventType, Channels: m.Channels, Tags: m.Tags,
			Timestamp: m.CreatedAt.UTC(), Payload: emptyPayload, DeliverAt: m.DeliverAt}
		switch {
		case !withContent:
		case m.Payload == nil:
			out.Payload = expiredPayload
		default:
			out.Payload = m.Payload
		}
		return out
	}
}

// appForMessage resolves {app_id} (through the application cache: this is
// the hot path), creating the application on the fly when the body carries
// one and none exists.
func (s *Server) appForMessage(c *gin.Context, in *applicationIn) (tenants.Application, error) {
	p := principal(c)
	a, err := s.apps.find(c.Request.Context(), s.store, p.TenantID, c.Param("app_id"))
	if err == nil && p.AppID != "" && a.ID != p.AppID {
		err = errNotFound
	}
	if err == nil || in == nil || !errors.Is(err, tenants.ErrNotFound) || principal(c).AppID != "" {
		return a, err
	}
	ref := c.Param("app_id")
	if tenants.IsID(tenants.PrefixApplication, ref) {
		return a, err // an id cannot be minted by the caller
	}
	if in.UID != nil && *in.UID != ref {
		return a, tenants.Invalid("application", "application.uid must equal the application in the path")
	}
	in.UID = &ref
	ai, verr := in.toInput()
	if verr != nil {
		return a, tenants.InvalidAt([]string{"body", "application"}, verr.Error())
	}
	ctx := c.Request.Context()
	a, err = s.store.CreateApplication(ctx, principal(c).TenantID, ai)
	if errors.Is(err, tenants.ErrConflict) { // created meanwhile by a concurrent request
		return s.store.FindApplication(ctx, principal(c).TenantID, ref)
	}
	return a, err
}

func (s *Server) createMessage(c *gin.Context) error {
	withContent, err := boolQuery(c, "with_content", true)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	var in messageIn
	// The payload is stored and sent as received: a NUL in it is allowed.
	if err := decodeBytes(body, &in, "payload", "data"); err != nil {
		return err
	}
	mi, err := s.toMessageInput(in)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	p := principal(c)
	sub := outbox.Submission{TenantID: p.TenantID, Input: mi}
	ref := c.Param("app_id")
	if id, ok := s.apps.peek(p.TenantID, ref); ok && p.AppID == "" {
		sub.AppID = id
	} else if in.Application != nil || p.AppID != "" {
		// Created on the fly, or a token scoped to one application: both
		// need the application before the message.
		a, err := s.appForMessage(c, in.Application)
		if err != nil {
			return err
		}
		sub.AppID = a.ID
	} else {
		// New to this process: resolved where the message is stored, with
		// its endpoints' configuration for the worker.
		sub.AppRef, sub.WithConfig = ref, true
	}
	if s.quota != nil {
		if err := s.quota.CheckSend(ctx, p.TenantID); err != nil {
			return err
		}
	}
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		// The key, the message and its deliveries are committed together.
		sub.Idempotency = &outbox.Idempotency{Key: key, Route: c.Request.Method + " " + c.Request.URL.Path, Body: body}
	}
	acc, err := s.outbox.Accept(ctx, sub)
	if errors.Is(err, tenants.ErrConflict) {
		return &tenants.Error{Code: tenants.CodeConflict, Message: "a message with this eventId already exists in this application"}
	}
	if err != nil {
		return err
	}
	if sub.AppID == "" && acc.Message.AppID != "" {
		s.apps.add(p.TenantID, ref, acc.Message.AppID)
	}
	if acc.EnqueueErr != nil {
		s.log.WarnContext(ctx, "enqueue failed; the sweeper will deliver", "request_id", requestID(c), "msg_id", acc.Message.ID, "err", acc.EnqueueErr)
	}
	if acc.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	writeMessageOut(c, http.StatusAccepted, toMessageOut(withContent)(acc.Message))
	return nil
}

func (s *Server) listMessages(c *gin.Context) error {
	f, withContent, err := messageFilter(c)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	pg, err := s.store.FindMessages(c.Request.Context(), a.TenantID, a.ID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toMessageOut(withContent)))
	return nil
}

// messageFilter reads the query of message and attempt listings.
func messageFilter(c *gin.Context) (tenants.MessageFilter, bool, error) {
	var f tenants.MessageFilter
	p, err := listParams(c, true)
	if err != nil {
		return f, false, err
	}
	f.ListParams = p
	f.Channel = c.Query("channel")
	f.Tag = c.Query("tag")
	f.EventTypes = listQuery(c, "event_types")
	if f.Before, err = timeQuery(c, "before"); err != nil {
		return f, false, err
	}
	if f.After, err = timeQuery(c, "after"); err != nil {
		return f, false, err
	}
	withContent, err := boolQuery(c, "with_content", true)
	return f, withContent, err
}

func (s *Server) getMessage(c *gin.Context) error {
	withContent, err := boolQuery(c, "with_content", true)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	m, err := s.store.FindMessage(c.Request.Context(), a.TenantID, a.ID, c.Param("msg_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toMessageOut(withContent)(m))
	return nil
}

func (s *Server) expungeMessageContent(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	if err := s.store.ExpungeMessageContent(c.Request.Context(), a.TenantID, a.ID, c.Param("msg_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
