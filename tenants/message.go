package tenants

import (
	"slices"
	"time"
)

// Message is one event a tenant sent to an application. Payload holds the
// bytes exactly as received and is delivered byte for byte; it is nil once
// expunged or past its retention.
type Message struct {
	ID        string
	TenantID  string
	AppID     string
	EventID   *string
	EventType string
	Payload   []byte
	Channels  []string
	Tags      []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// DeliverAt, when set, is when the message was scheduled to go out.
	DeliverAt *time.Time
}

// HidePayloadPast hides the payload once the message is past its expiry
// at now (the periodic expiry that nulls the stored payload may not have
// reached it yet).
func (m *Message) HidePayloadPast(now time.Time) {
	if m.Payload != nil && !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now) {
		m.Payload = nil
	}
}

// MessageInput is a message to create.
type MessageInput struct {
	EventType string
	EventID   *string
	Payload   []byte
	Channels  []string
	Tags      []string
	Retention time.Duration
	// OnlyEndpoint restricts the fan-out to one endpoint (send-example).
	OnlyEndpoint string
	// DeliverAt schedules the first attempts (nil: at once).
	DeliverAt *time.Time
}

// DefaultRetention is how long payloads are kept unless the message says.
const DefaultRetention = 90 * 24 * time.Hour

// NewDelivery is a delivery CreateMessages just made, with what a worker
// in the same process needs to attempt it without reading it back.
type NewDelivery struct {
	ID               int64
	EndpointID       string
	EndpointRevision int64
	FailingSince     *time.Time
	// LaneCap is the endpoint's cap on attempts in flight (0: default).
	LaneCap int
	// Config, when the spec asked for it (MessageSpec.WithConfig), is the
	// endpoint's sending configuration read in the same statement, so a
	// worker new to the endpoint need not read it again.
	Config *EndpointConfig
}

// MessageSpec is one message to create: whose, for which application, and
// the idempotency claim that goes with it.
type MessageSpec struct {
	TenantID string
	// AppID is the application's id; when it is empty, AppRef (an id or a
	// uid) is resolved in the statement that stores the message, and a ref
	// naming no live application makes the spec Missing.
	AppID  string
	AppRef string
	// WithConfig asks for each delivery's endpoint configuration
	// (NewDelivery.Config): set when the application is new to the caller,
	// and so, likely, its endpoints to the worker.
	WithConfig bool
	In         MessageInput
	// Claim, when set, is written in the same statement as the message: a
	// key already held by a live claim makes the spec a Duplicate instead.
	Claim *IdempotencyClaim
}

// IdempotencyClaim is the idempotency key of a request that creates a
// message.
type IdempotencyClaim struct {
	// Key identifies the request (already scoped by tenant and route).
	Key []byte
	// Fingerprint identifies its body: the same key with another body is
	// a misuse, not a repeat.
	Fingerprint []byte
	// TTL is how long the key is remembered.
	TTL time.Duration
}

// CreatedMessage is what CreateMessages made of one spec.
type CreatedMessage struct {
	Message    Message
	Deliveries []NewDelivery
	// Duplicate is set when the spec's idempotency key was already
	// claimed: nothing was created, and Message is zero. The claim is read
	// with FindIdempotentMessage. Message.AppID is still set.
	Duplicate bool
	// Missing is set when the spec's AppRef names no live application:
	// nothing was created.
	Missing bool
}

// FirstJobs returns the first-attempt jobs of a newly created message's
// deliveries: what a worker needs to attempt them without reading back
// what was just written.
func (c CreatedMessage) FirstJobs() []DeliveryJob {
	m := c.Message
	next := m.CreatedAt
	if m.DeliverAt != nil && m.DeliverAt.After(next) {
		next = *m.DeliverAt
	}
	jobs := make([]DeliveryJob, len(c.Deliveries))
	for i, d := range c.Deliveries {
		due := next
		jobs[i] = DeliveryJob{
			ID: d.ID, TenantID: m.TenantID, AppID: m.AppID, MsgID: m.ID, EndpointID: d.EndpointID,
			Trigger: TriggerScheduled, Status: StatusPending, NextAttemptAt: &due,
			EventType: m.EventType, Payload: m.Payload, MsgCreatedAt: m.CreatedAt,
			EndpointRevision: d.EndpointRevision, FailingSince: d.FailingSince,
		}
	}
	return jobs
}

// IdempotentMessage is the claim a message's idempotency key holds.
type IdempotentMessage struct {
	TenantID    string
	Fingerprint []byte
	MsgID       string
}

// StoredResponse is a 2xx answer kept for an idempotency key.
type StoredResponse struct {
	StatusCode int
	Headers    map[string]string
	Body       []byte
	// Fingerprint identifies the body of the request that made it.
	Fingerprint []byte
}

// MessageFilter narrows a message (or attempt) listing.
type MessageFilter struct {
	ListParams
	Channel    string
	EventTypes []string
	// Tag keeps messages carrying this tag.
	Tag    string
	Before time.Time // created strictly before, when set
	After  time.Time // created strictly after, when set
}

// TenantMessageFilter narrows a search of a tenant's messages across its
// applications (the console's message log, and the portal's "failed"
// view when AppID is set).
type TenantMessageFilter struct {
	MessageFilter
	// AppID limits the search to one application when set.
	AppID string
	// Ref is a message id or an eventId.
	Ref string
	// Status keeps messages whose latest delivery to at least one endpoint
	// is in this state (a failure resent with success is no longer failed).
	Status *Status
}

// NormList turns an empty list into nil ("no filter") and drops
// duplicates, keeping the first of each.
func NormList(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
