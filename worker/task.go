package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
)

// Task types.
const (
	TypeDeliver = "webhook:deliver"
)

// maxTaskRetry is asynq's retry budget per task. PostgreSQL counts the real
// tries; this only has to be larger than any schedule, and it lets
// postponements (throttling, open circuit) never exhaust a task.
const maxTaskRetry = 1 << 20

// taskID is the asynq task id of a delivery: one task per delivery, so
// enqueueing it twice is harmless.
func taskID(deliveryID int64) string { return "d" + strconv.FormatInt(deliveryID, 10) }

// deliverPayload is the task body: the delivery id in decimal, nothing
// else — not the webhook payload, not even the tenant — so that a backlog
// of a million deliveries stays small in Redis. The worker reads the rest
// from the delivery row.
func deliverPayload(deliveryID int64) []byte {
	return strconv.AppendInt(nil, deliveryID, 10)
}

// parseDeliverPayload reads a task body: "<id>", or "<tenant>:<id>" as
// written by earlier versions.
func parseDeliverPayload(b []byte) (tenantID string, deliveryID int64, err error) {
	t, d, ok := strings.Cut(string(b), ":")
	if !ok {
		t, d = "", t
	}
	id, err := strconv.ParseInt(d, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, fmt.Errorf("malformed deliver task payload %q", b)
	}
	return t, id, nil
}

// Client enqueues delivery tasks. It is safe for concurrent use.
type Client struct {
	asynq   *asynq.Client
	redis   redis.UniversalClient
	queue   string
	timeout time.Duration // per-task handler deadline
	// backupAfter is when the backup task of an attempt made in this
	// process comes due if the process has not settled it: twice the
	// delivery timeout, about the lease asynq gives a task it hands out.
	backupAfter time.Duration
	tracer      trace.Tracer
	registered  atomic.Int64 // when the queue was last registered (Unix ns)
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTracer records a span per enqueue and carries the trace context in
// each task, so one trace runs from the API request to the receiver.
func WithTracer(tp trace.TracerProvider) ClientOption {
	return func(c *Client) {
		if tp != nil {
			c.tracer = tp.Tracer("hookline/worker")
		}
	}
}

// NewClient returns a Client on queue over rc (which it does not close).
// deliveryTimeout bounds one HTTP attempt; tasks get a little more.
func NewClient(rc redis.UniversalClient, queue string, deliveryTimeout time.Duration, opts ...ClientOption) *Client {
	c := &Client{asynq: asynq.NewClientFromRedisClient(rc), redis: rc, queue: queue, timeout: deliveryTimeout + time.Minute,
		backupAfter: max(2*deliveryTimeout, time.Second), tracer: noop.NewTracerProvider().Tracer("")}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Task header names. Headers exist only when they carry something, to keep
// a large backlog small in Redis.
const headerRequestID = "request_id"

// taskHeaders carries the request id and trace context of ctx into a task.
func taskHeaders(ctx context.Context) map[string]string {
	var h map[string]string
	if id := telemetry.RequestID(ctx); id != "" {
		h = map[string]string{headerRequestID: id}
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		if h == nil {
			h = map[string]string{}
		}
		telemetry.Inject(ctx, h)
	}
	return h
}

func (c *Client) enqueue(ctx context.Context, tenantID string, id int64, at time.Time) error {
	opts := []asynq.Option{
		asynq.Queue(c.queue), asynq.TaskID(taskID(id)), asynq.MaxRetry(maxTaskRetry), asynq.Timeout(c.timeout),
	}
	if !at.IsZero() && time.Until(at) > 0 {
		opts = append(opts, asynq.ProcessAt(at))
	}
	task := asynq.NewTaskWithHeaders(TypeDeliver, deliverPayload(id), taskHeaders(ctx))
	_, err := c.asynq.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already queued, running, or scheduled for retry
	}
	if err != nil {
		return fmt.Errorf("enqueue delivery %d: %w", id, err)
	}
	return nil
}

// EnqueueDeliveries queues deliveries of one tenant for immediate attempt,
// all in one Redis round trip (see batch.go). An id already queued is
// skipped. Failures are returned but never lose a delivery: each is
// durable in PostgreSQL and the sweeper enqueues what could not be
// enqueued here.
func (c *Client) EnqueueDeliveries(ctx context.Context, tenantID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, span := c.tracer.Start(ctx, "enqueue deliveries", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("hookline.deliveries", len(ids)), attribute.String("messaging.destination.name", c.queue)))
	defer span.End()
	if _, err := c.enqueueBatch(ctx, tenantID, ids, taskHeaders(ctx)); err != nil {
		span.SetStatus(codes.Error, "enqueue failed")
		return err
	}
	return nil
}

// enqueueMessages queues the deliveries of many new messages — a group
// commit's worth — in one Redis round trip. origins[i] is the context of
// msgs[i]'s enqueue (the outbox's span): its trace and request id travel
// in that message's tasks. The deliveries in direct are attempted by this
// process's worker, which settles their tasks afterwards: they are
// enqueued as backups, scheduled backupAfter from now, so no worker polls
// them unless this process dies first (see direct.go).
func (c *Client) enqueueMessages(ctx context.Context, msgs []tenants.CreatedMessage, origins []context.Context, direct *directBatch) error {
	var tasks []taskSpec
	backupAt := time.Now().Add(c.backupAfter).Unix()
	for i, m := range msgs {
		if len(m.Deliveries) == 0 {
			continue
		}
		origin := ctx
		if i < len(origins) && origins[i] != nil {
			origin = origins[i]
		}
		h := taskHeaders(origin)
		if at := m.Message.DeliverAt; at != nil && time.Until(*at) > 0 {
			// Scheduled: asynq holds the task until then (and the sweeper
			// restores it from PostgreSQL if Redis forgets it).
			for _, d := range m.Deliveries {
				if err := c.enqueue(origin, m.Message.TenantID, d.ID, *at); err != nil {
					return err
				}
			}
			continue
		}
		for _, d := range m.Deliveries {
			t := taskSpec{tenantID: m.Message.TenantID, id: d.ID, headers: h}
			if direct.has(d.ID) {
				t.backupAt = backupAt
			}
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	_, err := c.enqueueTasks(ctx, tasks)
	return err
}

// scheduledKey is asynq's set of tasks due later, scored by Unix second.
func (c *Client) scheduledKey() string { return "asynq:{" + c.queue + "}:scheduled" }

// taskKey is where asynq keeps a task. The sweeper reads only whether it
// exists, in pipelined batches; if asynq ever changed this layout the
// sweeper would merely enqueue more (and be told the id is taken).
func (c *Client) taskKey(id int64) string {
	return "asynq:{" + c.queue + "}:t:" + taskID(id)
}

// missing returns the ids among ids that have no task in Redis, checked in
// one pipelined round trip.
func (c *Client) missing(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := c.redis.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, c.taskKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("check queued tasks: %w", err)
	}
	var out []int64
	for i, cmd := range cmds {
		if cmd.Val() == 0 {
			out = append(out, ids[i])
		}
	}
	return out, nil
}
