package operational

import (
	"context"

	"github.com/hookline/hookline/tenants"
)

// DestinationDisabled is the worker's hook (worker.DestinationEvents): a
// FIFO or RabbitMQ destination's batch exhausted its retries and the
// destination is disabled, as Svix does. It sends endpoint.disabled
// (trigger automatic) with the destination's id as the endpoint's, once
// per batch (the event id carries it).
func (n *Notifier) DestinationDisabled(ctx context.Context, d tenants.Destination, batchID string) {
	if n == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := n.store.SystemApplication(ctx, d.TenantID); err != nil {
		return // no operational endpoints (or no answer): nobody to tell
	}
	app, err := n.store.FindApplication(ctx, d.TenantID, d.AppID)
	if err != nil || app.System {
		return
	}
	data := EndpointData{AppID: app.ID, AppUID: app.UID, EndpointID: d.ID, EndpointUID: d.UID, Trigger: TriggerAutomatic}
	n.emit(ctx, d.TenantID, EndpointDisabled, EndpointDisabled+"."+d.ID+"."+batchID, data)
}
