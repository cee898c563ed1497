package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/tenants"
)

// Task types.
const (
	// TypeDeliver is the asynq task of a delivery in versions before
	// lanes. Such tasks, left in Redis by an upgrade, are dropped on
	// sight: their deliveries are pending in PostgreSQL, and the sweeper
	// admits them into their lanes.
	TypeDeliver = "webhook:deliver"
)

// Client puts deliveries into their lanes (lanes.go), for any process: the
// API's, a worker's, a command's. It is safe for concurrent use.
type Client struct {
	lanes  *lanes
	redis  redis.UniversalClient
	queue  string
	tracer trace.Tracer
	// weight, when set, is each tenant's share of the workers (by plan).
	weight func(ctx context.Context, tenantID string) int
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTracer records a span per admission, so one trace runs from the API
// request to the receiver.
func WithTracer(tp trace.TracerProvider) ClientOption {
	return func(c *Client) {
		if tp != nil {
			c.tracer = tp.Tracer("hookline/worker")
		}
	}
}

// WithWeights gives each tenant's lanes a share of the workers: a tenant
// of weight 2 is served twice as often as one of weight 1 while both have
// work waiting. weight is called once per admission batch and tenant; it
// should be quick (cached), and 0 or less means 1.
func WithWeights(weight func(ctx context.Context, tenantID string) int) ClientOption {
	return func(c *Client) { c.weight = weight }
}

// NewClient returns a Client of queue's lanes over rc (which it does not
// close). deliveryTimeout bounds one attempt: a slot's lease is twice it.
func NewClient(rc redis.UniversalClient, queue string, deliveryTimeout time.Duration, opts ...ClientOption) *Client {
	if deliveryTimeout <= 0 {
		deliveryTimeout = DefaultDeliveryTimeout
	}
	c := &Client{lanes: newLanes(rc, queue, max(2*deliveryTimeout, 5*time.Second)), redis: rc, queue: queue,
		tracer: noop.NewTracerProvider().Tracer("")}
	for _, o := range opts {
		o(c)
	}
	return c
}

// EnqueueDeliveries admits existing deliveries of one tenant, all to
// endpointID, due now (resends, recoveries), in one round trip. A delivery
// already in its lane is left as it is. Failures are returned but never
// lose a delivery: each is durable in PostgreSQL and the sweeper admits
// what could not be admitted here.
func (c *Client) EnqueueDeliveries(ctx context.Context, tenantID, endpointID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, span := c.tracer.Start(ctx, "enqueue deliveries", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("hookline.deliveries", len(ids)), attribute.String("messaging.destination.name", c.queue)))
	defer span.End()
	now := time.Now()
	w := c.weightOf(ctx, tenantID)
	ops := make([]admitOp, len(ids))
	for i, id := range ids {
		ops[i] = admitOp{ID: id, EndpointID: endpointID, TenantID: tenantID, Due: now, Weight: w}
	}
	if _, err := c.lanes.admit(ctx, ops); err != nil {
		span.SetStatus(codes.Error, "enqueue failed")
		return fmt.Errorf("enqueue %d deliveries: %w", len(ids), err)
	}
	return nil
}

// admitDue admits deliveries the sweeper found missing from their lanes,
// each due at its time.
func (c *Client) admitDue(ctx context.Context, ds []tenants.DueDelivery) error {
	ops := make([]admitOp, len(ds))
	weights := map[string]int{}
	for i, d := range ds {
		w, ok := weights[d.TenantID]
		if !ok {
			w = c.weightOf(ctx, d.TenantID)
			weights[d.TenantID] = w
		}
		ops[i] = admitOp{ID: d.ID, EndpointID: d.EndpointID, TenantID: d.TenantID, Due: d.NextAttemptAt, Weight: w}
	}
	_, err := c.lanes.admit(ctx, ops)
	return err
}

func (c *Client) weightOf(ctx context.Context, tenantID string) int {
	if c.weight == nil {
		return 0
	}
	return c.weight(ctx, tenantID)
}
