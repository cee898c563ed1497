package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
)

// Batch enqueueing.
//
// asynq's client enqueues one task per round trip. A message fanned out to
// fifty endpoints would pay fifty round trips before its 202, so Hookline
// enqueues a batch of delivery tasks with one Lua script in one round trip.
// The script does exactly what asynq's own enqueue script does for each
// task (skip an existing task id; store the encoded message as a hash in
// state "pending"; push the id onto the queue's pending list), and the
// message is encoded with asynq's protobuf schema (TaskMessage in
// asynq/internal/proto/asynq.proto). That couples this file to asynq's
// storage layout, which is why asynq is pinned in go.mod and
// TestBatchEnqueue_ProcessedByAsynq checks that asynq's server and
// inspector read these tasks as their own.

// enqueueBatchScript: KEYS[1] is the pending list, KEYS[2..] task keys;
// ARGV[1] is now in Unix nanoseconds, then for task i (from 1) ARGV[2i] is
// the encoded message and ARGV[2i+1] its id. Returns how many were added.
var enqueueBatchScript = redis.NewScript(`
local n = 0
for i = 2, #KEYS do
	if redis.call("EXISTS", KEYS[i]) == 0 then
		redis.call("HSET", KEYS[i], "msg", ARGV[2*(i-1)], "state", "pending", "pending_since", ARGV[1])
		redis.call("LPUSH", KEYS[1], ARGV[2*(i-1)+1])
		n = n + 1
	end
end
return n`)

// maxBatch bounds one script's size.
const maxBatch = 500

// encodeTaskMessage encodes the fields of asynq's TaskMessage that a fresh
// task carries: type (1), payload (2), id (3), queue (4), retry (5),
// timeout in seconds (8) and headers (15).
func encodeTaskMessage(typ string, payload []byte, id, queue string, retry int, timeout time.Duration, headers map[string]string) []byte {
	b := make([]byte, 0, 64+len(payload))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, typ)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, payload)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, queue)
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(retry))
	b = protowire.AppendTag(b, 8, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(int64(timeout.Seconds())))
	for k, v := range headers {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, v)
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

// taskSpec is one delivery task to enqueue.
type taskSpec struct {
	tenantID string
	id       int64
	headers  map[string]string
}

// enqueueBatch queues delivery tasks of one tenant for immediate attempt
// in one round trip per maxBatch tasks, and returns how many were new.
func (c *Client) enqueueBatch(ctx context.Context, tenantID string, ids []int64, headers map[string]string) (int, error) {
	tasks := make([]taskSpec, len(ids))
	for i, id := range ids {
		tasks[i] = taskSpec{tenantID: tenantID, id: id, headers: headers}
	}
	return c.enqueueTasks(ctx, tasks)
}

// enqueueTasks queues delivery tasks (of any tenants) for immediate attempt
// in one round trip per maxBatch tasks, and returns how many were new.
func (c *Client) enqueueTasks(ctx context.Context, tasks []taskSpec) (int, error) {
	added := 0
	for start := 0; start < len(tasks); start += maxBatch {
		chunk := tasks[start:min(start+maxBatch, len(tasks))]
		keys := make([]string, 0, len(chunk)+1)
		args := make([]any, 0, 2*len(chunk)+1)
		keys = append(keys, "asynq:{"+c.queue+"}:pending")
		args = append(args, time.Now().UnixNano())
		for _, t := range chunk {
			tid := taskID(t.id)
			keys = append(keys, c.taskKey(t.id))
			args = append(args, encodeTaskMessage(TypeDeliver, deliverPayload(t.id), tid, c.queue, maxTaskRetry, c.timeout, t.headers), tid)
		}
		// The queue is registered (for asynq's inspector) in the same round
		// trip, every time: it is cheap, and a Redis that lost its data
		// gets it back. The script runs by its hash; a Redis that does not
		// know it yet (first use, or a restart) is taught it once.
		var res *redis.Cmd
		for try := 0; ; try++ {
			pipe := c.redis.Pipeline()
			pipe.SAdd(ctx, "asynq:queues", c.queue)
			res = enqueueBatchScript.EvalSha(ctx, pipe, keys, args...)
			_, err := pipe.Exec(ctx)
			if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
				if err := enqueueBatchScript.Load(ctx, c.redis).Err(); err != nil {
					return added, fmt.Errorf("load enqueue script: %w", err)
				}
				continue
			}
			if err != nil {
				return added, fmt.Errorf("enqueue %d deliveries: %w", len(chunk), err)
			}
			break
		}
		n, err := res.Int()
		if err != nil {
			return added, fmt.Errorf("enqueue %d deliveries: %w", len(chunk), err)
		}
		added += n
	}
	return added, nil
}
