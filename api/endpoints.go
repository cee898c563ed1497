package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/hookline/hookline/internal/nullable"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
)

// retryDelays is the retrySchedule extension field: delays between tries,
// each a Go duration string ("30s", "5m") or a number of seconds.
type retryDelays []time.Duration

func (r *retryDelays) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return tenants.InvalidAt([]string{"body", "retrySchedule"}, "must be a list of durations")
	}
	out := make(retryDelays, 0, len(raw))
	for _, v := range raw {
		var secs float64
		var str string
		switch {
		case json.Unmarshal(v, &secs) == nil:
			out = append(out, time.Duration(secs*float64(time.Second)))
		case json.Unmarshal(v, &str) == nil:
			d, err := time.ParseDuration(str)
			if err != nil {
				return tenants.InvalidAt([]string{"body", "retrySchedule"}, fmt.Sprintf("%q is not a duration", str))
			}
			out = append(out, d)
		default:
			return tenants.InvalidAt([]string{"body", "retrySchedule"}, "must be a list of durations")
		}
	}
	*r = out
	return nil
}

func (r retryDelays) millis() ([]int64, error) {
	if len(r) > 20 {
		return nil, tenants.Invalid("retrySchedule", "at most 20 retries")
	}
	out := make([]int64, len(r))
	for i, d := range r {
		if d < 0 || d > 7*24*time.Hour {
			return nil, tenants.Invalid("retrySchedule", "each delay must be between 0 and 7 days")
		}
		out[i] = d.Milliseconds()
	}
	return out, nil
}

type endpointIn struct {
	URL           *string           `json:"url"`
	Description   *string           `json:"description"`
	UID           *string           `json:"uid"`
	Disabled      *bool             `json:"disabled"`
	EventTypes    []string          `json:"eventTypes"`
	FilterTypes   []string          `json:"filterTypes"`
	Channels      []string          `json:"channels"`
	Secret        *string           `json:"secret"`
	ThrottleRate  *int              `json:"throttleRate"`
	RateLimit     *int              `json:"rateLimit"`
	Metadata      map[string]string `json:"metadata"`
	Headers       map[string]string `json:"headers"`
	RetrySchedule retryDelays       `json:"retrySchedule"`
	// MaxConcurrency is the Hookline extension field: the endpoint's lane
	// cap (null or absent: the default; absent on a PUT: keep).
	MaxConcurrency nullable.Value[int] `json:"maxConcurrency"`
	// Version is Svix's deprecated endpoint version: checked, not stored.
	Version json.RawMessage `json:"version"`
}

// maxConcurrencyLoc is where a bad lane cap is reported.
var maxConcurrencyLoc = []string{"body", "maxConcurrency"}

// toInput checks the body; allowPrivate is Options.AllowPrivateTargets.
func (in endpointIn) toInput(allowPrivate bool) (tenants.EndpointInput, error) {
	var out tenants.EndpointInput
	if in.URL == nil {
		return out, tenants.Invalid("url", "field required")
	}
	if err := tenants.CheckEndpointTarget(*in.URL, allowPrivate); err != nil {
		return out, err
	}
	if err := checkUID("uid", in.UID, tenants.PrefixEndpoint); err != nil {
		return out, err
	}
	if err := checkVersion(in.Version); err != nil {
		return out, err
	}
	if err := checkLength("description", in.Description, maxEndpointDescriptionChars); err != nil {
		return out, err
	}
	types := in.EventTypes
	if types == nil {
		types = in.FilterTypes
	}
	if err := tenants.ValidateChannels("channels", in.Channels, 10); err != nil {
		return out, err
	}
	rate := in.ThrottleRate
	if rate == nil {
		rate = in.RateLimit
	}
	if err := checkRate("throttleRate", rate); err != nil {
		return out, err
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return out, err
	}
	var sched []int64
	if in.RetrySchedule != nil {
		var err error
		if sched, err = in.RetrySchedule.millis(); err != nil {
			return out, err
		}
	}
	maxConc := in.MaxConcurrency.Apply(nil)
	if err := tenants.CheckMaxConcurrency(maxConcurrencyLoc, maxConc); err != nil {
		return out, err
	}
	out = tenants.EndpointInput{
		URL: *in.URL, UID: in.UID, EventTypes: types, Channels: in.Channels, ThrottleRate: rate,
		Metadata: in.Metadata, Headers: in.Headers, Secret: in.Secret, RetrySchedule: sched,
		MaxConcurrency: maxConc, KeepMaxConcurrency: !in.MaxConcurrency.Set,
	}
	if in.Description != nil {
		out.Description = *in.Description
	}
	if in.Disabled != nil {
		out.Disabled = *in.Disabled
	}
	return out, nil
}

type endpointPatchIn struct {
	URL           *string                     `json:"url"`
	Description   *string                     `json:"description"`
	UID           nullable.Value[string]      `json:"uid"`
	Disabled      *bool                       `json:"disabled"`
	EventTypes    nullable.Value[[]string]    `json:"eventTypes"`
	FilterTypes   nullable.Value[[]string]    `json:"filterTypes"`
	Channels      nullable.Value[[]string]    `json:"channels"`
	Secret        nullable.Value[string]      `json:"secret"`
	ThrottleRate  nullable.Value[int]         `json:"throttleRate"`
	RateLimit     nullable.Value[int]         `json:"rateLimit"`
	Metadata      map[string]string           `json:"metadata"`
	RetrySchedule nullable.Value[retryDelays] `json:"retrySchedule"`
	// MaxConcurrency: null resets the lane cap to the default.
	MaxConcurrency nullable.Value[int] `json:"maxConcurrency"`
	// Version is Svix's deprecated endpoint version: checked, not stored.
	Version json.RawMessage `json:"version"`
}

// toPatch checks the body; allowPrivate is Options.AllowPrivateTargets.
func (in endpointPatchIn) toPatch(allowPrivate bool) (tenants.EndpointPatch, error) {
	var p tenants.EndpointPatch
	if in.URL != nil {
		if err := tenants.CheckEndpointTarget(*in.URL, allowPrivate); err != nil {
			return p, err
		}
	}
	if in.UID.Set && !in.UID.Null {
		if err := checkUID("uid", &in.UID.Value, tenants.PrefixEndpoint); err != nil {
			return p, err
		}
	}
	if err := checkVersion(in.Version); err != nil {
		return p, err
	}
	if err := checkLength("description", in.Description, maxEndpointDescriptionChars); err != nil {
		return p, err
	}
	types := in.EventTypes
	if !types.Set {
		types = in.FilterTypes
	}
	if in.Channels.Set && !in.Channels.Null {
		if err := tenants.ValidateChannels("channels", in.Channels.Value, 10); err != nil {
			return p, err
		}
	}
	rate := in.ThrottleRate
	if !rate.Set {
		rate = in.RateLimit
	}
	if rate.Set && !rate.Null {
		if err := checkRate("throttleRate", &rate.Value); err != nil {
			return p, err
		}
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return p, err
	}
	if err := tenants.CheckMaxConcurrency(maxConcurrencyLoc, in.MaxConcurrency.Apply(nil)); err != nil {
		return p, err
	}
	p = tenants.EndpointPatch{
		URL: in.URL, Description: in.Description, UID: in.UID, Disabled: in.Disabled,
		EventTypes: types, Channels: in.Channels, ThrottleRate: rate,
		Secret: in.Secret, MaxConcurrency: in.MaxConcurrency,
	}
	if in.Metadata != nil {
		p.Metadata = &in.Metadata
	}
	if in.RetrySchedule.Set {
		p.RetrySchedule.Set = true
		if !in.RetrySchedule.Null {
			ms, err := in.RetrySchedule.Value.millis()
			if err != nil {
				return p, err
			}
			p.RetrySchedule.Value = ms
		}
	}
	return p, nil
}

type endpointOut struct {
	ID            string            `json:"id"`
	UID           *string           `json:"uid"`
	URL           string            `json:"url"`
	Description   string            `json:"description"`
	Version       int               `json:"version"`
	Disabled      bool              `json:"disabled"`
	EventTypes    []string          `json:"eventTypes"`
	FilterTypes   []string          `json:"filterTypes"`
	Channels      []string          `json:"channels"`
	ThrottleRate  *int              `json:"throttleRate"`
	RateLimit     *int              `json:"rateLimit,omitempty"`
	Metadata      map[string]string `json:"metadata"`
	RetrySchedule []string          `json:"retrySchedule,omitempty"`
	CreatedAt     time.Time         `json:"createdAt"`
	UpdatedAt     time.Time         `json:"updatedAt"`
	// MaxConcurrency is the endpoint's own lane cap; omitted when it has
	// none (the server's default applies).
	MaxConcurrency *int `json:"maxConcurrency,omitempty"`
}

func toEndpointOut(e tenants.Endpoint) endpointOut {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := endpointOut{
		ID: e.ID, UID: e.UID, URL: e.URL, Description: e.Description, Version: 1, Disabled: e.Disabled,
		EventTypes: e.EventTypes, FilterTypes: e.EventTypes, Channels: e.Channels,
		ThrottleRate: e.ThrottleRate, RateLimit: e.ThrottleRate, Metadata: md,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(), MaxConcurrency: e.MaxConcurrency,
	}
	for _, ms := range e.RetrySchedule {
		out.RetrySchedule = append(out.RetrySchedule, (time.Duration(ms) * time.Millisecond).String())
	}
	return out
}

func (s *Server) listEndpoints(c *gin.Context) error {
	p, err := listParams(c, true)
	if err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	pg, err := s.store.FindEndpoints(c.Request.Context(), a.TenantID, a.ID, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toEndpointOut))
	return nil
}

func (s *Server) createEndpoint(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	ei, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	s.defaultSecret(&ei)
	e, err := s.store.CreateEndpoint(c.Request.Context(), a.TenantID, a.ID, ei)
	if err != nil {
		return err
	}
	s.ops.Endpoint(c.Request.Context(), operational.EndpointCreated, a, e, "")
	c.JSON(http.StatusCreated, toEndpointOut(e))
	return nil
}

func (s *Server) getEndpoint(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	e, err := s.store.FindEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toEndpointOut(e))
	return nil
}

func (s *Server) updateEndpoint(c *gin.Context) error {
	if err := checkPathRef("endpoint_id", c.Param("endpoint_id"), tenants.PrefixEndpoint); err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	in.Secret, in.Headers = nil, nil // PUT keeps the secret and headers
	ei, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	s.defaultSecret(&ei) // used only if the PUT creates the endpoint
	prev, prevErr := s.store.FindEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	e, created, err := s.store.UpsertEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), ei)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.ops.Endpoint(c.Request.Context(), operational.EndpointCreated, a, e, "")
	} else if prevErr == nil {
		s.endpointChanged(c.Request.Context(), a, prev, e)
	}
	c.JSON(status, toEndpointOut(e))
	return nil
}

func (s *Server) patchEndpoint(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointPatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := in.toPatch(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	prev, err := s.store.FindEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	e, err := s.store.PatchEndpoint(c.Request.Context(), a.TenantID, a.ID, prev.ID, p)
	if err != nil {
		return err
	}
	s.endpointChanged(c.Request.Context(), a, prev, e)
	c.JSON(http.StatusOK, toEndpointOut(e))
	return nil
}

// endpointChanged sends the operational events of an update:
// endpoint.updated, and endpoint.disabled (manual) or endpoint.enabled
// when the update flipped the endpoint's disabled flag.
func (s *Server) endpointChanged(ctx context.Context, a tenants.Application, prev, cur tenants.Endpoint) {
	s.ops.Endpoint(ctx, operational.EndpointUpdated, a, cur, "")
	switch {
	case !prev.Disabled && cur.Disabled:
		s.ops.Endpoint(ctx, operational.EndpointDisabled, a, cur, operational.TriggerManual)
	case prev.Disabled && !cur.Disabled:
		s.ops.Endpoint(ctx, operational.EndpointEnabled, a, cur, "")
	}
}

func (s *Server) deleteEndpoint(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	e, err := s.store.FindEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(c.Request.Context(), a.TenantID, a.ID, e.ID); err != nil {
		return err
	}
	s.ops.Endpoint(c.Request.Context(), operational.EndpointDeleted, a, e, "")
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getEndpointSecret(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	key, err := s.store.EndpointSecret(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	// An ed25519 key reads back as its public key only.
	if key, err = tenants.PublicSecret(key); err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"key": key})
	return nil
}

type rotateSecretIn struct {
	Key                *string `json:"key"`
	GracePeriodSeconds *int64  `json:"gracePeriodSeconds"`
}

// grace is how long the old secret keeps signing: the default, or the
// body's gracePeriodSeconds checked against tenants.MaxGracePeriod.
func (in rotateSecretIn) grace() (time.Duration, error) {
	if in.GracePeriodSeconds == nil {
		return tenants.DefaultGracePeriod, nil
	}
	g := time.Duration(*in.GracePeriodSeconds) * time.Second
	if g < 0 || g > tenants.MaxGracePeriod {
		return 0, tenants.Invalid("gracePeriodSeconds", "must be between 0 and 604800")
	}
	return g, nil
}

func (s *Server) rotateEndpointSecret(c *gin.Context) error {
	a, err := s.loadApp(c)
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
	} else if s.opts.DefaultSignature == tenants.SignatureEd25519 {
		key = tenants.NewEd25519EndpointSecret()
	}
	if err := s.store.RotateEndpointSecret(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), key, grace); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type headersOut struct {
	Headers   map[string]string `json:"headers"`
	Sensitive []string          `json:"sensitive"`
}

func (s *Server) getEndpointHeaders(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	h, err := s.store.EndpointHeaders(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	out := headersOut{Headers: map[string]string{}, Sensitive: []string{}}
	for k, v := range h {
		if tenants.IsSensitiveHeader(k) {
			out.Sensitive = append(out.Sensitive, k)
		} else {
			out.Headers[k] = v
		}
	}
	sort.Strings(out.Sensitive)
	c.JSON(http.StatusOK, out)
	return nil
}

type headersIn struct {
	Headers map[string]*string `json:"headers"`
}

func (s *Server) setEndpointHeaders(c *gin.Context, replace bool) error {
	a, err := s.loadApp(c)
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
	if replace && slices.Contains(mapValues(in.Headers), nil) {
		return tenants.Invalid("headers", "values must be strings; use PATCH with null to delete a header")
	}
	if err := s.store.SetEndpointHeaders(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), in.Headers, replace); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) updateEndpointHeaders(c *gin.Context) error { return s.setEndpointHeaders(c, true) }
func (s *Server) patchEndpointHeaders(c *gin.Context) error  { return s.setEndpointHeaders(c, false) }

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
