package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/internal/nullable"
	"github.com/hookline/hookline/tenants"
)

// DestinationStore is what the destination and poller routes need of the
// store (package store implements it). It is its own interface, asserted
// on Deps.Store, so that a store without destinations still serves every
// other route. Contracts are the store's: tenant first, another tenant's
// row is tenants.ErrNotFound.
type DestinationStore interface {
	CreateDestination(ctx context.Context, tenantID, appID string, in tenants.DestinationInput) (tenants.Destination, error)
	FindDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error)
	FindDestinations(ctx context.Context, tenantID, appID string, p tenants.ListParams) (tenants.Page[tenants.Destination], error)
	UpsertDestination(ctx context.Context, tenantID, appID, ref string, in tenants.DestinationInput) (tenants.Destination, bool, error)
	PatchDestination(ctx context.Context, tenantID, appID, ref string, p tenants.DestinationPatch) (tenants.Destination, error)
	DeleteDestination(ctx context.Context, tenantID, appID, ref string) error
	DestinationSecret(ctx context.Context, tenantID, appID, ref string) (string, error)
	RotateDestinationSecret(ctx context.Context, tenantID, appID, ref, secret string, grace time.Duration) error
	DestinationHeaders(ctx context.Context, tenantID, appID, ref string) (map[string]string, error)
	SetDestinationHeaders(ctx context.Context, tenantID, appID, ref string, h map[string]*string) (map[string]string, error)
	SkipDestinationBatch(ctx context.Context, tenantID, appID, ref string, to *tenants.Position) error
	ForceRetryDestination(ctx context.Context, tenantID, appID, ref string) error
	FindDestinationAttempts(ctx context.Context, tenantID, appID, ref string, f tenants.DestinationAttemptFilter) (tenants.Page[tenants.DestinationAttempt], error)
	FindDestinationAttempt(ctx context.Context, tenantID, appID, ref, attemptID string) (tenants.DestinationAttempt, error)
	PollDestination(ctx context.Context, tenantID, appID, ref string, from *tenants.Position, after time.Time, limit int, f tenants.PollFilter) ([]tenants.PollMessage, tenants.Position, bool, error)
	ConsumerPoll(ctx context.Context, tenantID, appID, ref, consumer string, from *tenants.Position, limit int) ([]tenants.PollMessage, tenants.Position, bool, error)
	ConsumerSeek(ctx context.Context, tenantID, appID, ref, consumer string, after time.Time) (tenants.Position, error)
	FindDestinationTransformation(ctx context.Context, tenantID, appID, ref string) (tenants.Transformation, error)
	PatchDestinationTransformation(ctx context.Context, tenantID, appID, ref string, p tenants.TransformationPatch) (tenants.Transformation, error)
	DestinationLastAcked(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error)
	DestinationNextEvent(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error)
	PollerToken(ctx context.Context, tenantID, appID, ref string) (tenants.PollerToken, error)
	RotatePollerToken(ctx context.Context, tenantID, appID, ref string, expiry, oldExpiry time.Duration) (tenants.PollerToken, error)
}

// destinationRoutes are the routes of issue 21: destinations and polling
// endpoints, on Svix's 1.947 wire.
func (s *Server) destinationRoutes() []route {
	const (
		r, w = false, true
	)
	app := "/api/v1/app/:app_id"
	d := app + "/destination/:destination_id"
	poller := app + "/poller/:sink_id"
	return []route{
		{"GET", app + "/destination", scopeApp, r, s.listDestinations},
		{"POST", app + "/destination", scopeApp, w, s.createDestination},
		{"GET", d, scopeApp, r, s.getDestination},
		{"PUT", d, scopeApp, w, s.upsertDestination},
		{"PATCH", d, scopeApp, w, s.patchDestination},
		{"DELETE", d, scopeApp, w, s.deleteDestination},
		{"GET", d + "/secret", scopeApp, r, s.getDestinationSecret},
		{"POST", d + "/secret/rotate", scopeApp, w, s.rotateDestinationSecret},
		{"GET", d + "/headers", scopeApp, r, s.getDestinationHeaders},
		{"PATCH", d + "/headers", scopeApp, w, s.patchDestinationHeaders},
		{"POST", d + "/skip", scopeApp, w, s.skipDestination},
		{"POST", d + "/force-retry", scopeApp, w, s.forceRetryDestination},
		{"GET", d + "/attempt", scopeApp, r, s.listDestinationAttempts},
		{"GET", d + "/attempt/:attempt_id", scopeApp, r, s.getDestinationAttempt},
		{"GET", d + "/last-acked-event", scopeApp, r, s.getLastAckedEvent},
		{"GET", d + "/next-event", scopeApp, r, s.getNextEvent},
		{"GET", poller, scopeApp, r, s.poll},
		{"GET", poller + "/consumer/:consumer_id", scopeApp, r, s.consumerPoll},
		{"POST", poller + "/consumer/:consumer_id/seek", scopeApp, w, s.consumerSeek},
		{"GET", pollerTokenPath, scopeApp, r, s.getPollerToken},
		{"POST", pollerTokenPath + "/rotate", scopeApp, w, s.rotatePollerToken},
	}
}

func (s *Server) destStore() (DestinationStore, error) {
	ds, ok := s.store.(DestinationStore)
	if !ok {
		return nil, errors.New("the store has no destinations")
	}
	return ds, nil
}

// destinationIn is DestinationIn (and, for PUT, the same body).
type destinationIn struct {
	UID         *string           `json:"uid"`
	Type        *string           `json:"type"`
	Config      json.RawMessage   `json:"config"`
	Status      *string           `json:"status"`
	BatchSize   *int              `json:"batchSize"`
	MaxWaitSecs *int              `json:"maxWaitSecs"`
	EventTypes  []string          `json:"eventTypes"`
	Channels    []string          `json:"channels"` // a Hookline extension, as endpoints have
	Metadata    map[string]string `json:"metadata"`
}

// fifoConfigIn is FifoEndpointConfigIn.
type fifoConfigIn struct {
	URL     *string           `json:"url"`
	Headers map[string]string `json:"headers"`
	Key     *string           `json:"key"`
}

// rabbitConfigIn is RabbitMqConfigIn.
type rabbitConfigIn struct {
	URI        *string `json:"uri"`
	RoutingKey *string `json:"routingKey"`
}

var uidDestRE = uidRE

func checkDestUID(uid *string) error {
	if uid == nil {
		return nil
	}
	if len(*uid) > 60 {
		return tenants.Invalid("uid", "must be at most 60 characters")
	}
	return checkUID("uid", uid, tenants.PrefixDestination)
}

func decodeConfig(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return tenants.Invalid("config", "field required")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body", "config"}, Message: "config must be an object of the type's fields", Type: "type_error"}
	}
	return nil
}

// toInput checks the body; allowPrivate is Options.AllowPrivateTargets.
func (in destinationIn) toInput(allowPrivate bool) (tenants.DestinationInput, error) {
	var out tenants.DestinationInput
	if in.Type == nil {
		return out, tenants.Invalid("type", "field required")
	}
	if err := tenants.CheckDestinationType(*in.Type); err != nil {
		return out, err
	}
	if err := checkDestUID(in.UID); err != nil {
		return out, err
	}
	out = tenants.DestinationInput{UID: in.UID, Type: *in.Type, EventTypes: in.EventTypes, Channels: in.Channels,
		BatchSize: tenants.DefaultBatchSize, Metadata: in.Metadata}
	if in.BatchSize != nil {
		out.BatchSize = *in.BatchSize
	}
	if in.MaxWaitSecs != nil {
		out.MaxWait = *in.MaxWaitSecs
	}
	if err := tenants.CheckBatch(out.BatchSize, out.MaxWait); err != nil {
		return out, err
	}
	if err := checkStatusIn(in.Status); err != nil {
		return out, err
	}
	out.Disabled = in.Status != nil && *in.Status == "disabled"
	if err := tenants.ValidateChannels("channels", in.Channels, 10); err != nil {
		return out, err
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return out, err
	}
	switch out.Type {
	case tenants.DestinationFIFO:
		var c fifoConfigIn
		if err := decodeConfig(in.Config, &c); err != nil {
			return out, err
		}
		if c.URL == nil {
			return out, tenants.InvalidAt([]string{"body", "config", "url"}, "field required")
		}
		if err := tenants.CheckEndpointTarget(*c.URL, allowPrivate); err != nil {
			var ve *tenants.Error
			if errors.As(err, &ve) {
				return out, tenants.InvalidAt([]string{"body", "config", "url"}, ve.Message)
			}
			return out, err
		}
		out.URL, out.Headers, out.Secret = *c.URL, c.Headers, c.Key
	case tenants.DestinationRabbitMQ:
		var c rabbitConfigIn
		if err := decodeConfig(in.Config, &c); err != nil {
			return out, err
		}
		if c.URI == nil || c.RoutingKey == nil {
			return out, tenants.InvalidAt([]string{"body", "config"}, "uri and routingKey are required")
		}
		if err := tenants.CheckRabbitMQ(*c.URI, *c.RoutingKey, allowPrivate); err != nil {
			return out, err
		}
		out.URI, out.RoutingKey = *c.URI, *c.RoutingKey
	}
	return out, nil
}

func checkStatusIn(st *string) error {
	if st != nil && *st != "enabled" && *st != "disabled" {
		return tenants.Invalid("status", "must be enabled or disabled")
	}
	return nil
}

// destinationPatchIn is DestinationPatch.
type destinationPatchIn struct {
	UID         nullable.Value[string]   `json:"uid"`
	Type        *string                  `json:"type"`
	Config      json.RawMessage          `json:"config"`
	Status      nullable.Value[string]   `json:"status"`
	BatchSize   nullable.Value[int]      `json:"batchSize"`
	MaxWaitSecs nullable.Value[int]      `json:"maxWaitSecs"`
	EventTypes  nullable.Value[[]string] `json:"eventTypes"`
	Channels    nullable.Value[[]string] `json:"channels"`
	Metadata    map[string]string        `json:"metadata"`
}

func (in destinationPatchIn) toPatch(cur tenants.Destination, allowPrivate bool) (tenants.DestinationPatch, error) {
	var p tenants.DestinationPatch
	if in.Type != nil && *in.Type != cur.Type {
		if err := tenants.CheckDestinationType(*in.Type); err != nil {
			return p, err
		}
		return p, tenants.Invalid("type", "a destination's type cannot change; create a new destination")
	}
	if in.UID.Set && !in.UID.Null {
		if err := checkDestUID(&in.UID.Value); err != nil {
			return p, err
		}
	}
	p.UID = in.UID
	if in.Status.Set && !in.Status.Null {
		if err := checkStatusIn(&in.Status.Value); err != nil {
			return p, err
		}
		off := in.Status.Value == "disabled"
		p.Disabled = &off
	}
	size, wait := cur.BatchSize, cur.MaxWaitSecs
	if in.BatchSize.Set && !in.BatchSize.Null {
		size = in.BatchSize.Value
		p.BatchSize = &size
	}
	if in.MaxWaitSecs.Set && !in.MaxWaitSecs.Null {
		wait = in.MaxWaitSecs.Value
		p.MaxWait = &wait
	}
	if err := tenants.CheckBatch(size, wait); err != nil {
		return p, err
	}
	p.EventTypes = in.EventTypes
	if in.Channels.Set && !in.Channels.Null {
		if err := tenants.ValidateChannels("channels", in.Channels.Value, 10); err != nil {
			return p, err
		}
	}
	p.Channels = in.Channels
	if err := checkMetadata(in.Metadata); err != nil {
		return p, err
	}
	if in.Metadata != nil {
		p.Metadata = &in.Metadata
	}
	if len(in.Config) > 0 && string(in.Config) != "null" {
		switch cur.Type {
		case tenants.DestinationFIFO:
			var c fifoConfigIn
			if err := decodeConfig(in.Config, &c); err != nil {
				return p, err
			}
			if c.URL != nil {
				if err := tenants.CheckEndpointTarget(*c.URL, allowPrivate); err != nil {
					return p, err
				}
				p.URL = c.URL
			}
		case tenants.DestinationRabbitMQ:
			var c rabbitConfigIn
			if err := decodeConfig(in.Config, &c); err != nil {
				return p, err
			}
			uri, key := "amqp://placeholder", cur.RoutingKey
			if c.URI != nil {
				uri = *c.URI
			}
			if c.RoutingKey != nil {
				key = *c.RoutingKey
			}
			if err := tenants.CheckRabbitMQ(uri, key, allowPrivate || c.URI == nil); err != nil {
				return p, err
			}
			p.URI, p.RoutingKey = c.URI, c.RoutingKey
		}
	}
	return p, nil
}

// destinationOut is DestinationOut: the type's config says no secret (a
// FIFO endpoint's url and non-sensitive headers, RabbitMQ's routing key;
// never its URI).
type destinationOut struct {
	ID              string            `json:"id"`
	UID             *string           `json:"uid"`
	Type            string            `json:"type"`
	Config          any               `json:"config,omitempty"`
	Status          string            `json:"status"`
	CurrentIterator string            `json:"currentIterator"`
	FailureReason   *string           `json:"failureReason"`
	BatchSize       int               `json:"batchSize"`
	MaxWaitSecs     int               `json:"maxWaitSecs"`
	EventTypes      []string          `json:"eventTypes"`
	Channels        []string          `json:"channels,omitempty"`
	NextRetryAt     *time.Time        `json:"nextRetryAt"`
	Metadata        map[string]string `json:"metadata"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
}

// fifoConfigOut is SinkHttpConfigOut.
type fifoConfigOut struct {
	URL     string     `json:"url"`
	Headers headersOut `json:"headers"`
}

// rabbitConfigOut is RabbitMqConfigOut.
type rabbitConfigOut struct {
	RoutingKey string `json:"routingKey"`
}

func toDestinationOut(d tenants.Destination, headers map[string]string) destinationOut {
	out := destinationOut{ID: d.ID, UID: d.UID, Type: d.Type, Status: d.Status(), CurrentIterator: d.From().String(),
		FailureReason: d.FailureReason, BatchSize: d.BatchSize, MaxWaitSecs: d.MaxWaitSecs, EventTypes: d.EventTypes,
		Channels: d.Channels, NextRetryAt: d.NextAttemptAt, Metadata: tenants.OrEmpty(d.Metadata), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	switch d.Type {
	case tenants.DestinationFIFO:
		out.Config = fifoConfigOut{URL: d.URL, Headers: splitSensitive(headers)}
	case tenants.DestinationRabbitMQ:
		out.Config = rabbitConfigOut{RoutingKey: d.RoutingKey}
	}
	return out
}

func splitSensitive(h map[string]string) headersOut {
	out := headersOut{Headers: map[string]string{}, Sensitive: []string{}}
	for k, v := range h {
		if tenants.IsSensitiveHeader(k) {
			out.Sensitive = append(out.Sensitive, k)
		} else {
			out.Headers[k] = v
		}
	}
	sort.Strings(out.Sensitive)
	return out
}

// destinationOutOf adds the headers a FIFO endpoint's answer shows.
func (s *Server) destinationOutOf(ctx context.Context, ds DestinationStore, d tenants.Destination) (destinationOut, error) {
	var h map[string]string
	if d.Type == tenants.DestinationFIFO {
		var err error
		if h, err = ds.DestinationHeaders(ctx, d.TenantID, d.AppID, d.ID); err != nil {
			return destinationOut{}, err
		}
	}
	return toDestinationOut(d, h), nil
}

// destCtx resolves the app and the destination store of a request.
// writeDestination answers with d as the wire shows it.
func (s *Server) writeDestination(c *gin.Context, ds DestinationStore, d tenants.Destination, status int) error {
	out, err := s.destinationOutOf(c.Request.Context(), ds, d)
	if err != nil {
		return err
	}
	c.JSON(status, out)
	return nil
}

func (s *Server) destCtx(c *gin.Context) (tenants.Application, DestinationStore, error) {
	ds, err := s.destStore()
	if err != nil {
		return tenants.Application{}, nil, err
	}
	a, err := s.loadApp(c)
	return a, ds, err
}

func (s *Server) listDestinations(c *gin.Context) error {
	p, err := listParams(c, false)
	if err != nil {
		return err
	}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	pg, err := ds.FindDestinations(c.Request.Context(), a.TenantID, a.ID, p)
	if err != nil {
		return err
	}
	out := listOut[destinationOut]{Data: make([]destinationOut, 0, len(pg.Items)), Done: pg.Done}
	for _, d := range pg.Items {
		o, err := s.destinationOutOf(c.Request.Context(), ds, d)
		if err != nil {
			return err
		}
		out.Data = append(out.Data, o)
	}
	if pg.Iterator != "" {
		out.Iterator, out.PrevIterator = &pg.Iterator, &pg.PrevIterator
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) createDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in destinationIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	di, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	d, err := ds.CreateDestination(c.Request.Context(), a.TenantID, a.ID, di)
	if err != nil {
		return err
	}
	s.destinationSavedEverywhere(c.Request.Context(), a.TenantID, a.ID)
	return s.writeDestination(c, ds, d, http.StatusCreated)
}

func (s *Server) getDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	d, err := ds.FindDestination(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	return s.writeDestination(c, ds, d, http.StatusOK)
}

func (s *Server) upsertDestination(c *gin.Context) error {
	ref := c.Param("destination_id")
	if !tenants.IsShortID(tenants.PrefixDestination, ref) {
		if err := checkDestUID(&ref); err != nil {
			return tenants.InvalidAt([]string{"path", "destination_id"}, "not a destination id or a valid uid")
		}
	}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in destinationIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	di, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	d, created, err := ds.UpsertDestination(c.Request.Context(), a.TenantID, a.ID, ref, di)
	if err != nil {
		return err
	}
	s.destinationSavedEverywhere(c.Request.Context(), a.TenantID, a.ID)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return s.writeDestination(c, ds, d, status)
}

func (s *Server) patchDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in destinationPatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	cur, err := ds.FindDestination(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	p, err := in.toPatch(cur, s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	d, err := ds.PatchDestination(c.Request.Context(), a.TenantID, a.ID, cur.ID, p)
	if err != nil {
		return err
	}
	s.destinationSavedEverywhere(c.Request.Context(), a.TenantID, a.ID)
	return s.writeDestination(c, ds, d, http.StatusOK)
}

func (s *Server) deleteDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	if err := ds.DeleteDestination(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getDestinationSecret(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	key, err := ds.DestinationSecret(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, destSecretOut{Key: key})
	return nil
}

func (s *Server) rotateDestinationSecret(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in rotateSecretIn
	if err := s.decodeOptionalJSON(c, &in); err != nil { // the body is optional
		return err
	}
	grace, err := in.grace()
	if err != nil {
		return err
	}
	key := ""
	if in.Key != nil {
		key = *in.Key
	}
	if err := ds.RotateDestinationSecret(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"), key, grace); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func (s *Server) getDestinationHeaders(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	h, err := ds.DestinationHeaders(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, splitSensitive(h))
	return nil
}

func (s *Server) patchDestinationHeaders(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in headersIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Headers == nil {
		return tenants.Invalid("headers", "field required")
	}
	h, err := ds.SetDestinationHeaders(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"), in.Headers)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, splitSensitive(h))
	return nil
}

// destSecretOut is SinkSecretOut.
type destSecretOut struct {
	Key string `json:"key"`
}

// skipIn is SkipParams.
type skipIn struct {
	Iterator *string `json:"iterator"`
}

func (s *Server) skipDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in skipIn
	if err := s.decodeOptionalJSON(c, &in); err != nil { // the body is optional
		return err
	}
	it := c.Query("iterator")
	if in.Iterator != nil {
		it = *in.Iterator
	}
	var to *tenants.Position
	if it != "" {
		p, err := tenants.ParsePosition(it, []string{"body", "iterator"})
		if err != nil {
			return err
		}
		to = &p
	}
	if err := ds.SkipDestinationBatch(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"), to); err != nil {
		return err
	}
	s.destinationSavedEverywhere(c.Request.Context(), a.TenantID, a.ID)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) forceRetryDestination(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	if err := ds.ForceRetryDestination(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id")); err != nil {
		return err
	}
	s.destinationSavedEverywhere(c.Request.Context(), a.TenantID, a.ID)
	c.Status(http.StatusNoContent)
	return nil
}

// destinationAttemptOut is DestinationAttemptOut.
type destinationAttemptOut struct {
	ID                 string    `json:"id"`
	DestinationID      string    `json:"destinationId"`
	Status             int       `json:"status"`
	StatusText         string    `json:"statusText"`
	FirstMsgID         *string   `json:"firstMsgId"`
	LastMsgID          *string   `json:"lastMsgId"`
	NumEvents          int       `json:"numEvents"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	Response           *string   `json:"response,omitempty"`
	ResponseDurationMs int64     `json:"responseDurationMs"`
	Timestamp          time.Time `json:"timestamp"`
}

func toDestinationAttemptOut(withContent bool) func(tenants.DestinationAttempt) destinationAttemptOut {
	return func(a tenants.DestinationAttempt) destinationAttemptOut {
		out := destinationAttemptOut{ID: a.ID, DestinationID: a.DestinationID, Status: int(a.Status), StatusText: a.Status.String(),
			NumEvents: a.NumEvents, ResponseStatusCode: a.StatusCode, ResponseDurationMs: int64(a.DurationMs), Timestamp: a.CreatedAt}
		if a.FirstMsgID != "" {
			out.FirstMsgID = &a.FirstMsgID
		}
		if a.LastMsgID != "" {
			out.LastMsgID = &a.LastMsgID
		}
		if withContent {
			out.Response = &a.Response
		}
		return out
	}
}

func (s *Server) listDestinationAttempts(c *gin.Context) error {
	p, err := listParams(c, true)
	if err != nil {
		return err
	}
	f := tenants.DestinationAttemptFilter{ListParams: p}
	if v := c.Query("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 4 {
			return tenants.InvalidAt([]string{"query", "status"}, "must be a message status (0-4)")
		}
		st := tenants.Status(n)
		f.Status = &st
	}
	if f.Before, err = timeQuery(c, "before"); err != nil {
		return err
	}
	if f.After, err = timeQuery(c, "after"); err != nil {
		return err
	}
	withContent, err := boolQuery(c, "withContent", true)
	if err != nil {
		return err
	}
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	pg, err := ds.FindDestinationAttempts(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toDestinationAttemptOut(withContent)))
	return nil
}

func (s *Server) getDestinationAttempt(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	at, err := ds.FindDestinationAttempt(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"), c.Param("attempt_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toDestinationAttemptOut(true)(at))
	return nil
}

// destinationOps document the destination and poller routes (Svix 1.947's
// operations, described by the structs the handlers encode).
func destinationOps() []op {
	const d = "/api/v1/app/:app_id/destination/:destination_id"
	const poller = "/api/v1/app/:app_id/poller/:sink_id"
	page := []param{{"limit", "integer", "Limit the number of returned items"}, {"iterator", "", "The iterator returned from a prior invocation"}, {"order", "", "ascending or descending"}}
	pollQ := []param{{"limit", "integer", "Limit the number of returned items (1-250)"}, {"iterator", "", "The iterator returned from a prior invocation"}}
	return []op{
		{method: "GET", path: "/api/v1/app/:app_id/destination", tag: "Destination", summary: "List the application's destinations.", query: page, ok: 200, resp: listOut[destinationOut]{}},
		{method: "POST", path: "/api/v1/app/:app_id/destination", tag: "Destination", summary: "Create a destination: pollingEndpoint, fifoEndpoint or rabbitMq.", body: destinationIn{}, ok: 201, resp: destinationOut{}},
		{method: "GET", path: d, tag: "Destination", summary: "Get a destination.", ok: 200, resp: destinationOut{}},
		{method: "PUT", path: d, tag: "Destination", summary: "Update a destination, or create it with this uid.", body: destinationIn{}, ok: 200, resp: destinationOut{}, more: map[int]any{201: destinationOut{}}},
		{method: "PATCH", path: d, tag: "Destination", summary: "Partially update a destination.", body: destinationPatchIn{}, ok: 200, resp: destinationOut{}},
		{method: "DELETE", path: d, tag: "Destination", summary: "Delete a destination.", ok: 204},
		{method: "GET", path: d + "/secret", tag: "Destination", summary: "Get the destination's signing secret.", ok: 200, resp: destSecretOut{}},
		{method: "POST", path: d + "/secret/rotate", tag: "Destination", summary: "Rotate the destination's signing secret.", body: rotateSecretIn{}, ok: 200, resp: map[string]any{}},
		{method: "GET", path: d + "/headers", tag: "Destination", summary: "Get a FIFO destination's custom headers.", ok: 200, resp: headersOut{}},
		{method: "PATCH", path: d + "/headers", tag: "Destination", summary: "Add, change or (with null) delete custom headers.", body: headersIn{}, ok: 200, resp: headersOut{}},
		{method: "POST", path: d + "/skip", tag: "Destination", summary: "Skip the batch in flight (or move to the iterator given).", query: []param{{"iterator", "", "Where to move to"}}, body: skipIn{}, ok: 204},
		{method: "POST", path: d + "/force-retry", tag: "Destination", summary: "Retry the waiting batch now (and enable a destination its retries disabled).", ok: 204},
		{method: "GET", path: d + "/attempt", tag: "Destination", summary: "List the destination's attempts: each covers a batch.",
			query: append(page, param{"status", "integer", "Filter by status"}, param{"before", "", "RFC 3339"}, param{"after", "", "RFC 3339"}, param{"withContent", "", "true or false"}),
			ok:    200, resp: listOut[destinationAttemptOut]{}},
		{method: "GET", path: d + "/attempt/:attempt_id", tag: "Destination", summary: "Get a destination attempt.", ok: 200, resp: destinationAttemptOut{}},
		{method: "GET", path: poller, tag: "Message", summary: "Read the application's messages, filtered on the sink's event types and channels (client-held iterator).",
			query: append(pollQ, param{"event_type", "", "Only this event type"}, param{"channel", "", "Only this channel"}, param{"after", "", "RFC 3339: start at messages created from then"}),
			ok:    200, resp: pollingOut{}},
		{method: "GET", path: poller + "/consumer/:consumer_id", tag: "Message", summary: "Read the messages after this consumer's last poll (server-held iterator).", query: pollQ, ok: 200, resp: pollingOut{}},
		{method: "POST", path: poller + "/consumer/:consumer_id/seek", tag: "Message", summary: "Set a consumer's position to the messages created from a time on.", body: seekIn{}, ok: 200, resp: seekOut{}},
		{method: "GET", path: d + "/transformation", tag: "Destination", summary: "Get the destination's transformation (variables' values masked).", ok: 200, resp: transformationOut{}},
		{method: "PATCH", path: d + "/transformation", tag: "Destination", summary: "Set or unset the destination's transformation, run once per batch (setting code enables it unless enabled says otherwise).",
			body: transformationPatchIn{}, ok: 200, resp: map[string]any{}},
		{method: "POST", path: d + "/transformation/simulate", tag: "Destination", summary: "Run transformation code on a batch of one sample message, as the destination would.",
			body: transformationSimulateIn{}, ok: 200, resp: transformationSimulateOut{}},
		{method: "GET", path: d + "/last-acked-event", tag: "Destination", summary: "Get the last event the destination acknowledged (404 before the first, and for a polling endpoint).", ok: 200, resp: eventOut{}},
		{method: "GET", path: d + "/next-event", tag: "Destination", summary: "Get the oldest event the destination has not acknowledged (404 when it has caught up).", ok: 200, resp: eventOut{}},
		{method: "GET", path: pollerTokenPath, tag: "Authentication", summary: "Get the current token of a polling endpoint's poller (made on first use): it may only poll that endpoint.", ok: 200, resp: apiTokenOut{}},
		{method: "POST", path: pollerTokenPath + "/rotate", tag: "Authentication", summary: "Make a new poller token; the old one ends after oldTokenExpiry seconds (default 300).",
			body: rotatePollerTokenIn{}, ok: 201, resp: apiTokenOut{}},
	}
}
