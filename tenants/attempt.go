package tenants

import "time"

// MaxResponseChars is how much of a receiver's answer an attempt keeps.
const MaxResponseChars = 20000

// Attempt is the record of one HTTP request to an endpoint.
type Attempt struct {
	ID         string
	TenantID   string
	AppID      string
	MsgID      string
	EndpointID string
	DeliveryID int64
	URL        string
	Status     Status // success or fail
	StatusCode int    // 0 when no response arrived
	Response   *string
	// Error says why an attempt without a response failed (timeout,
	// connection refused, blocked address…).
	Error          string
	DurationMS     int
	Trigger        Trigger
	RequestHeaders map[string]string
	CreatedAt      time.Time
}

// AttemptFilter narrows an attempt listing.
type AttemptFilter struct {
	MessageFilter
	Status          *Status
	StatusCodeClass *int // 0 (no response), 100, 200, 300, 400 or 500
	EndpointID      string
}

// EndpointMessage is a message as seen from one endpoint: its latest
// delivery status there.
type EndpointMessage struct {
	Message
	Status        Status
	NextAttemptAt *time.Time
}

// MessageDestination is an endpoint as seen from one message: its latest
// delivery status there.
type MessageDestination struct {
	Endpoint
	Status        Status
	NextAttemptAt *time.Time
}

// EndpointStats counts an endpoint's attempts (success, fail) and
// deliveries still pending or canceled within a window.
type EndpointStats struct {
	Success, Pending, Sending, Fail, Canceled int64
}

// AttemptBucket counts a tenant's attempts in one time bucket.
type AttemptBucket struct {
	Start     time.Time
	Succeeded int64
	Failed    int64
}

// TroubledEndpoint is an endpoint that is disabled or failing, with its
// application's name.
type TroubledEndpoint struct {
	Endpoint
	AppName string
}
