package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestRabbitMQ_UnroutableIsAFailure: a message published to a routing key
// no queue is bound to comes back from the broker (published mandatory)
// instead of vanishing behind an ack: the attempt fails saying so and is
// retried on the schedule; once a queue is bound, the retry delivers the
// batch.
func TestRabbitMQ_UnroutableIsAFailure(t *testing.T) {
	t.Parallel()
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatalf("the RabbitMQ broker at 127.0.0.1:5672 is needed (rabbitmq-server -detached): %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	queue := "hookline-test-" + tenants.NewShortID("q", time.Now()) // not declared yet
	t.Cleanup(func() { _, _ = ch.QueueDelete(queue, false, false, false) })

	sched := make([]time.Duration, 100)
	for i := range sched {
		sched[i] = 200 * time.Millisecond
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: sched})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: rabbitURL, RoutingKey: queue, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 3 {
		m, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	count := func(st tenants.Status) int {
		var k int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM destination_attempts WHERE destination_id = $1 AND status = $2`, d.ID, int(st)).Scan(&k)
		return k
	}
	waitFor(t, 30*time.Second, "a failed attempt", func() bool { return count(tenants.StatusFail) > 0 })
	var resp string
	var events int
	if err := env.SQL.QueryRow(ctx, `SELECT response, num_events FROM destination_attempts WHERE destination_id = $1 AND status = $2 LIMIT 1`,
		d.ID, int(tenants.StatusFail)).Scan(&resp, &events); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, "rabbitmq: message returned unroutable (NO_ROUTE)") || events != 3 {
		t.Fatalf("the failed attempt covers %d messages and says %q; want 3 returned unroutable (NO_ROUTE)", events, resp)
	}
	if count(tenants.StatusSuccess) != 0 {
		t.Fatal("an attempt succeeded with no queue bound")
	}

	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the retry delivered", func() bool {
		cur, err := env.Store.FindDestination(ctx, env.TenantID, app.ID, d.ID)
		if err == nil && cur.Disabled {
			t.Fatalf("the destination was disabled: %v", *cur.FailureReason)
		}
		return count(tenants.StatusSuccess) > 0
	})
	got := drainQueue(t, ch, queue, nil, map[string]bool{})
	if !slices.Equal(got, want) {
		t.Fatalf("the queue holds %v; want %v", got, want)
	}
}
