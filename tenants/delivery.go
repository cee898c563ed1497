package tenants

import "time"

// Status is the state of a delivery (and of an attempt, which is success or
// fail), numbered as the Svix API numbers MessageStatus.
type Status int16

// Statuses.
const (
	StatusSuccess  Status = 0
	StatusPending  Status = 1
	StatusFail     Status = 2
	StatusSending  Status = 3
	StatusCanceled Status = 4
)

// String returns the status as the API spells it.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusPending:
		return "pending"
	case StatusFail:
		return "fail"
	case StatusSending:
		return "sending"
	case StatusCanceled:
		return "canceled"
	}
	return "unknown"
}

// Trigger says why an attempt was made.
type Trigger int16

// Triggers.
const (
	TriggerScheduled Trigger = 0
	TriggerManual    Trigger = 1
)

// DeliveryJob is what a worker needs to attempt one delivery, read in one
// query: the delivery's state, its message and the endpoint's live state.
// The endpoint's configuration (URL, headers, secrets) is cached by the
// worker and checked against EndpointRevision.
type DeliveryJob struct {
	ID            int64
	TenantID      string
	AppID         string
	MsgID         string
	EndpointID    string
	Trigger       Trigger
	Status        Status
	Attempts      int
	NextAttemptAt *time.Time
	EventType     string
	Payload       []byte // nil once expunged
	MsgCreatedAt  time.Time

	EndpointRevision int64
	EndpointDisabled bool
	EndpointDeleted  bool
	FailingSince     *time.Time
}

// EndpointHealth is what an attempt's outcome does to its endpoint's
// failure streak.
type EndpointHealth int

// Endpoint health changes.
const (
	HealthUnchanged EndpointHealth = iota
	HealthRecovered                // a success ends the streak
	HealthFailing                  // a failure starts one (if none is running)
	HealthDisable                  // failing too long: disable the endpoint
)

// AttemptResult is one finished attempt and what it does to its delivery.
type AttemptResult struct {
	Attempt Attempt
	// Status is the delivery's new status: success, pending (a retry is
	// due at NextAttemptAt) or fail (no more tries).
	Status        Status
	NextAttemptAt *time.Time
	Health        EndpointHealth
}

// DueDelivery is a pending delivery as the outbox sweeper sees it.
type DueDelivery struct {
	ID            int64
	TenantID      string
	EndpointID    string
	NextAttemptAt time.Time
}

// Postponement moves a pending delivery's next attempt to At without an
// attempt being made (its endpoint's circuit is open, or it is throttled).
// Attempts is the number of tries the delivery had when it was postponed:
// a delivery tried since then is left as its attempt set it.
type Postponement struct {
	TenantID   string
	DeliveryID int64
	Attempts   int
	At         time.Time
}

// BulkReplayFilter selects the messages a bulk replay resends. Since is
// required; zero Until means now; nil or empty fields do not filter.
type BulkReplayFilter struct {
	Since, Until    time.Time
	Status          *Status // the message's latest delivery status to the endpoint
	StatusCodeClass *int    // of its latest attempt there: 0 (no response), 100 … 500
	EventTypes      []string
	Channel         string
	Tag             string
}

// MaxRecoverWindow bounds recover, replay-missing and bulk replay.
const MaxRecoverWindow = 14*24*time.Hour + 5*time.Minute

// CheckRecoverWindow validates the window [since, until) of a recover or
// replay at instant now.
func CheckRecoverWindow(now, since, until time.Time) error {
	if since.IsZero() {
		return Invalid("since", "field required")
	}
	if !until.After(since) {
		return Invalid("until", "must be after since")
	}
	if until.Sub(since) > MaxRecoverWindow {
		return Invalid("since", "the window may span at most 14 days")
	}
	if since.After(now) {
		return Invalid("since", "must not be in the future")
	}
	return nil
}

// ErrMissingPayload is returned for a resend of a message whose payload is
// gone (expunged, or past its retention).
var ErrMissingPayload = BadRequest("missing_payload", "the message's payload has been expunged or has expired; it cannot be resent")

// DeliveryState is where a message stands with one endpoint: the state of
// its latest delivery there.
type DeliveryState struct {
	MsgID         string
	EndpointID    string
	Status        Status
	Attempts      int
	NextAttemptAt *time.Time
}

// ScheduledSlack is how far ahead a pending delivery's next try must be
// for State to call it scheduled rather than pending (about to go).
const ScheduledSlack = 2 * time.Second

// State names the delivery state for people: succeeded, failed, sending,
// canceled, pending (due now) or scheduled (its next try is later than
// ScheduledSlack after now).
func (d DeliveryState) State(now time.Time) string {
	switch d.Status {
	case StatusSuccess:
		return "succeeded"
	case StatusFail:
		return "failed"
	case StatusSending:
		return "sending"
	case StatusCanceled:
		return "canceled"
	}
	if d.NextAttemptAt != nil && d.NextAttemptAt.After(now.Add(ScheduledSlack)) {
		return "scheduled"
	}
	return "pending"
}

// PendingSummary is a tenant's share of the outbox: how many deliveries
// wait for a successful attempt and since when the oldest waits.
type PendingSummary struct {
	Pending       int64
	OldestCreated *time.Time
	NextAttemptAt *time.Time
}

// FailedDelivery is a delivery that failed for good, as the operator's
// dead-letter view shows it: with its last attempt's error.
type FailedDelivery struct {
	ID         int64
	TenantID   string
	AppID      string
	MsgID      string
	EndpointID string
	FailedAt   time.Time
	// LastError is the last attempt's error, or its status code.
	LastError string
}
