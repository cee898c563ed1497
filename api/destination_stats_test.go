package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestSDK_StatisticsAndExpungeCoverDestinations: through the official SDK,
// the application.stats task reports what an application's polling
// endpoint handed out (once per message, although two consumers read
// them), the event-type aggregation counts the endpoint among a type's
// subscribers, and expunge-all-contents empties the payloads the poller
// returns afterwards (destinations keep no copy).
func TestSDK_StatisticsAndExpungeCoverDestinations(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	if _, err := env.Store.CreateEventType(ctx, env.TenantID, tenants.EventTypeInput{Name: "user.created"}); err != nil {
		t.Fatal(err)
	}
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "dest stats"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := env.Store.CreateDestination(ctx, env.TenantID, app.Id, tenants.DestinationInput{
		Type: tenants.DestinationPolling, BatchSize: 100, EventTypes: []string{"user.created"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	start := time.Now().Add(-time.Minute)
	for range n {
		if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"n": 1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, consumer := range []string{"one", "two"} {
		got := 0
		waitUntil(t, 20*time.Second, consumer+" to read every message", func() bool {
			out, err := c.Message.Poller.ConsumerPoll(ctx, app.Id, sink.ID, consumer, nil)
			if err != nil {
				t.Fatal(err)
			}
			got += len(out.Data)
			return got >= n
		})
	}

	taskData := func(id string) map[string]any {
		t.Helper()
		got, err := c.BackgroundTask.Get(ctx, id)
		if err != nil || got.Status != models.BACKGROUNDTASKSTATUS_FINISHED {
			t.Fatalf("get task %s = %+v, %v", id, got, err)
		}
		return got.Data
	}
	st, err := c.Statistics.AggregateAppStats(ctx, models.AppUsageStatsIn{AppIds: []string{app.Id}, Since: start, Until: time.Now().Add(time.Minute)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := taskData(st.Id)["apps"].([]any)
	if len(apps) != 1 {
		t.Fatalf("app stats = %v", apps)
	}
	a := apps[0].(map[string]any)
	if a["messages"] != float64(n) || a["destinationMessages"] != float64(n) || a["destinationAttempts"] != float64(0) {
		t.Errorf("app stats = %v; want %d messages, %d destination messages (polled once each), no destination attempts", a, n, n)
	}
	ag, err := c.Statistics.AggregateEventTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ets, _ := taskData(ag.Id)["eventTypes"].([]any)
	if len(ets) != 1 || ets[0].(map[string]any)["subscribers"] != float64(1) {
		t.Errorf("event types = %v; want user.created with 1 subscriber (the polling endpoint)", ets)
	}

	if _, err := c.Message.ExpungeAllContents(ctx, app.Id, nil); err != nil {
		t.Fatal(err)
	}
	out, err := c.Message.Poller.Poll(ctx, app.Id, sink.ID, nil)
	if err != nil || len(out.Data) != n {
		t.Fatalf("poll from the start after expunge: %+v, %v", out, err)
	}
	for _, m := range out.Data {
		if m.Payload["n"] != nil || m.Payload["expired"] != true {
			t.Errorf("message %s polled after expunge-all-contents: payload %v", m.Id, m.Payload)
		}
	}
}
