package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
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

// deliverPayload is the task body: ids only, never the webhook payload,
// so a backlog of a million deliveries stays small in Redis.
func deliverPayload(tenantID string, deliveryID int64) []byte {
	return []byte(tenantID + ":" + strconv.FormatInt(deliveryID, 10))
}

func parseDeliverPayload(b []byte) (tenantID string, deliveryID int64, err error) {
	t, d, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", 0, fmt.Errorf("malformed deliver task payload %q", b)
	}
	id, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
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
}

// NewClient returns a Client on queue over rc (which it does not close).
// deliveryTimeout bounds one HTTP attempt; tasks get a little more.
func NewClient(rc redis.UniversalClient, queue string, deliveryTimeout time.Duration) *Client {
	return &Client{asynq: asynq.NewClientFromRedisClient(rc), redis: rc, queue: queue, timeout: deliveryTimeout + time.Minute}
}

func (c *Client) enqueue(ctx context.Context, tenantID string, id int64, at time.Time) error {
	opts := []asynq.Option{
		asynq.Queue(c.queue), asynq.TaskID(taskID(id)), asynq.MaxRetry(maxTaskRetry), asynq.Timeout(c.timeout),
	}
	if !at.IsZero() && time.Until(at) > 0 {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err := c.asynq.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, deliverPayload(tenantID, id)), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already queued, running, or scheduled for retry
	}
	if err != nil {
		return fmt.Errorf("enqueue delivery %d: %w", id, err)
	}
	return nil
}

// EnqueueDeliveries queues deliveries of one tenant for immediate attempt.
// Failures are returned but never lose a delivery: each is durable in
// PostgreSQL and the sweeper enqueues what could not be enqueued here.
func (c *Client) EnqueueDeliveries(ctx context.Context, tenantID string, ids []int64) error {
	var errs []error
	for _, id := range ids {
		if err := c.enqueue(ctx, tenantID, id, time.Time{}); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

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

// Close releases the asynq client (not the shared Redis connection).
func (c *Client) Close() error { return nil }
