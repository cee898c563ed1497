package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
)

// OperationalSender creates operational events as messages of the tenant's
// system application, through the same store call and enqueue as the
// ingest path's single-message write (ingester.write), so they are stored
// before delivery, swept if Redis misses them, signed, retried and
// recorded like any message. It is the one adapter between package
// operational and message creation; safe for concurrent use.
type OperationalSender struct {
	store    *tenants.Store
	dispatch *dispatcher
}

// NewOperationalSender returns a sender that stores events in store and
// hands their deliveries to enq (nil leaves them to the sweeper).
func NewOperationalSender(store *tenants.Store, enq Enqueuer) *OperationalSender {
	return &OperationalSender{store: store, dispatch: &dispatcher{enq: enq}}
}

var _ operational.Sender = (*OperationalSender)(nil)

// SendOperational implements operational.Sender. A tenant without a system
// application has no operational endpoints: nothing is stored. A duplicate
// eventID is dropped. An enqueue failure is not an error: the event is
// stored and the sweeper delivers it.
func (o *OperationalSender) SendOperational(ctx context.Context, tenantID, eventType, eventID string, payload []byte) error {
	app, err := o.store.SystemApplication(ctx, tenantID)
	if errors.Is(err, tenants.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	in := tenants.MessageInput{EventType: eventType, Payload: payload}
	if eventID != "" {
		in.EventID = &eventID
	}
	m, ds, err := o.store.CreateMessageDeliveries(ctx, tenantID, app.ID, in)
	if errors.Is(err, tenants.ErrConflict) && eventID != "" {
		return nil // sent already
	}
	if err != nil {
		return fmt.Errorf("create operational message: %w", err)
	}
	_ = o.dispatch.dispatchMessage(ctx, m, ds)
	return nil
}
