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

// enqueueBatchScript: KEYS[1] is the pending list, KEYS[2] the scheduled
// set, KEYS[3..] task keys; ARGV[1] is now in Unix nanoseconds, then for
// task i (from 1) ARGV[3i-1] is the encoded message, ARGV[3i] its id and
// ARGV[3i+1] "0" for a task due now or, for a backup task, the Unix second
// it is due (scheduled, as asynq's own schedule script stores it). Returns
// how many were added.
var enqueueBatchScript = redis.NewScript(`
local n = 0
for i = 3, #KEYS do
	local j = 3*(i-2) - 1
	if redis.call("EXISTS", KEYS[i]) == 0 then
		if ARGV[j+2] == "0" then
			redis.call("HSET", KEYS[i], "msg", ARGV[j], "state", "pending", "pending_since", ARGV[1])
			redis.call("LPUSH", KEYS[1], ARGV[j+1])
		else
			redis.call("HSET", KEYS[i], "msg", ARGV[j], "state", "scheduled")
			redis.call("ZADD", KEYS[2], ARGV[j+2], ARGV[j+1])
		end
		n = n + 1
	end
end
return n`)

// settleScript settles backup tasks once this process has made their
// attempts: KEYS[1] is the scheduled set, KEYS[2..] task keys; for task i
// (from 1) ARGV[2i-1] is its id and ARGV[2i] "0" to delete it (done) or the
// Unix second of its next attempt. A task that is no longer scheduled (it
// came due and a worker holds it) is left to that worker, which finds the
// delivery's state in PostgreSQL.
var settleScript = redis.NewScript(`
for i = 2, #KEYS do
	local id, at = ARGV[2*(i-1)-1], ARGV[2*(i-1)]
	if at == "0" then
		if redis.call("ZREM", KEYS[1], id) == 1 then
			redis.call("DEL", KEYS[i])
		end
	else
		redis.call("ZADD", KEYS[1], "XX", at, id)
	end
end
return 0`)

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
	backupAt int64 // Unix second a backup task is due; 0: due now
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
		keys := make([]string, 0, len(chunk)+2)
		args := make([]any, 0, 3*len(chunk)+1)
		keys = append(keys, "asynq:{"+c.queue+"}:pending", c.scheduledKey())
		args = append(args, time.Now().UnixNano())
		for _, t := range chunk {
			tid := taskID(t.id)
			keys = append(keys, c.taskKey(t.id))
			args = append(args, encodeTaskMessage(TypeDeliver, deliverPayload(t.id), tid, c.queue, maxTaskRetry, c.timeout, t.headers), tid, t.backupAt)
		}
		// The queue is registered (for asynq's inspector) in the same round
		// trip, at most once a second: a Redis that lost its data soon
		// has it back, and a busy queue does not pay a command per batch.
		var register func(redis.Pipeliner)
		if now := time.Now().UnixNano(); now-c.registered.Load() > int64(time.Second) {
			c.registered.Store(now)
			register = func(pipe redis.Pipeliner) { pipe.SAdd(ctx, "asynq:queues", c.queue) }
		}
		res, err := c.evalScript(ctx, enqueueBatchScript, keys, args, register)
		if err != nil {
			return added, fmt.Errorf("enqueue %d deliveries: %w", len(chunk), err)
		}
		n, err := res.Int()
		if err != nil {
			return added, fmt.Errorf("enqueue %d deliveries: %w", len(chunk), err)
		}
		added += n
	}
	return added, nil
}

// settleOp is what became of a backup task's delivery after this process
// attempted it: done (at 0), or due again at the Unix second at.
type settleOp struct {
	id int64
	at int64
}

// settle applies settle ops in one round trip per maxBatch.
func (c *Client) settle(ctx context.Context, ops []settleOp) error {
	for start := 0; start < len(ops); start += maxBatch {
		chunk := ops[start:min(start+maxBatch, len(ops))]
		keys := make([]string, 0, len(chunk)+1)
		args := make([]any, 0, 2*len(chunk))
		keys = append(keys, c.scheduledKey())
		for _, op := range chunk {
			keys = append(keys, c.taskKey(op.id))
			args = append(args, taskID(op.id), op.at)
		}
		if _, err := c.evalScript(ctx, settleScript, keys, args, nil); err != nil {
			return fmt.Errorf("settle %d backup tasks: %w", len(chunk), err)
		}
	}
	return nil
}

// evalScript runs script by its hash in one round trip, with whatever
// extra commands also queues in the same pipeline; a Redis that does not
// know the script yet (first use, or a restart) is taught it once.
func (c *Client) evalScript(ctx context.Context, script *redis.Script, keys []string, args []any, also func(redis.Pipeliner)) (*redis.Cmd, error) {
	for try := 0; ; try++ {
		pipe := c.redis.Pipeline()
		if also != nil {
			also(pipe)
		}
		res := script.EvalSha(ctx, pipe, keys, args...)
		_, err := pipe.Exec(ctx)
		if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := script.Load(ctx, c.redis).Err(); err != nil {
				return nil, fmt.Errorf("load script: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}
