package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
)

// OperationalSender creates operational events as messages of the tenant's
// system application through the outbox, the entry point of every message:
// they are committed before delivery, handed to the workers, swept if
// Redis misses them, signed, retried and recorded like any message. It is
// the one adapter between package operational and message creation; safe
// for concurrent use.
type OperationalSender struct {
	store  *tenants.Store
	outbox *outbox.Outbox
}

// NewOperationalSender returns a sender that stores events through ob.
func NewOperationalSender(store *tenants.Store, ob *outbox.Outbox) *OperationalSender {
	return &OperationalSender{store: store, outbox: ob}
}

var _ operational.Sender = (*OperationalSender)(nil)

// SendOperational implements operational.Sender. A tenant without a system
// application has no operational endpoints: nothing is stored. A duplicate
// eventID is dropped. An enqueue failure is not an error: the event is
// committed and the sweeper delivers it.
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
	_, err = o.outbox.Accept(ctx, outbox.Submission{TenantID: tenantID, AppID: app.ID, Input: in})
	if errors.Is(err, tenants.ErrConflict) && eventID != "" {
		return nil // sent already
	}
	if err != nil {
		return fmt.Errorf("create operational message: %w", err)
	}
	return nil
}
