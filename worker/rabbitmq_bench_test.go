package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// BenchmarkRabbitMQ_Publish measures the messages a RabbitMQ destination
// carries per second from PostgreSQL to the machine's broker, through the
// real sender (read a batch by position, record it, publish each message
// signed and persistent, wait for the confirms, record the attempt) at
// the default batch size: b.N messages wait behind a disabled destination
// that is then enabled. ns/op runs from the enabling to the last confirm
// on record (including up to one idle look, 1.6 s); msgs/s runs from the
// first batch's start to the last attempt, the sender's own rate. "proxy"
// goes through a CONNECT tunnel of a loopback proxy. Run it with a fixed
// count: go test -run '^$' -bench RabbitMQ_Publish -benchtime 20000x ./worker/
func BenchmarkRabbitMQ_Publish(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchRabbitPublish(b, false) })
	b.Run("proxy", func(b *testing.B) { benchRabbitPublish(b, true) })
}

func benchRabbitPublish(b *testing.B, viaProxy bool) {
	queue, ch := rabbitQueue(b)
	var o worker.Options
	if viaProxy {
		proxy := newTestProxy(b, "u", "p")
		o.EgressProxy = "http://u:p@" + hostOf(proxy.URL)
	}
	env := testenv.New(b, testenv.Options{Worker: true, WorkerOptions: o})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: rabbitURL, RoutingKey: queue, BatchSize: tenants.DefaultBatchSize, Disabled: true})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_123"}}`)
	for range b.N {
		if _, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "invoice.paid", Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
	confirmed := func() (n int) {
		_ = env.SQL.QueryRow(ctx, `SELECT COALESCE(sum(num_events), 0) FROM destination_attempts WHERE destination_id = $1 AND status = $2`,
			d.ID, int(tenants.StatusSuccess)).Scan(&n)
		return n
	}
	b.ResetTimer()
	enabled := false
	if _, err := env.Store.PatchDestination(ctx, env.TenantID, app.ID, d.ID, tenants.DestinationPatch{Disabled: &enabled}); err != nil {
		b.Fatal(err)
	}
	for confirmed() < b.N {
		time.Sleep(5 * time.Millisecond) // polling for the end, not standing in for it
	}
	b.StopTimer()
	var failed int
	var first, last time.Time
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> $2), min(created_at - duration_ms * interval '1 millisecond'), max(created_at)
		FROM destination_attempts WHERE destination_id = $1`, d.ID, int(tenants.StatusSuccess)).Scan(&failed, &first, &last); err != nil {
		b.Fatal(err)
	}
	if failed > 0 {
		b.Fatalf("%d attempts failed", failed)
	}
	if q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err != nil || q.Messages < b.N {
		b.Fatalf("the queue holds %d messages (%v); want %d", q.Messages, err, b.N)
	}
	if span := last.Sub(first); span > 0 {
		b.ReportMetric(float64(b.N)/span.Seconds(), "msgs/s")
	}
	b.Logf("%d messages in batches of %d", b.N, tenants.DefaultBatchSize)
}
