package tenants

import (
	"fmt"
	"time"
)

// Endpoint is a URL of a tenant's customer that receives webhooks.
type Endpoint struct {
	ID           string
	TenantID     string
	AppID        string
	UID          *string
	URL          string
	Description  string
	Disabled     bool
	EventTypes   []string // nil: all
	Channels     []string // nil: any
	ThrottleRate *int     // messages per second; nil: unlimited
	// MaxConcurrency caps the attempts in flight to the endpoint at once
	// (its lane's cap); nil means the server's default.
	MaxConcurrency *int
	Metadata       map[string]string
	Headers        map[string]string
	// RetrySchedule is the endpoint's own delays between tries, in
	// milliseconds; nil means the server's schedule.
	RetrySchedule []int64
	Revision      int64
	FailingSince  *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeletedAt     *time.Time
}

// EndpointInput holds the fields of a create or a full update (PUT).
type EndpointInput struct {
	URL          string
	Description  string
	UID          *string
	Disabled     bool
	EventTypes   []string
	Channels     []string
	ThrottleRate *int
	// MaxConcurrency caps the attempts in flight at once (nil: default).
	MaxConcurrency *int
	Metadata       map[string]string
	Headers        map[string]string // create only; nil keeps them on update
	Secret         *string           // create only; nil generates one
	RetrySchedule  []int64
	// EventTypesChecked says the caller validated EventTypes itself, so
	// they need not be the tenant's event types (operational endpoints
	// filter on operational event types).
	EventTypesChecked bool

	// KeepMaxConcurrency, on a full update, keeps the current cap instead
	// of MaxConcurrency: a PUT that does not name the field (the Svix
	// SDKs cannot) must not drop a cap set earlier.
	KeepMaxConcurrency bool
}

// EndpointPatch holds the fields of a partial update.
type EndpointPatch struct {
	URL            *string
	Description    *string
	UID            Optional[string]
	Disabled       *bool
	EventTypes     Optional[[]string]
	Channels       Optional[[]string]
	ThrottleRate   Optional[int]
	MaxConcurrency Optional[int]
	Metadata       *map[string]string
	Secret         Optional[string]
	RetrySchedule  Optional[[]int64]
}

// Replace applies a full update (PUT) to e: every field of in, except the
// headers and secret, which a PUT keeps, a nil retry schedule, which
// keeps the current one, and the lane cap when in says to keep it.
func (e *Endpoint) Replace(in EndpointInput) {
	e.URL, e.Description, e.UID, e.Disabled = in.URL, in.Description, in.UID, in.Disabled
	e.EventTypes, e.Channels, e.ThrottleRate = NormList(in.EventTypes), NormList(in.Channels), in.ThrottleRate
	if !in.KeepMaxConcurrency {
		e.MaxConcurrency = in.MaxConcurrency
	}
	e.Metadata = OrEmpty(in.Metadata)
	if in.RetrySchedule != nil {
		e.RetrySchedule = in.RetrySchedule
	}
}

// Patch applies the fields of p other than the secret and the event types
// (which the store checks against the catalog) to e. Re-enabling an
// endpoint ends its failure streak.
func (e *Endpoint) Patch(p EndpointPatch) {
	if p.URL != nil {
		e.URL = *p.URL
	}
	if p.Description != nil {
		e.Description = *p.Description
	}
	e.UID = p.UID.Apply(e.UID)
	if p.Disabled != nil {
		e.Disabled = *p.Disabled
		if !e.Disabled {
			e.FailingSince = nil
		}
	}
	if p.EventTypes.Set {
		e.EventTypes = NormList(p.EventTypes.Value)
	}
	if p.Channels.Set {
		e.Channels = NormList(p.Channels.Value)
	}
	e.ThrottleRate = p.ThrottleRate.Apply(e.ThrottleRate)
	e.MaxConcurrency = p.MaxConcurrency.Apply(e.MaxConcurrency)
	if p.Metadata != nil {
		e.Metadata = OrEmpty(*p.Metadata)
	}
	if p.RetrySchedule.Set {
		e.RetrySchedule = p.RetrySchedule.Value
	}
}

// EndpointConfig is the part of an endpoint a worker caches: everything
// needed to send, keyed by Revision.
type EndpointConfig struct {
	ID           string
	TenantID     string
	Revision     int64
	URL          string
	Headers      map[string]string
	ThrottleRate *int
	// MaxConcurrency is the endpoint's lane cap (0: the server's default).
	MaxConcurrency int
	RetrySchedule  []time.Duration // nil: the server's schedule
	Secrets        []string        // current first, then unexpired previous ones
	// SecretsValidUntil is when the earliest previous secret expires, so a
	// cache entry is not trusted past it.
	SecretsValidUntil time.Time
	// Transformation is the endpoint's active transformation (nil: none,
	// or disabled); changing it bumps Revision.
	Transformation *Transformation
	// Security is the endpoint's mTLS identity, server CA and OAuth2
	// client (endpoint_security.go); zero: none.
	Security EndpointSecurity
}

// ErrTooManyOldSecrets is a rotation with a grace period while
// MaxLiveOldSecrets previous secrets still sign.
var ErrTooManyOldSecrets = BadRequest("limit_reached", fmt.Sprintf(
	"an endpoint may keep at most %d previous secrets alive; rotate again once one expires, or use a zero grace period", MaxLiveOldSecrets))

// OrEmpty returns m, or an empty map for nil (stored maps are never null).
func OrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
