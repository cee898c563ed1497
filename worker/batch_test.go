package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/testenv"
)

// TestBatchEnqueue_ProcessedByAsynq: tasks written by the batch enqueue
// (our Lua script and protobuf encoding of asynq's TaskMessage) are read by
// asynq's inspector and server as their own: type, payload, id, retry
// budget, timeout and headers survive, and a second enqueue of the same
// ids adds nothing. If an asynq upgrade changed its storage layout, this
// test fails before production does.
func TestBatchEnqueue_ProcessedByAsynq(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := telemetry.WithRequestID(context.Background(), "req-batch-1")
	ids := []int64{101, 102, 103}
	if err := env.Client.EnqueueDeliveries(ctx, "org_x", ids); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.EnqueueDeliveries(ctx, "org_x", ids); err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspectorFromRedisClient(env.Redis)
	info, err := in.GetQueueInfo(env.Queue)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 3 {
		t.Fatalf("%d pending tasks, want 3 (the second enqueue must add nothing)", info.Pending)
	}
	// Its timeout is the default delivery timeout (15 s) and a minute.
	ti, err := in.GetTaskInfo(env.Queue, "d102")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Type != "webhook:deliver" || string(ti.Payload) != "102" || ti.MaxRetry != 1<<20 ||
		ti.Timeout != 15*time.Second+time.Minute || ti.State != asynq.TaskStatePending || ti.Headers["request_id"] != "req-batch-1" {
		t.Fatalf("task as asynq reads it: %+v", ti)
	}

	// An asynq server processes them, headers included.
	var mu sync.Mutex
	got := map[string]string{}
	srv := asynq.NewServerFromRedisClient(env.Redis, asynq.Config{
		Queues: map[string]int{env.Queue: 1}, TaskCheckInterval: 10 * time.Millisecond, Logger: quietAsynq{},
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("webhook:deliver", func(_ context.Context, task *asynq.Task) error {
		mu.Lock()
		got[string(task.Payload())] = task.Headers()["request_id"]
		mu.Unlock()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	waitFor(t, 5*time.Second, "the tasks to be processed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	})
	for _, p := range []string{"101", "102", "103"} {
		if got[p] != "req-batch-1" {
			t.Errorf("task %s handled with request id %q", p, got[p])
		}
	}
}

type quietAsynq struct{}

func (quietAsynq) Debug(...any) {}
func (quietAsynq) Info(...any)  {}
func (quietAsynq) Warn(...any)  {}
func (quietAsynq) Error(...any) {}
func (quietAsynq) Fatal(...any) {}
