package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// Store is what the outbox writes and reads in PostgreSQL (package store
// implements it).
type Store interface {
	CreateMessages(ctx context.Context, specs []tenants.MessageSpec) ([]tenants.CreatedMessage, error)
	FindIdempotentMessage(ctx context.Context, key []byte) (tenants.IdempotentMessage, error)
	FindMessage(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error)
}

// Options shape the ingest side. The zero value means the production
// defaults.
type Options struct {
	// Ingest shapes the ingest batcher (default: 4 writers, batches of up
	// to 128, 1,024 messages queued before the outbox answers overloaded).
	Ingest batch.Options
}

// Deps are the outbox's collaborators.
type Deps struct {
	Store Store
	// Workers takes committed deliveries (worker.Worker.Dispatcher in a
	// process that runs a worker, worker.NewDispatcher otherwise).
	Workers *worker.Dispatcher
	Log     *slog.Logger
	// Tracer records an "enqueue deliveries" span per message, parent of
	// its delivery attempts; nil means no tracing.
	Tracer trace.TracerProvider
}

// Outbox accepts messages and hands their deliveries to the workers after
// commit. Create it with New; it is safe for concurrent use. Close it after
// the API stops.
type Outbox struct {
	store   Store
	workers *worker.Dispatcher
	log     *slog.Logger
	tracer  trace.Tracer
	// enqueueSpan starts a hand-over's span; made once (an option is a
	// closure, and the variadic slice another allocation).
	enqueueSpan []trace.SpanStartOption
	ingest      *batch.Batcher[Submission, Accepted]
}

// Submission is one validated message to accept.
type Submission struct {
	TenantID string
	// AppID is the application's id, or empty: then AppRef (its id or
	// uid) is resolved where the message is stored, and a ref naming no
	// live application fails the submission with tenants.ErrNotFound.
	AppID  string
	AppRef string
	// WithConfig asks the store for the endpoints' sending configuration
	// along with the deliveries, for the worker (the application is new to
	// the submitter, so its endpoints are likely new to the worker too);
	// ignored when this process runs no worker.
	WithConfig bool
	Input      tenants.MessageInput
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
	ob := &Outbox{store: d.Store, workers: d.Workers, log: d.Log, tracer: d.Tracer.Tracer("hookline/outbox"),
		enqueueSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}}
	ob.ingest = batch.New(o.Ingest, ob.writeMessages)
	return ob
}

// Accept stores a message with its deliveries and idempotency claim, and
// returns once they are committed (and handed to the workers, or left to
// the sweeper). Errors: tenants.ErrOverloaded when too many messages are
// queued, or after Close (nothing stored), ErrIdempotencyMismatch for a
// reused key with another body, tenants.ErrConflict for a duplicate
// eventId, tenants.ErrUnavailable when PostgreSQL is down (nothing
// stored).
func (o *Outbox) Accept(ctx context.Context, s Submission) (Accepted, error) {
	s.origin = ctx
	acc, err := o.ingest.Do(ctx, s)
	if errors.Is(err, batch.ErrBusy) || errors.Is(err, batch.ErrClosed) {
		// Backpressure: nothing was stored, and the client's retry (the
		// Svix SDKs retry 5xx answers) comes after Retry-After.
		return Accepted{}, fmt.Errorf("%w: %w", tenants.ErrOverloaded, err)
	}
	return acc, err
}

// Enqueue hands existing deliveries of one tenant to one endpoint
// (resends, recoveries) to the workers after the caller committed them. A
// failure is returned for the log, but loses nothing: the sweeper admits
// what is pending in PostgreSQL.
func (o *Outbox) Enqueue(ctx context.Context, tenantID, endpointID string, ids []int64) error {
	return o.workers.DispatchDeliveries(ctx, tenantID, endpointID, ids)
}

// QueueLen returns how many messages wait for an ingest writer.
func (o *Outbox) QueueLen() int { return o.ingest.Len() }

// Close stops the ingest writers once queued messages are written; later
// Accepts fail with tenants.ErrOverloaded.
func (o *Outbox) Close() { o.ingest.Close() }

// keyGroup is the submissions of one batch that carry the same idempotency
// key (a client's retry racing its first try), or one submission without a
// key: the first, the leader, carries the claim to the database; the
// others are answered with the message the key holds.
type keyGroup struct {
	spec    tenants.MessageSpec
	members []int // indexes into the batch; members[0] is the leader
}

func (o *Outbox) groupByKey(subs []Submission) []keyGroup {
	keeps := o.workers.KeepsConfigs()
	groups := make([]keyGroup, 0, len(subs))
	// Each group's members start as a one-element slice of idx, full to
	// capacity (a second member copies it out): one allocation a batch.
	idx := make([]int, len(subs))
	var byKey map[[sha256.Size]byte]int // made at the first key
	for i, s := range subs {
		idx[i] = i
		g := keyGroup{spec: tenants.MessageSpec{TenantID: s.TenantID, AppID: s.AppID, AppRef: s.AppRef, WithConfig: s.WithConfig && keeps, In: s.Input}, members: idx[i : i+1 : i+1]}
		if s.Idempotency != nil {
			key := IdempotencyKey(s.TenantID, s.Idempotency.Route, s.Idempotency.Key)
			k := [sha256.Size]byte(key)
			if byKey == nil {
				byKey = make(map[[sha256.Size]byte]int, len(subs)-i)
			}
			if gi, ok := byKey[k]; ok {
				groups[gi].members = append(groups[gi].members, i)
				continue
			}
			byKey[k] = len(groups)
			g.spec.Claim = &tenants.IdempotencyClaim{Key: key, Fingerprint: Fingerprint(s.Idempotency.Body), TTL: IdempotencyTTL}
		}
		groups = append(groups, g)
	}
	return groups
}

// create writes the groups' leaders in one statement; when one of them
// spoils the batch (a duplicate eventId), it writes them one by one so
// that each gets its own answer.
func (o *Outbox) create(ctx context.Context, groups []keyGroup) ([]tenants.CreatedMessage, []error) {
	specs := make([]tenants.MessageSpec, len(groups))
	for i, g := range groups {
		specs[i] = g.spec
	}
	errs := make([]error, len(groups))
	created, err := o.store.CreateMessages(ctx, specs)
	switch {
	case err == nil:
	case len(specs) == 1 || errors.Is(err, tenants.ErrUnavailable):
		for i := range errs {
			errs[i] = err
		}
		created = make([]tenants.CreatedMessage, len(specs))
	default:
		created = make([]tenants.CreatedMessage, len(specs))
		for i := range specs {
			c, err := o.store.CreateMessages(ctx, specs[i:i+1])
			if err != nil {
				errs[i] = err
				continue
			}
			created[i] = c[0]
		}
	}
	return created, errs
}

// writeMessages is the ingest batcher's write: one statement for the
// batch, then one hand-over of all its deliveries to the workers, then
// the answers of repeated idempotency keys.
func (o *Outbox) writeMessages(ctx context.Context, subs []Submission, out []Accepted, errs []error) {
	groups := o.groupByKey(subs)
	created, gerrs := o.create(ctx, groups)
	var (
		fresh   []tenants.CreatedMessage
		origins []context.Context
		spans   []trace.Span
		leaders []int
	)
	for gi, g := range groups {
		l := g.members[0]
		switch {
		case gerrs[gi] != nil:
			for _, i := range g.members {
				errs[i] = gerrs[gi]
			}
		case created[gi].Missing:
			gerrs[gi] = fmt.Errorf("application %s: %w", subs[l].AppRef, tenants.ErrNotFound)
			for _, i := range g.members {
				errs[i] = gerrs[gi]
			}
		case created[gi].Duplicate:
			// The key was claimed before this batch: answered below.
		default:
			out[l].Message = created[gi].Message
			if n := len(created[gi].Deliveries); n > 0 {
				origin, span := o.startEnqueue(subs[l].origin, n)
				fresh, origins = append(fresh, created[gi]), append(origins, origin)
				spans, leaders = append(spans, span), append(leaders, l)
			}
		}
	}
	err := o.workers.DispatchMessages(ctx, fresh, origins)
	for k, l := range leaders {
		if err != nil {
			out[l].EnqueueErr = err
			spans[k].SetStatus(codes.Error, "enqueue failed")
		}
		spans[k].End()
	}
	for gi, g := range groups {
		if gerrs[gi] != nil {
			continue
		}
		for j, i := range g.members {
			if j == 0 && !created[gi].Duplicate {
				continue
			}
			if subs[i].AppID == "" {
				subs[i].AppID = created[gi].Message.AppID
			}
			out[i], errs[i] = o.replay(ctx, subs[i], g.spec.Claim)
		}
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
			acc.EnqueueErr = o.workers.DispatchMessages(ctx, res, []context.Context{octx})
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
	ctx, span := o.tracer.Start(ctx, "enqueue deliveries", o.enqueueSpan...)
	if span.IsRecording() { // attributes cost allocations even when dropped
		span.SetAttributes(attribute.Int("hookline.deliveries", deliveries))
	}
	return ctx, span
}
