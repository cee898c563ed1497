package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/tenants"
)

// Options shape the ingest side. The zero value means the production
// defaults.
type Options struct {
	// Ingest shapes the ingest batcher (default: 4 writers, batches of up
	// to 128, 1,024 messages queued before ErrBusy).
	Ingest BatcherOptions
}

// Deps are the outbox's collaborators.
type Deps struct {
	Store *tenants.Store
	// Enqueuer queues committed deliveries in Redis; nil leaves them to
	// the sweeper.
	Enqueuer Enqueuer
	// Handoff, shared with the worker of the same process, spares first
	// attempts a database read; nil hands nothing over.
	Handoff *Handoff
	Log     *slog.Logger
	// Tracer records an "enqueue deliveries" span per message, parent of
	// its delivery attempts; nil means no tracing.
	Tracer trace.TracerProvider
}

// Outbox accepts messages and enqueues deliveries after commit. Create it
// with New; it is safe for concurrent use. Close it after the API stops.
type Outbox struct {
	store    *tenants.Store
	dispatch *dispatcher
	handoff  *Handoff
	log      *slog.Logger
	tracer   trace.Tracer
	ingest   *Batcher[Submission, Accepted]
}

// Submission is one validated message to accept.
type Submission struct {
	TenantID string
	AppID    string
	Input    tenants.MessageInput
	// Idempotency, when set, makes a repeat of the same request (same
	// tenant, route, key and body) answer with the first one's message.
	Idempotency *Idempotency
	// origin is the submitting request's context (trace, request id),
	// carried into the delivery tasks.
	origin context.Context
}

// Accepted is the outcome of a Submission.
type Accepted struct {
	Message tenants.Message
	// Replayed is set when an earlier request with the same idempotency
	// key created Message; nothing new was stored.
	Replayed bool
	// EnqueueErr, when set, says the deliveries are committed but could
	// not be queued in Redis: the sweeper will queue them (for the log).
	EnqueueErr error
}

// New builds an Outbox and starts its ingest writers.
func New(d Deps, o Options) *Outbox {
	if o.Ingest.Queue <= 0 {
		o.Ingest.Queue = 1024
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider()
	}
	ob := &Outbox{store: d.Store, dispatch: &dispatcher{enq: d.Enqueuer}, handoff: d.Handoff, log: d.Log,
		tracer: d.Tracer.Tracer("hookline/outbox")}
	ob.ingest = NewBatcher(o.Ingest, ob.writeMessages)
	return ob
}

// Accept stores a message with its deliveries and idempotency claim, and
// returns once they are committed (and enqueued, or left to the sweeper).
// Errors: ErrBusy when too many messages are queued (nothing stored),
// ErrClosed after Close, ErrIdempotencyMismatch for a reused key with
// another body, tenants.ErrConflict for a duplicate eventId,
// tenants.ErrUnavailable when PostgreSQL is down (nothing stored).
func (o *Outbox) Accept(ctx context.Context, s Submission) (Accepted, error) {
	s.origin = ctx
	return o.ingest.Do(ctx, s)
}

// Enqueue queues existing deliveries of one tenant (resends, recoveries)
// after the caller committed them. A failure is returned for the log, but
// loses nothing: the sweeper enqueues what is pending in PostgreSQL.
func (o *Outbox) Enqueue(ctx context.Context, tenantID string, ids []int64) error {
	return o.dispatch.deliveries(ctx, tenantID, ids)
}

// QueueLen returns how many messages wait for an ingest writer.
func (o *Outbox) QueueLen() int { return o.ingest.Len() }

// Close stops the ingest writers once queued messages are written; later
// Accepts fail with ErrClosed.
func (o *Outbox) Close() { o.ingest.Close() }

// writeMessages is the ingest batcher's write: one statement for the
// batch, then the handoff and one Redis round trip for all its deliveries.
func (o *Outbox) writeMessages(ctx context.Context, subs []Submission, out []Accepted, errs []error) {
	specs := make([]tenants.MessageSpec, len(subs))
	// A key may appear twice in one batch (a client's retry racing its
	// first try): the first carries the claim, the others follow it.
	leader := make([]int, len(subs))
	keys := map[string]int{}
	for i, s := range subs {
		leader[i] = i
		specs[i] = tenants.MessageSpec{TenantID: s.TenantID, AppID: s.AppID, In: s.Input}
		if s.Idempotency == nil {
			continue
		}
		key := IdempotencyKey(s.TenantID, s.Idempotency.Route, s.Idempotency.Key)
		if l, ok := keys[string(key)]; ok {
			leader[i] = l
			continue
		}
		keys[string(key)] = i
		specs[i].Claim = &tenants.IdempotencyClaim{Key: key, Fingerprint: Fingerprint(s.Idempotency.Body), TTL: IdempotencyTTL}
	}
	own := make([]int, 0, len(specs)) // the specs that go to the database
	for i := range specs {
		if leader[i] == i {
			own = append(own, i)
		}
	}
	batch := make([]tenants.MessageSpec, len(own))
	for j, i := range own {
		batch[j] = specs[i]
	}
	created, err := o.store.CreateMessages(ctx, batch)
	results := make([]tenants.CreatedMessage, len(specs))
	switch {
	case err == nil:
		for j, i := range own {
			results[i] = created[j]
		}
	case len(own) == 1 || errors.Is(err, tenants.ErrUnavailable):
		for _, i := range own {
			errs[i] = err
		}
	default:
		// One message spoiled the batch (a duplicate eventId): write them
		// one by one, so each gets its own answer.
		for _, i := range own {
			c, err := o.store.CreateMessages(ctx, specs[i:i+1])
			if err != nil {
				errs[i] = err
				continue
			}
			results[i] = c[0]
		}
	}
	var (
		fresh   []tenants.CreatedMessage
		origins []context.Context
		queued  []int
	)
	for i := range specs {
		l := leader[i]
		switch {
		case errs[l] != nil:
			errs[i] = errs[l]
		case l != i || results[i].Duplicate:
			// Answered below, once the batch is committed and enqueued.
		default:
			out[i].Message = results[i].Message
			if len(results[i].Deliveries) > 0 {
				fresh = append(fresh, results[i])
				origins = append(origins, subs[i].origin)
				queued = append(queued, i)
			}
		}
	}
	spans := make([]trace.Span, len(fresh))
	var direct Direct
	for k, c := range fresh {
		origins[k], spans[k] = o.startEnqueue(origins[k], len(c.Deliveries))
		o.handoff.Put(origins[k], jobsOf(c.Message, c.Deliveries), &direct)
	}
	err = o.dispatch.messages(ctx, fresh, origins, &direct)
	direct.Start()
	for k, i := range queued {
		if err != nil {
			out[i].EnqueueErr = err
			spans[k].SetStatus(codes.Error, "enqueue failed")
		}
		spans[k].End()
	}
	for i := range specs {
		l := leader[i]
		if errs[i] != nil || (l == i && !results[i].Duplicate) {
			continue
		}
		out[i], errs[i] = o.replay(ctx, subs[i], specs[l].Claim)
	}
}

// replay answers a repeat of an idempotent request with the message the
// first one created.
func (o *Outbox) replay(ctx context.Context, s Submission, claim *tenants.IdempotencyClaim) (Accepted, error) {
	c, err := o.store.FindIdempotentMessage(ctx, claim.Key)
	if errors.Is(err, tenants.ErrNotFound) {
		// The claim expired between the statement and this read (or its
		// request failed and rolled back): this one is a new request.
		res, err := o.store.CreateMessages(ctx, []tenants.MessageSpec{{TenantID: s.TenantID, AppID: s.AppID, In: s.Input, Claim: claim}})
		if err != nil {
			return Accepted{}, err
		}
		if res[0].Duplicate {
			return Accepted{}, fmt.Errorf("idempotency key claimed concurrently: %w", tenants.ErrConflict)
		}
		acc := Accepted{Message: res[0].Message}
		if len(res[0].Deliveries) > 0 {
			octx, span := o.startEnqueue(s.origin, len(res[0].Deliveries))
			var direct Direct
			o.handoff.Put(octx, jobsOf(res[0].Message, res[0].Deliveries), &direct)
			acc.EnqueueErr = o.dispatch.messages(ctx, res, []context.Context{octx}, &direct)
			direct.Start()
			span.End()
		}
		return acc, nil
	}
	if err != nil {
		return Accepted{}, err
	}
	if !bytes.Equal(c.Fingerprint, Fingerprint(s.Idempotency.Body)) {
		return Accepted{}, ErrIdempotencyMismatch
	}
	m, err := o.store.FindMessage(ctx, s.TenantID, s.AppID, c.MsgID)
	if err != nil {
		return Accepted{}, fmt.Errorf("replay idempotent message %s: %w", c.MsgID, err)
	}
	return Accepted{Message: m, Replayed: true}, nil
}

// startEnqueue begins the span of one message's hand-over to the workers:
// the parent of its delivery attempts, whether they begin in this process
// or come through Redis.
func (o *Outbox) startEnqueue(ctx context.Context, deliveries int) (context.Context, trace.Span) {
	return o.tracer.Start(ctx, "enqueue deliveries", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("hookline.deliveries", deliveries)))
}

// jobsOf builds the first-attempt jobs of a new message's deliveries.
func jobsOf(m tenants.Message, ds []tenants.NewDelivery) []tenants.DeliveryJob {
	jobs := make([]tenants.DeliveryJob, len(ds))
	for i, d := range ds {
		next := m.CreatedAt
		if m.DeliverAt != nil && m.DeliverAt.After(next) {
			next = *m.DeliverAt
		}
		jobs[i] = tenants.DeliveryJob{
			ID: d.ID, TenantID: m.TenantID, AppID: m.AppID, MsgID: m.ID, EndpointID: d.EndpointID,
			Trigger: tenants.TriggerScheduled, Status: tenants.StatusPending, NextAttemptAt: &next,
			EventType: m.EventType, Payload: m.Payload, MsgCreatedAt: m.CreatedAt,
			EndpointRevision: d.EndpointRevision, FailingSince: d.FailingSince,
		}
	}
	return jobs
}
