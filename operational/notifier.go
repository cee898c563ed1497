package operational

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Sender creates an operational event: a message of eventType in the
// tenant's system application, delivered to its operational endpoints. A
// tenant without operational endpoints makes it a no-op. eventID, when not
// empty, de-duplicates: a second event with the same id is dropped (nil
// error), so that workers racing to the same conclusion (two failing
// deliveries that both disable their endpoint) send one event. Main passes
// worker.OperationalSender; implementations must be safe for concurrent
// use.
type Sender interface {
	SendOperational(ctx context.Context, tenantID, eventType, eventID string, payload []byte) error
}

// Store is what the notifier reads to describe what happened (package
// store implements it).
type Store interface {
	SystemApplication(ctx context.Context, tenantID string) (tenants.Application, error)
	FindApplication(ctx context.Context, tenantID, ref string) (tenants.Application, error)
	FindMessage(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error)
	FindEndpoint(ctx context.Context, tenantID, appID, ref string) (tenants.Endpoint, error)
}

// DefaultFailingAfter is N in "message.attempt.failing is sent after the
// Nth consecutive failed attempt of a message to an endpoint", as in Svix
// (the fourth failure).
const DefaultFailingAfter = 4

// Options shape a Notifier; the zero value means the defaults.
type Options struct {
	// FailingAfter is the failed attempt of a delivery that sends
	// message.attempt.failing; 0 means DefaultFailingAfter.
	FailingAfter int
}

// Notifier turns what happened (an endpoint changed, an attempt was
// recorded) into operational events. It is safe for concurrent use; a nil
// *Notifier sends nothing. Its methods never fail the caller: an event that cannot be sent is logged
// and dropped (operational events are notices, not the tenant's data).
type Notifier struct {
	store        Store
	send         Sender
	log          *slog.Logger
	failingAfter int
}

// NewNotifier returns a Notifier sending through send.
func NewNotifier(store Store, send Sender, log *slog.Logger, o Options) *Notifier {
	if o.FailingAfter <= 0 {
		o.FailingAfter = DefaultFailingAfter
	}
	return &Notifier{store: store, send: send, log: log, failingAfter: o.FailingAfter}
}

// FailingAfter reports the failed attempt that sends
// message.attempt.failing.
func (n *Notifier) FailingAfter() int { return n.failingAfter }

// Endpoint sends an endpoint.* event about ep, an endpoint of app.
// trigger is set for endpoint.disabled only (TriggerManual when a user
// disabled it). Endpoints of the system application make no events.
func (n *Notifier) Endpoint(ctx context.Context, eventType string, app tenants.Application, ep tenants.Endpoint, trigger string) {
	if n == nil || app.System {
		return
	}
	d := EndpointData{AppID: app.ID, AppUID: app.UID, EndpointID: ep.ID, EndpointUID: ep.UID, Trigger: trigger}
	if eventType == EndpointDisabled {
		d.FailSince = ep.FailingSince
	}
	n.emit(ctx, app.TenantID, eventType, "", d)
}

// AttemptRecorded is the worker's hook, called after each attempt is on
// record. It sends, for scheduled deliveries of the tenant's ordinary
// applications:
//   - message.attempt.failing on the FailingAfter-th failed attempt,
//   - message.attempt.exhausted when a delivery fails for good,
//   - message.attempt.recovered when a delivery that sent "failing" succeeds,
//   - endpoint.disabled (trigger automatic) when the attempt disabled its
//     endpoint.
//
// Attempts to operational endpoints make no events (no loops).
func (n *Notifier) AttemptRecorded(ctx context.Context, job *tenants.DeliveryJob, res tenants.AttemptResult) {
	if job.Trigger != tenants.TriggerScheduled {
		return
	}
	nth := job.Attempts + 1
	failed := res.Attempt.Status != tenants.StatusSuccess
	var types []string
	switch {
	case failed && nth == n.failingAfter:
		types = append(types, MessageAttemptFailing)
	case !failed && nth > n.failingAfter:
		types = append(types, MessageAttemptRecovered)
	}
	if failed && res.Status == tenants.StatusFail {
		types = append(types, MessageAttemptExhausted)
	}
	disabled := res.Health == tenants.HealthDisable
	if len(types) == 0 && !disabled {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := n.store.SystemApplication(ctx, job.TenantID); err != nil {
		return // no operational endpoints (or no answer): nobody to tell
	}
	app, err := n.store.FindApplication(ctx, job.TenantID, job.AppID)
	if err != nil {
		return // the system application itself, or an application deleted meanwhile
	}
	for _, t := range types {
		d := AttemptData{
			AppID: app.ID, AppUID: app.UID, EndpointID: job.EndpointID, MsgID: job.MsgID,
			LastAttempt: LastAttempt{ID: res.Attempt.ID, ResponseStatusCode: res.Attempt.StatusCode, Timestamp: res.Attempt.CreatedAt.UTC()},
		}
		if m, err := n.store.FindMessage(ctx, job.TenantID, job.AppID, job.MsgID); err == nil {
			d.MsgEventID = m.EventID
		}
		n.emit(ctx, job.TenantID, t, t+"."+strconv.FormatInt(job.ID, 10), d)
	}
	if disabled {
		ep := tenants.Endpoint{ID: job.EndpointID, FailingSince: job.FailingSince}
		if e, err := n.store.FindEndpoint(ctx, job.TenantID, job.AppID, job.EndpointID); err == nil {
			ep.UID = e.UID
		}
		d := EndpointData{AppID: app.ID, AppUID: app.UID, EndpointID: ep.ID, EndpointUID: ep.UID, FailSince: ep.FailingSince, Trigger: TriggerAutomatic}
		id := EndpointDisabled + "." + job.EndpointID
		if ep.FailingSince != nil {
			id += "." + strconv.FormatInt(ep.FailingSince.UnixMicro(), 10)
		}
		n.emit(ctx, job.TenantID, EndpointDisabled, id, d)
	}
}

// LaneThrottled is the worker's hook (worker.LaneEvents): endpointID's
// lane has allowed one attempt at a time since since. It sends
// endpoint.throttled, once per stretch (the event id carries since).
func (n *Notifier) LaneThrottled(ctx context.Context, tenantID, appID, endpointID string, since time.Time) {
	if n == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := n.store.SystemApplication(ctx, tenantID); err != nil {
		return // no operational endpoints (or no answer): nobody to tell
	}
	app, err := n.store.FindApplication(ctx, tenantID, appID)
	if err != nil || app.System {
		return // deleted meanwhile, or the system application's own endpoint
	}
	d := ThrottledData{AppID: app.ID, AppUID: app.UID, EndpointID: endpointID, Since: since.UTC()}
	if e, err := n.store.FindEndpoint(ctx, tenantID, appID, endpointID); err == nil {
		d.EndpointUID = e.UID
		if e.MaxConcurrency != nil {
			d.Cap = *e.MaxConcurrency
		}
	}
	n.emit(ctx, tenantID, EndpointThrottled, EndpointThrottled+"."+endpointID+"."+strconv.FormatInt(since.UnixMilli(), 10), d)
}

// TaskFinished sends background_task.finished.
func (n *Notifier) TaskFinished(ctx context.Context, tenantID string, d TaskData) {
	if n == nil {
		return
	}
	n.emit(ctx, tenantID, BackgroundTaskFinished, BackgroundTaskFinished+"."+d.TaskID, d)
}

func (n *Notifier) emit(ctx context.Context, tenantID, eventType, eventID string, data any) {
	body, err := Payload(eventType, data)
	if err == nil {
		err = n.send.SendOperational(context.WithoutCancel(ctx), tenantID, eventType, eventID, body)
	}
	if err != nil {
		n.log.WarnContext(ctx, "operational event not sent", "tenant_id", tenantID, "event_type", eventType,
			"err", fmt.Errorf("send %s: %w", eventType, err))
	}
}
