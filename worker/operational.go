package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/tenants"
)

// OperationalSender creates operational events (package operational) as
// messages of the tenant's hidden system application, and dispatches them
// to the workers like any message: committed before delivery, swept if
// Redis misses them, signed, retried and recorded. The events come from
// the worker itself (an attempt exhausted its retries, an endpoint was
// disabled) and from the API (an endpoint changed); both create them here,
// in one statement per batch of events (group commit), not through the
// API. Safe for concurrent use; stop it with Close.
type OperationalSender struct {
	store Store
	out   *Dispatcher
	log   *slog.Logger
	b     *batch.Batcher[tenants.MessageSpec, struct{}]
}

// NewOperationalSender returns a sender that stores events in store and
// hands their deliveries to out.
func NewOperationalSender(store Store, out *Dispatcher, log *slog.Logger) *OperationalSender {
	o := &OperationalSender{store: store, out: out, log: log}
	o.b = batch.New(batch.Options{Writers: 1, MaxBatch: 64}, o.write)
	return o
}

// SendOperational implements operational.Sender: a tenant without a system
// application has no operational endpoints, so nothing is stored; a
// duplicate eventID is dropped (sent already). A failed dispatch is not an
// error: the event is committed and the sweeper delivers it.
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
	_, err = o.b.Do(ctx, tenants.MessageSpec{TenantID: tenantID, AppID: app.ID, In: in})
	if err != nil {
		return fmt.Errorf("create operational message: %w", err)
	}
	return nil
}

// Close writes what is queued and stops; later sends fail.
func (o *OperationalSender) Close() { o.b.Close() }

func (o *OperationalSender) write(ctx context.Context, specs []tenants.MessageSpec, _ []struct{}, errs []error) {
	created, err := o.store.CreateMessages(ctx, specs)
	if err != nil && len(specs) > 1 && !errors.Is(err, tenants.ErrUnavailable) {
		// One event spoiled the batch (a duplicate eventId): write them
		// one by one, so that each gets its own answer.
		created = make([]tenants.CreatedMessage, 0, len(specs))
		for i := range specs {
			c, err := o.store.CreateMessages(ctx, specs[i:i+1])
			if err != nil {
				errs[i] = dropDuplicate(err)
				continue
			}
			created = append(created, c...)
		}
	} else if err != nil {
		for i := range errs {
			errs[i] = dropDuplicate(err)
		}
		return
	}
	if err := o.out.DispatchMessages(ctx, created, nil); err != nil {
		o.log.DebugContext(ctx, "operational events committed but not queued; the sweeper will", "err", err)
	}
}

// dropDuplicate turns a duplicate eventId (the event was sent already: two
// workers reached the same conclusion) into success.
func dropDuplicate(err error) error {
	if errors.Is(err, tenants.ErrConflict) {
		return nil
	}
	return err
}
