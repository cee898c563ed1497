package operational

import (
	"encoding/json"
	"time"
)

// Event types, as Svix names them.
const (
	EndpointCreated         = "endpoint.created"
	EndpointUpdated         = "endpoint.updated"
	EndpointDeleted         = "endpoint.deleted"
	EndpointDisabled        = "endpoint.disabled"
	EndpointEnabled         = "endpoint.enabled"
	MessageAttemptExhausted = "message.attempt.exhausted"
	MessageAttemptFailing   = "message.attempt.failing"
	MessageAttemptRecovered = "message.attempt.recovered"
	BackgroundTaskFinished  = "background_task.finished"
	// EndpointThrottled is Hookline's own: the endpoint's delivery lane
	// has allowed one attempt at a time (below its cap) for ten minutes,
	// because the receiver kept showing congestion (timeouts, refused
	// connections, 429 or 503).
	EndpointThrottled = "endpoint.throttled"
	// EndpointCertificateExpiring is Hookline's own: the endpoint's mTLS
	// client certificate or its server CA expires within 14 days.
	EndpointCertificateExpiring = "endpoint.certificate_expiring"
)

// EventTypes lists every operational event type, the values an
// operational endpoint's filterTypes may name.
var EventTypes = []string{
	EndpointCreated, EndpointUpdated, EndpointDeleted, EndpointDisabled, EndpointEnabled,
	MessageAttemptExhausted, MessageAttemptFailing, MessageAttemptRecovered, BackgroundTaskFinished,
	EndpointThrottled, EndpointCertificateExpiring,
}

// IsEventType reports whether t is an operational event type.
func IsEventType(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// Disable triggers of endpoint.disabled.
const (
	TriggerManual    = "manual"
	TriggerAutomatic = "automatic"
)

// EndpointData is the data of the endpoint.* events (Svix's
// EndpointCreatedEventData and friends; FailSince and Trigger only in
// endpoint.disabled).
type EndpointData struct {
	AppID       string     `json:"appId"`
	AppUID      *string    `json:"appUid,omitempty"`
	EndpointID  string     `json:"endpointId"`
	EndpointUID *string    `json:"endpointUid,omitempty"`
	FailSince   *time.Time `json:"failSince,omitempty"`
	Trigger     string     `json:"trigger,omitempty"`
}

// ThrottledData is the data of endpoint.throttled: since when the
// endpoint's lane has allowed one attempt at a time, and the most it may
// allow (its cap).
type ThrottledData struct {
	AppID       string    `json:"appId"`
	AppUID      *string   `json:"appUid,omitempty"`
	EndpointID  string    `json:"endpointId"`
	EndpointUID *string   `json:"endpointUid,omitempty"`
	Since       time.Time `json:"since"`
	Cap         int       `json:"maxConcurrency,omitempty"`
}

// AttemptData is the data of the message.attempt.* events (Svix's
// MessageAttemptExhaustedEventData and friends).
type AttemptData struct {
	AppID       string      `json:"appId"`
	AppUID      *string     `json:"appUid,omitempty"`
	EndpointID  string      `json:"endpointId"`
	MsgID       string      `json:"msgId"`
	MsgEventID  *string     `json:"msgEventId,omitempty"`
	LastAttempt LastAttempt `json:"lastAttempt"`
}

// LastAttempt is Svix's MessageAttemptFailedData: the attempt that made
// the event.
type LastAttempt struct {
	ID                 string    `json:"id"`
	ResponseStatusCode int       `json:"responseStatusCode"`
	Timestamp          time.Time `json:"timestamp"`
}

// TaskData is the data of background_task.finished (Svix's
// BackgroundTaskFinishedEvent2).
type TaskData struct {
	TaskID string         `json:"taskId"`
	Task   string         `json:"task"`
	Status string         `json:"status"`
	Data   map[string]any `json:"data"`
}

// Payload returns the event's body: {"type": eventType, "data": data}.
// It fails only if data cannot be marshaled.
func Payload(eventType string, data any) ([]byte, error) {
	return json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{eventType, data})
}
